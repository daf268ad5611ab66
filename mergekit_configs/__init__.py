"""Shared mergekit YAML configs (package data)."""
