"""``dada slop``: slop and diversity metrics of text files (slop-score's metric names)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dada_plugin.eval.charts import leaderboard_chart
from dada_plugin.eval.slop import measure_files, render
from dada_plugin.outputs import check_file


@click.command("slop")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object keyed by file path (slop-score's metric names).")
@click.option("--legacy-normalization", is_flag=True,
              help="Normalise list entries as slop-score did for its published leaderboard "
                   "(an apostrophe cuts an entry); reproduces the published figures.")
@click.option("--min-chars", type=click.IntRange(min=0), default=None,
              help="Only count outputs longer than this many characters "
                   "[default: 300 for slop-score result files, 0 otherwise].")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of the published models' Slop Scores with each input's inserted "
                   "and highlighted (needs the 'eval' extra: matplotlib).")
@click.option("--force", is_flag=True, help="Replace an existing --chart file.")
def slop(files, as_json, legacy_normalization, min_chars, chart, force):
    """Measure FILES on slop-score's scale: every metric of its published table (slop words and
    trigrams, 'not X but Y', MATTR-500, type-token ratio, vocab level, sentence and paragraph
    length, dialogue frequency, over-represented words) under slop-score's names, the
    composite Slop Score and its rank among the published models; dada's own extras (cliché
    phrases, distinct-n, cross-prompt repetition) under their own names.

    Not computed: ngram_repetition_score and the over-represented bigrams and trigrams, which
    need slop-score's human writing profile (not published, not available here).

    FILES may be dada.jsonl (original and rewritten answers side by side), JSONL or a JSON
    list with a text/output/answer field, slop-score result files (its protocol: outputs of
    300 characters or less dropped, samples joined by a blank line), or plain text.

    Example usage:

    \b
        dada slop out/dada.jsonl
        dada slop results/mistral-nemo.json --json --legacy-normalization
        dada slop a.jsonl b.jsonl --chart slop-rank.png
    """

    if chart is not None:
        check_file(chart, {f"input {i}": f for i, f in enumerate(files, 1)}, force=force)
    results = measure_files(files, legacy=legacy_normalization, min_chars=min_chars)
    if chart is not None:
        leaderboard_chart({name if len(results) == 1 else f"{Path(path).name}: {name}": col["metrics"]["slop_score"]
                           for path, res in results.items() for name, col in res["columns"].items()}, chart)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        click.echo(render(results), nl=False)
