"""``dada eval``: a side-by-side slop/diversity report with bootstrap confidence intervals."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("eval")
@click.option("--dataset", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A dada.jsonl: its original and rewritten answers are compared "
                   "(any input `dada slop` reads works; each column is one side).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Report folder: report.md, report.json and charts/<metric>.png.")
@click.option("--bootstrap", "n_resamples", type=click.IntRange(min=0), default=200,
              show_default=True, help="Bootstrap resamples of the prompts for the intervals.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap resampling.")
@click.option("--legacy-normalization", is_flag=True,
              help="Normalise list entries as slop-score's published leaderboard did.")
@click.option("--no-charts", is_flag=True, help="Skip the PNG charts (no matplotlib needed).")
def eval_(dataset, output, n_resamples, seed, legacy_normalization, no_charts):
    """Compare slop and diversity metrics side by side, with bootstrap confidence intervals.

    Dataset mode: did the rewrite simplify and de-cliché? Compares the original_answer and
    answer columns of a dada.jsonl.

    Example usage:

        dada eval --dataset out/dada.jsonl -o out/report
    """
    from dada_plugin.eval.report import write_report
    from dada_plugin.eval.sources import read_source

    source = read_source(dataset)
    # Model mode (to come): generate answers per --model, then pass
    # {model_name: [(prompt, output), ...]} to the same write_report.
    paths = write_report(source.columns, output, legacy=legacy_normalization,
                         n_resamples=n_resamples, seed=seed, charts=not no_charts,
                         title=f"Slop and diversity: {dataset.name}")
    click.echo(f"wrote {paths['markdown']}")
    click.echo(f"wrote {paths['json']}")
    if "charts" in paths:
        click.echo(f"wrote {len(paths['charts'])} charts in {output / 'charts'}")
