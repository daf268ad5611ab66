"""Statistics that know both their value and how to recompute it on a bootstrap resample.

A resample is given as per-record weights (how many times each record was drawn), so every
statistic is a few numpy reductions per resample, whatever the text size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np


def uniq(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a plain sort: faster than np.unique on large int arrays)."""
    s = np.sort(values)
    if s.size:
        s = s[np.concatenate(([True], s[1:] != s[:-1]))]
    return s


def ratio(num, den, scale: float = 1.0):
    """scale * num / den, 0 where den is 0 (slop-score's convention for empty texts)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.divide(num * scale, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)
    return out if out.ndim else float(out)


@dataclass
class Formula:
    """combine(sums of per-record parts): ratios of sums and functions of them."""

    parts: Mapping[str, np.ndarray]
    combine: Callable[[Mapping[str, float]], float]
    limits: tuple[float, float] = (-np.inf, np.inf)  # the range intervals are clipped to

    def value(self) -> float:
        return float(self.combine({k: float(v.sum()) for k, v in self.parts.items()}))

    def resample(self, weights: np.ndarray) -> float:
        return float(self.combine({k: float(v @ weights) for k, v in self.parts.items()}))


def per_1k(num: np.ndarray, den: np.ndarray) -> Formula:
    return Formula({"num": num, "den": den}, lambda s: ratio(s["num"], s["den"], 1000.0),
                   (0.0, np.inf))


def dense(codes: np.ndarray) -> np.ndarray:
    """Codes renumbered 0..k-1 (k distinct codes), by one argsort."""
    order = np.argsort(codes)
    s = codes[order]
    change = np.ones(s.size, dtype=np.int64)
    if s.size:
        change[1:] = s[1:] != s[:-1]
    out = np.empty(s.size, dtype=np.int64)
    out[order] = np.cumsum(change) - 1
    return out


@dataclass
class Distinct:
    """Distinct items over item occurrences (TTR, distinct-n).

    ``codes``: the item (a token id or an n-gram hash) of each occurrence; ``rec``: its record;
    ``total``: occurrences per record (the denominator)."""

    codes: np.ndarray
    rec: np.ndarray
    total: np.ndarray
    n_distinct: int | None = None  # when known already
    _pairs: tuple | None = None
    limits = (0.0, 1.0)

    def distinct(self) -> int:
        if self.n_distinct is None:
            self.n_distinct = int(uniq(self.codes).size)
        return self.n_distinct

    def value(self) -> float:
        return ratio(self.distinct(), self.total.sum())

    def pairs(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(record, dense item) of each distinct pair, and the number of items."""
        if self._pairs is None:
            items = dense(self.codes)
            n_items = int(items.max()) + 1 if items.size else 1
            pair = uniq(self.rec * n_items + items)
            self._pairs = (pair // n_items, pair % n_items, n_items)
        return self._pairs

    def resample(self, weights: np.ndarray) -> float:
        rec, item, n_items = self.pairs()
        present = np.zeros(n_items, dtype=bool)
        present[item[weights[rec] > 0]] = True
        return ratio(int(present.sum()), self.total @ weights)


@dataclass
class Funnel:
    """Share of item occurrences whose item recurs in at least ``min_groups`` prompt groups.

    ``rec``/``item``/``count``: occurrences per (record, item); ``group``: group of each record.
    Resample weights must be constant within a group (the bootstrap draws whole groups)."""

    rec: np.ndarray
    item: np.ndarray
    count: np.ndarray
    group: np.ndarray
    min_groups: int
    _group_pairs: tuple | None = None
    limits = (0.0, 1.0)

    def group_pairs(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(group, item) of each distinct pair, and the number of items (computed once)."""
        if self._group_pairs is None:
            n_items = int(self.item.max()) + 1 if self.item.size else 0
            pairs = uniq(self.group[self.rec] * n_items + self.item) if n_items else self.item
            self._group_pairs = (pairs // max(n_items, 1), pairs % max(n_items, 1), n_items)
        return self._group_pairs

    def spread(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Number of distinct groups using each item (among the drawn groups)."""
        group, item, n_items = self.group_pairs()
        if weights is not None:
            drawn = np.bincount(self.group, weights=weights,
                                minlength=int(group.max(initial=0)) + 1) > 0
            item = item[drawn[group]]
        return np.bincount(item, minlength=n_items)

    def _share(self, weights: np.ndarray) -> float:
        occ = self.count * weights[self.rec]
        wide = self.spread(weights)[self.item] >= self.min_groups
        return ratio(occ[wide].sum(), occ.sum())

    def value(self) -> float:
        return self._share(np.ones(self.group.size))

    def resample(self, weights: np.ndarray) -> float:
        return self._share(weights)
