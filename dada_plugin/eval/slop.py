"""``dada slop``'s work: measure input files and render the result as JSON or markdown."""

from __future__ import annotations

from dada_plugin.eval.metrics import analyse
from dada_plugin.eval.report import table, top_lines
from dada_plugin.eval.sources import read_source

TOP_WORDS = 10


def measure_files(paths, *, legacy: bool = False, min_chars: int | None = None) -> dict:
    """{path: {"format", "columns": {column: analyse(...)}}} for each input file, in order."""
    out = {}
    for path in paths:
        src = read_source(path, min_chars=min_chars)
        out[str(path)] = {"format": src.format,
                          "columns": {name: analyse(samples, legacy=legacy)
                                      for name, samples in src.columns.items()}}
    return out


def render(results: dict) -> str:
    """Markdown: a table per file (columns side by side) and the top offenders."""
    lines = []
    for path, res in results.items():
        lines += [f"## {path} ({res['format']})", ""]
        lines += table(res["columns"], with_ci=False)
        lines.append("")
        lines += [f"Slop Score, {name}: {col['metrics']['slop_score']:.2f}, {col['leaderboard']['text']}"
                  for name, col in res["columns"].items()]
        for name, col in res["columns"].items():
            lines += ["", f"top offenders, {name}:"] + top_lines(col)
            words = col["top_over_represented"]["words"][:TOP_WORDS]
            lines.append("- over-represented words (vs wordfreq): "
                         + (", ".join(f"{w['word']} ({w['ratio']:.3g}x)" for w in words) or "none"))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
