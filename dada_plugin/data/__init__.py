"""Bundled data: the Alpaca sample used by `dada demo` and the default eval prompts
(see README.md here for its licence)."""

from importlib.resources import files
from pathlib import Path


def sample_path() -> Path:
    """The bundled 100-record Alpaca sample (CC BY-NC 4.0)."""
    return Path(str(files(__name__) / "alpaca_sample.json"))
