"""The data half of DADA: Alpaca records in, Mixtral-Instruct sequences out (no axolotl import)."""
