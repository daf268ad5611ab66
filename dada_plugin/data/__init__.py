"""Bundled data: the Alpaca sample used by `dada demo` (see README.md here)."""
