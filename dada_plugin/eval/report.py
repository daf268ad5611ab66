"""The side-by-side report: {name: [(prompt, output), ...]} -> report.json, report.md and one
PNG per metric, every figure with a bootstrap confidence interval over prompts.

``write_report`` is the single entry point for both modes of ``dada eval``: the dataset mode
passes a dada.jsonl's original and rewritten answers, the model mode (generation) passes each
model's generated answers to the same prompts.
"""

from __future__ import annotations

from functools import reduce
from operator import getitem
from pathlib import Path

from dada_plugin.eval.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, LEVEL
from dada_plugin.eval.charts import write_charts
from dada_plugin.eval.metrics import analyse
from dada_plugin.eval.registry import METRICS
from dada_plugin.io import write_json, write_text
from dada_plugin.outputs import MARKER, OwnedFolder, refuse_inputs

TOP_ROWS = ("slop_words", "slop_trigrams", "antislop_phrases", "cross_prompt_trigrams")


def evaluate(samples_by_model: dict[str, list], *, legacy: bool = False,
             n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict:
    """The report as a dict: settings and, per model, analyse() with values and CIs."""
    return {
        "settings": {"bootstrap_resamples": n_resamples, "seed": seed, "level": LEVEL,
                     "legacy_normalization": legacy, "resampled_unit": "prompt"},
        "models": {name: analyse(samples, legacy=legacy, n_resamples=n_resamples, seed=seed)
                   for name, samples in samples_by_model.items()},
    }


def fmt(value: float) -> str:
    return f"{value:.4g}"


def flat_values(metrics: dict) -> dict[str, float]:
    """Registry name -> value, read from slop-score's nested layout."""
    return {name: reduce(getitem, spec.path, metrics) for name, spec in METRICS.items()}


def table(results: dict[str, dict], *, with_ci: bool) -> list[str]:
    """Markdown table: a row per metric, a column per model/column of ``results``."""
    names = list(results)
    lines = ["| metric | better | " + " | ".join(names) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in names) + " |",
             "| samples |  | " + " | ".join(str(results[n]["sample_count"]) for n in names) + " |",
             "| words |  | " + " | ".join(str(results[n]["metrics"]["lexical_diversity"]
                                             ["total_words"]) for n in names) + " |"]
    values = {n: flat_values(results[n]["metrics"]) for n in names}

    def cell(n: str, name: str) -> str:
        lo, hi = map(fmt, results[n]["ci"][name]) if with_ci else ("", "")
        return fmt(values[n][name]) + (f" [{lo}, {hi}]" if with_ci else "")

    for name, spec in METRICS.items():
        lines.append(f"| {spec.label} | {spec.better} | " + " | ".join(cell(n, name) for n in names) + " |")
    return lines


def top_lines(result: dict) -> list[str]:
    top = result["top_offenders"]
    return [f"- {key.replace('_', ' ')}: " + (", ".join(f"{text} ({n})" for text, n in top[key]) or "none")
            for key in TOP_ROWS]


def markdown(report: dict, title: str = "Slop and diversity report") -> str:
    s = report["settings"]
    lines = [f"# {title}", "",
             f"Values with {int(s['level'] * 100)} % bootstrap intervals "
             f"({s['bootstrap_resamples']} resamples of the prompts, seed {s['seed']}; "
             f"list normalisation: {'legacy' if s['legacy_normalization'] else 'fixed'}).", ""]
    lines += table(report["models"], with_ci=True)
    lines += ["", "## Top offenders", ""]
    for name, result in report["models"].items():
        lines += [f"### {name}", ""] + top_lines(result) + [""]
    lines += ["Cross-prompt trigrams count the prompts whose outputs use them; the other lists "
              "count hits.", ""]
    return "\n".join(lines)


REPORT_FILES = ("report.md", "report.json", "generations.jsonl")
REPORT_DIRS = ("charts", "cache")


def claim_folder(outdir: str | Path, force: bool = False, inputs: dict | None = None,
                 creating: tuple[str, ...] = ()) -> OwnedFolder:
    """Check that ``outdir`` may take a report (new, empty, an earlier report folder, or with
    ``force`` one without report files in it; never over an input) and mark it as a report
    folder; record what the run writes with ``folder.record(...)``."""
    refuse_inputs([Path(outdir) / n for n in (*REPORT_FILES, *REPORT_DIRS, MARKER)], inputs or {})
    folder = OwnedFolder(outdir, "dada eval", REPORT_FILES, dirs=REPORT_DIRS, force=force)
    folder.check()
    folder.claim(creating=creating)
    return folder


def write_report(samples_by_model: dict[str, list], outdir: str | Path, *,
                 legacy: bool = False, n_resamples: int = DEFAULT_RESAMPLES,
                 seed: int = DEFAULT_SEED, title: str = "Slop and diversity report",
                 charts: bool = True) -> dict[str, Path | list[Path]]:
    """Write report.json, report.md and charts/<metric>.png into ``outdir``; return the paths."""
    outdir = Path(outdir)
    report = evaluate(samples_by_model, legacy=legacy, n_resamples=n_resamples, seed=seed)
    paths: dict[str, Path | list[Path]] = {
        "json": write_json(outdir / "report.json", report),
        "markdown": write_text(outdir / "report.md", markdown(report, title)),
    }
    if charts:
        paths["charts"] = write_charts(report, outdir / "charts")
    return paths
