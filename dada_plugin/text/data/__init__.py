"""Bundled lists (see README.md here): package data, read with importlib.resources."""
