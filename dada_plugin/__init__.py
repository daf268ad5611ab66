"""dada: the thin, exact layer between an Alpaca set, axolotl, mergekit and a slop report."""

__version__ = "0.1.0"
