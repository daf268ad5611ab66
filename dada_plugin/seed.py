"""The DADA seed's constants and the one rule they share: a SLERP t within [0, 1]."""

from __future__ import annotations

import re

SEED_MODEL = "Mixtral-Instruct-ITR-8x7B"   # the model trained and merged
SEED_MERGE_BASE = "Verdict-8x7B"           # the SLERP partner, the t = 0 end
SEED_T = 0.5
MIXTRAL_NAME = re.compile(r"mixtral|8x7b", re.IGNORECASE)  # a hub id that means Mixtral-8x7B


def parse_t(value) -> float | list[float]:
    """``0.5``, ``"0.5"`` -> 0.5; ``"0,0.5,1"``, ``"[0, 0.5, 1]"`` or a list -> a gradient list.
    ValueError for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    items = value if isinstance(value, list) else [
        p for p in re.split(r"[,\s]+", str(value).strip().strip("[]")) if p]
    try:
        values = [float(v) for v in items]
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not a number or a comma-separated list of numbers") from None
    if not values:
        raise ValueError("empty")
    return values[0] if len(values) == 1 and not isinstance(value, list) else values


def check_t(value) -> float | list[float]:
    """A SLERP t (a number or a gradient list), each value within [0, 1]: mergekit extrapolates
    silently outside. ValueError otherwise (for pydantic validators)."""
    t = parse_t(value)
    for v in t if isinstance(t, list) else [t]:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"must be within [0, 1] (0 = the merge base, 1 = the trained model), got {v}")
    return t
