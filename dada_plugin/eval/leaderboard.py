"""slop-score's published leaderboard (bundled: ``data/leaderboard_results.json``, MIT) and what
its page computes from it: the composite Slop Score and where a model ranks.

The Slop Score, as the leaderboard page computes it: each of slop words, "not X but Y" and slop
trigrams normalised to [0, 1] over the published models' range widened by 10 % of that range on
both sides (and clipped), then 100 x (0.60 words + 0.25 not-x-but-y + 0.15 trigrams). Lower is
less slop; the leaderboard ranks by it, lowest first (its JSON file is ordered by slop words).
"""

from __future__ import annotations

from functools import lru_cache

from dada_plugin.text.lists import read_data

# (metric, weight) in the page's order of addition
WEIGHTS = (("slop_list_matches_per_1k_words", 0.6), ("not_x_but_y_per_1k_chars", 0.25),
           ("slop_trigram_matches_per_1k_words", 0.15))


@lru_cache(maxsize=1)
def published() -> tuple[dict, ...]:
    """The published results, as shipped."""
    return tuple(read_data("leaderboard_results.json")["results"])


@lru_cache(maxsize=1)
def ranges() -> dict[str, tuple[float, float]]:
    """metric -> (low, high): the published range widened by 10 % on each side."""
    out = {}
    for key, _ in WEIGHTS:
        values = [r["metrics"].get(key) or 0 for r in published()]
        low, high = min(values), max(values)
        out[key] = (low - (high - low) * 0.1, high + (high - low) * 0.1)
    return out


def slop_score(metrics: dict) -> float:
    """The composite Slop Score of a metrics dict (slop-score's names)."""
    total = 0.0
    for key, weight in WEIGHTS:
        low, high = ranges()[key]
        total += max(0.0, min(1.0, ((metrics.get(key) or 0) - low) / (high - low))) * weight
    return total * 100


@lru_cache(maxsize=1)
def published_scores() -> tuple[tuple[str, float], ...]:
    """(model, Slop Score) of every published model, best (lowest) first."""
    return tuple(sorted(((r["model"], slop_score(r["metrics"])) for r in published()),
                        key=lambda pair: pair[1]))


def rank(score: float) -> dict:
    """Where ``score`` would stand among the published models: {"rank", "of", "better",
    "worse"} (the neighbours' names; None at either end)."""
    scores = published_scores()
    k = sum(1 for _, s in scores if s <= score)  # a tie ranks behind the published model
    return {"rank": k + 1, "of": len(scores) + 1, "better": scores[k - 1][0] if k else None,
            "worse": scores[k][0] if k < len(scores) else None}


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def rank_text(score: float) -> str:
    """"would rank 7th of 24, between X and Y"."""
    r = rank(score)
    where = (f"between {r['better']} and {r['worse']}" if r["better"] and r["worse"]
             else f"ahead of {r['worse']}" if r["worse"] else f"behind {r['better']}")
    return f"would rank {ordinal(r['rank'])} of {r['of']}, {where}"
