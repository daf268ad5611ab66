"""PNG charts: one bar chart per metric, a bar per model (or column) with its bootstrap CI."""

from __future__ import annotations

from pathlib import Path

from dada_plugin.eval.registry import METRICS
from dada_plugin.io import atomic_open


def write_charts(report: dict, folder: str | Path) -> list[Path]:
    """Write ``<metric>.png`` for every registered metric; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        path = folder / f"{name}.png"
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png")
        plt.close(fig)
        paths.append(path)
    return paths
