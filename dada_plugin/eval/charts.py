"""PNG charts: one bar chart per metric, a bar per model (or column) with its bootstrap CI."""

from __future__ import annotations

from pathlib import Path

from dada_plugin.eval.leaderboard import published_scores
from dada_plugin.eval.registry import METRICS
from dada_plugin.io import atomic_open


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")
    fig.clf()
    _pyplot().close(fig)
    return path


def leaderboard_chart(scores: dict[str, float], path: str | Path) -> Path:
    """The published models' Slop Scores, best first, with ``scores`` (yours) inserted where
    they rank and highlighted."""
    plt = _pyplot()
    rows = sorted([(m, s, False) for m, s in published_scores()] + [(m, s, True) for m, s in scores.items()],
                  key=lambda r: r[1])
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.2), dpi=100)
    y = range(len(rows))[::-1]
    ax.barh(list(y), [s for _, s, _ in rows], color=["C3" if mine else "0.75" for *_, mine in rows])
    ax.set_yticks(list(y), [m for m, *_ in rows], fontsize=8)
    for label, (*_, mine) in zip(ax.get_yticklabels(), rows):
        if mine:
            label.set_fontweight("bold")
    ax.set_xlabel("Slop Score (slop-score leaderboard; lower is less slop)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, Path(path))


def write_charts(report: dict, folder: str | Path) -> list[Path]:
    """Write ``<metric>.png`` for every registered metric; return the paths."""
    plt = _pyplot()

    folder = Path(folder)
    models = list(report["models"])
    paths = []
    for name, spec in METRICS.items():
        values = [report["models"][m]["values"][name] for m in models]
        cis = [report["models"][m]["ci"][name] for m in models]
        below = [max(v - lo, 0.0) for v, (lo, _) in zip(values, cis)]
        above = [max(hi - v, 0.0) for v, (_, hi) in zip(values, cis)]
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(models), 3.6), dpi=100)
        ax.bar(range(len(models)), values, yerr=[below, above], capsize=6,
               color=[f"C{i % 10}" for i in range(len(models))])
        ax.set_xticks(range(len(models)), models, rotation=15 if len(models) > 3 else 0)
        hint = f" ({spec.better} is better)" if spec.better else ""
        ax.set_title(spec.label + hint, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        paths.append(_save(fig, folder / f"{name}.png"))
    return paths
