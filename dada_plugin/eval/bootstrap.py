"""Bootstrap confidence intervals over prompts (whole prompt groups are drawn, so several
outputs for one prompt move together), with a fixed seed.

The interval is the percentile interval shifted by the bootstrap bias (mean of the resamples
minus the value). Without the shift, size-dependent statistics would sit outside their own
interval: a resample repeats texts, so its type-token ratio and distinct-n are lower than the
original's for that reason alone. For ratios of counts the bias is ~0 and nothing moves.
Intervals are clipped to the statistic's range (``limits``: rates >= 0, ratios within [0, 1])."""

from __future__ import annotations

import numpy as np

from dada_plugin.eval.settings import DEFAULT_RESAMPLES, DEFAULT_SEED

LEVEL = 0.95


def resample_weights(groups: np.ndarray, n_resamples: int, seed: int):
    """Yield per-record weights (times drawn) for each resample of the prompt groups."""
    rng = np.random.default_rng(seed)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    for _ in range(n_resamples):
        drawn = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        yield drawn[groups].astype(float)


def intervals(stats: dict, groups: np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED, level: float = LEVEL) -> dict[str, list[float]]:
    """name -> [low, high] of each statistic; [value, value] when there is nothing to draw."""
    if not groups.size or n_resamples <= 0:
        return {name: [st.value(), st.value()] for name, st in stats.items()}
    draws = {name: np.empty(n_resamples) for name in stats}
    for b, weights in enumerate(resample_weights(groups, n_resamples, seed)):
        done: dict[int, float] = {}  # metrics may share one statistic (TTR and distinct-1)
        for name, st in stats.items():
            if id(st) not in done:
                done[id(st)] = st.resample(weights)
            draws[name][b] = done[id(st)]
    tail = (1.0 - level) / 2 * 100
    out = {}
    for name, v in draws.items():
        bias = float(v.mean()) - stats[name].value()
        low, high = np.clip(np.percentile(v, [tail, 100 - tail]) - bias, *stats[name].limits)
        out[name] = [float(low), float(high)]
    return out


def paired_intervals(stats_a: dict, prompts_a: list, stats_b: dict, prompts_b: list, *,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                     level: float = LEVEL) -> dict | None:
    """B minus A on the prompts both answered, each resample drawing the same prompts for both
    (the interval that says whether B moved a metric): {"prompts": n, "metrics": {name:
    {"difference", "ci"}}}; None when they share no prompt."""
    common = sorted({p for p in prompts_a if p is not None} & {p for p in prompts_b if p is not None})
    if not common:
        return None
    index = {p: i for i, p in enumerate(common)}
    rec_a = np.array([index.get(p, -1) for p in prompts_a])
    rec_b = np.array([index.get(p, -1) for p in prompts_b])

    def diff(drawn: np.ndarray, name: str) -> float:
        wa = np.where(rec_a >= 0, drawn[rec_a], 0).astype(float)
        wb = np.where(rec_b >= 0, drawn[rec_b], 0).astype(float)
        return stats_b[name].resample(wb) - stats_a[name].resample(wa)

    names = [n for n in stats_a if n in stats_b]
    ones = np.ones(len(common), dtype=np.int64)
    observed = {name: diff(ones, name) for name in names}
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(max(n_resamples, 0)) for name in names}
    for b in range(max(n_resamples, 0)):
        drawn = np.bincount(rng.integers(0, len(common), len(common)), minlength=len(common))
        for name in names:
            draws[name][b] = diff(drawn, name)
    tail = (1.0 - level) / 2 * 100
    out = {}
    for name in names:
        v = draws[name]
        if v.size:
            low, high = np.percentile(v, [tail, 100 - tail]) - (float(v.mean()) - observed[name])
        else:
            low = high = observed[name]
        out[name] = {"difference": observed[name], "ci": [float(low), float(high)]}
    return {"prompts": len(common), "metrics": out}
