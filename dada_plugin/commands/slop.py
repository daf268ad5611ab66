"""``dada slop``: slop and diversity metrics of text files (slop-score's metric names)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dada_plugin.eval.slop import measure_files, render


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
def slop(files, as_json, legacy_normalization, min_chars):
    """Measure slop words, slop trigrams, cliché phrases and lexical diversity of FILES.

    FILES may be dada.jsonl (original and rewritten answers side by side), JSONL or a JSON
    list with a text/output/answer field, slop-score result files, or plain text.

    Example usage:

        dada slop out/dada.jsonl

        dada slop results/mistral-nemo.json --json --legacy-normalization
    """

    results = measure_files(files, legacy=legacy_normalization, min_chars=min_chars)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        click.echo(render(results), nl=False)
