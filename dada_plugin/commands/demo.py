"""``dada demo``."""

from __future__ import annotations

import click

from dada_plugin.demo import run_demo


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--outdir", default="demo-out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for every artefact of the demo and its report.md.")
@click.option("--force", is_flag=True, help="Redo finished steps instead of skipping them.")
def demo(outdir, force):
    """The whole DADA recipe on embedded defaults (CPU, offline, random stand-in models).

    Each step prints the command you would type on a GPU box; a rerun skips finished steps.

    Example usage:

    \b
        dada demo -o demo-out
    """

    report = run_demo(outdir, echo=click.echo, force=force)
    click.echo(f"report: {report}")
