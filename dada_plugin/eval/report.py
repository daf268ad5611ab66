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

from dada_plugin.eval.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, LEVEL, paired_intervals
from dada_plugin.eval.charts import leaderboard_chart, write_charts
from dada_plugin.eval.corpus import build_corpus
from dada_plugin.text.lists import load_lists
from dada_plugin.eval.metrics import analyse, statistics
from dada_plugin.eval.registry import METRICS
from dada_plugin.io import write_json, write_text
from dada_plugin.outputs import MARKER, OwnedFolder, refuse_inputs

TOP_ROWS = ("slop_words", "slop_trigrams", "antislop_phrases", "cross_prompt_trigrams")


def evaluate(samples_by_model: dict[str, list], *, legacy: bool = False,
             n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict:
    """The report as a dict: settings; per model, analyse() with values and CIs; and per model
    after the first, its paired difference from the first on the prompts both answered."""
    corpora = {name: build_corpus(samples) for name, samples in samples_by_model.items()}
    models = {name: analyse(samples_by_model[name], legacy=legacy, corpus=corpus,
                            n_resamples=n_resamples, seed=seed) for name, corpus in corpora.items()}
    paired = {}
    if len(corpora) > 1:
        lists = load_lists(legacy)
        (first, base), *others = corpora.items()
        base_stats = statistics(base, lists)
        for name, corpus in others:
            result = paired_intervals(base_stats, base.prompts, statistics(corpus, lists), corpus.prompts,
                                      n_resamples=n_resamples, seed=seed)
            if result is not None:
                paired[name] = {"minus": first, **result}
    return {
        "settings": {"bootstrap_resamples": n_resamples, "seed": seed, "level": LEVEL,
                     "legacy_normalization": legacy, "resampled_unit": "prompt"},
        "models": models,
        "paired": paired,
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


def leaderboard_lines(results: dict[str, dict], *, with_ci: bool) -> list[str]:
    """The Slop Score of each model on the leaderboard's scale, and where it would rank."""
    lines = []
    for name, r in results.items():
        ci = " [{}, {}]".format(*map(fmt, r["ci"]["slop_score"])) if with_ci else ""
        lines.append(f"- {name}: Slop Score {r['metrics']['slop_score']:.2f}{ci}, {r['leaderboard']['text']}")
    return lines


def paired_lines(report: dict) -> list[str]:
    """B - A per metric with its paired interval, for each model after the first."""
    lines = []
    for name, p in report.get("paired", {}).items():
        lines += [f"### {name} minus {p['minus']} ({p['prompts']} shared prompts)", "",
                  "| metric | better | difference [95 % interval] |", "| --- | --- | ---: |"]
        for metric, spec in METRICS.items():
            d = p["metrics"][metric]
            lo, hi = d["ci"]
            verdict = ""
            if spec.better and (lo > 0 or hi < 0):
                up = lo > 0
                verdict = " (better)" if up == (spec.better == "higher") else " (worse)"
            lines.append(f"| {spec.label} | {spec.better} | {fmt(d['difference'])} [{fmt(lo)}, {fmt(hi)}]{verdict} |")
        lines.append("")
    return lines


def markdown(report: dict, title: str = "Slop and diversity report") -> str:
    s = report["settings"]
    lines = [f"# {title}", "",
             f"Values with {int(s['level'] * 100)} % bootstrap intervals "
             f"({s['bootstrap_resamples']} resamples of the prompts, seed {s['seed']}; "
             f"list normalisation: {'legacy' if s['legacy_normalization'] else 'fixed'}).", ""]
    lines += ["## On slop-score's leaderboard", "",
              "The composite Slop Score (100 x (0.60 slop words + 0.25 'not X but Y' + 0.15 slop "
              "trigrams), each normalised over the published models' range), lower is less slop; "
              "ranked among the 23 published entries (`charts/leaderboard.png`).", ""]
    lines += leaderboard_lines(report["models"], with_ci=True) + [""]
    if report.get("paired"):
        lines += ["## Paired differences (same prompts, same resamples)", "",
                  "Each resample draws the same prompts for both models; an interval that excludes 0 "
                  "says the difference is not chance.", ""]
        lines += paired_lines(report)
    lines += ["## All metrics", ""]
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
        paths["charts"] = write_charts(report, outdir / "charts") + [leaderboard_chart(
            {name: r["metrics"]["slop_score"] for name, r in report["models"].items()},
            outdir / "charts" / "leaderboard.png")]
    return paths
