"""``dada demo``."""

from __future__ import annotations

import click

from dada_plugin.demo import run_demo


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--outdir", default="demo-out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for every artefact of the demo and its report.md (--real: real-out by default).")
@click.option("--force", is_flag=True, help="Redo finished steps instead of skipping them.")
@click.option("--real", is_flag=True, help="The recipe on a real pretrained model, google/gemma-3-270m (install it "
                                           "with `make real`): five arms, intervals, a quality guard (~30 min on "
                                           "2 cores with bfloat16).")
@click.option("--quick", is_flag=True, help="With --real: a few steps and prompts, proving the chain (~10 min).")
def demo(outdir, force, real, quick):
    """The whole DADA recipe on embedded defaults (CPU, offline, random stand-in models).

    Each step prints the command you would type on a GPU box; a rerun skips finished steps.
    --real runs it on real weights (google/gemma-3-270m, Gemma Terms of Use) with five arms:
    base, base+prompt (asked to talk like a small child), sft-original (the same training on the
    original answers), dada and merge (SLERP onto the base), and writes OUT/report.md and
    OUT/report.json.

    Example usage:

    \b
        dada demo -o demo-out
        make real && dada demo --real -o real-out
        dada demo --real --quick -o real-quick
    """
    if quick and not real:
        raise click.UsageError("--quick goes with --real")
    if real:
        from dada_plugin.real.demo import run_real_demo

        report = run_real_demo(outdir if outdir != "demo-out" else "real-out", quick=quick, echo=click.echo,
                               force=force)
        click.echo(f"report: {report}")
        return
    report = run_demo(outdir, echo=click.echo, force=force)
    click.echo(f"report: {report}")
