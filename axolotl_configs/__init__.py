"""Shared axolotl YAML recipes (package data, so `dada demo` finds them in any install)."""
