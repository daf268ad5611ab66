"""The metric registry: name -> spec. Add a metric with the ``@metric`` decorator in metrics.py.

A metric function takes ``(corpus, lists)`` and returns a statistic from ``stats`` (value plus
bootstrap resampling). ``path`` places it in the JSON output: slop-score's metric names and
nesting where slop-score has the metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

METRICS: dict[str, "MetricSpec"] = {}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    path: tuple[str, ...]
    better: str  # "lower", "higher" or "" (neither)
    fn: Callable


def metric(name: str, label: str, *, path: tuple[str, ...] | None = None, better: str = ""):
    """Register ``fn(corpus, lists) -> statistic`` under ``name``."""
    def register(fn):
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = MetricSpec(name, label, path or (name,), better, fn)
        return fn
    return register
