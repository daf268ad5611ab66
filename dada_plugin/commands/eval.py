"""``dada eval``: a side-by-side slop/diversity report with bootstrap confidence intervals."""

from __future__ import annotations

from pathlib import Path

import click

from dada_plugin.eval.evaluate import evaluate
from dada_plugin.eval.settings import EvalSettings
from dada_plugin.settings import from_options, options


@click.command("eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Report folder: report.md, report.json, charts/<metric>.png "
                   "(model mode also: generations.jsonl and cache/).")
@options(EvalSettings, first=("dataset", "models", "prompts", "n_prompts"))
def eval_(output, **values):
    """Compare slop and diversity metrics side by side, with bootstrap confidence intervals.

    Dataset mode (--dataset): did the rewrite simplify and de-cliché? Compares the
    original_answer and answer columns of a dada.jsonl.

    Model mode (--model, several): generate answers from each model on one prompt set with the
    same sampling settings (cached and resumable), then compare them.

    Example usage:

    \b
        dada eval --dataset out/dada.jsonl -o out/report
        dada eval -o eval-out --model base=http://127.0.0.1:8000/v1 \\
            --model dada=http://127.0.0.1:8001/v1 --model merge=/models/verdict-dada
    """

    settings = from_options(EvalSettings, values)
    if bool(settings.dataset) == bool(settings.models):
        raise click.UsageError("give either --dataset or at least one --model")
    result = evaluate(settings, output)
    for name, n in result["failures"].items():
        if n:
            click.echo(f"warning: {name}: {n} generations failed", err=True)
    paths = result["paths"]
    click.echo(f"wrote {paths['markdown']}")
    click.echo(f"wrote {paths['json']}")
    if "charts" in paths:
        click.echo(f"wrote {len(paths['charts'])} charts in {output / 'charts'}")
