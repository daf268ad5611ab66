"""``dada merge-config`` (write or lint mergekit YAML) and ``dada merge`` (run mergekit)."""

from __future__ import annotations

import click

from dada_plugin.commands import verdicts
from dada_plugin.mergekit.config import write_settings_config
from dada_plugin.mergekit.lint import lint_file
from dada_plugin.mergekit.run import run_merge
from dada_plugin.mergekit.settings import CONFIG_FIELDS, RUN_FIELDS, MergeSettings
from dada_plugin.settings import from_options, options

CONTEXT = {"help_option_names": ["-h", "--help"]}


def lint(path) -> tuple[list[str], list[str], list[str], list[str]]:
    report = lint_file(path)
    return report.problems, report.skipped, [], report.notes


@click.command("merge-config", context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True,
              help="Lint the mergekit YAML FILES (offline) instead of writing one; exit 1 if any fails.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the mergekit YAML (e.g. slerp.yml).")
@options(MergeSettings, skip=RUN_FIELDS)
def merge_config(files, check, output, **values):
    """Write a checked mergekit config, or lint existing ones with --check.

    Layer ranges are read from each model's config.json; local paths are written absolute.
    Checks: mergekit's own schema plus what it lets through (slerp needs exactly two models
    with the base among them, t within [0, 1], equal in-bounds layer ranges, known dtype, no
    unknown keys, filters that match transformers-5 tensor names such as self_attn and mlp).

    Example usage:

    \b
        dada merge-config -o slerp.yml --base /models/Verdict-8x7B \\
            --model /models/Mixtral-8x7B-Instruct --lora outputs/dada-qlora --t 0.5
        dada merge-config -o slerp.yml --model /models/dada --t-self-attn 0,0.5,1 --t-mlp 1,0.5,0
        dada merge-config -o fold.yml --method fold --model /models/Mixtral-8x7B-Instruct \\
            --lora outputs/dada-qlora
        dada merge-config --check mergekit_configs/*.yml
    """

    if check:
        if not files:
            raise click.UsageError("--check needs at least one FILE")
        if verdicts(files, lint):
            raise click.exceptions.Exit(1)
        return
    if files:
        raise click.UsageError("FILES are only read with --check")
    settings = from_options(MergeSettings, values)
    if not output or not settings.model:
        raise click.UsageError("writing a config needs -o/--output and --model")
    path, cfg = write_settings_config(settings, output)
    click.echo(f"wrote {path} ({cfg['merge_method']}); run: dada merge {path} OUT")


@click.command("merge", context_settings=CONTEXT)
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@options(MergeSettings, skip=CONFIG_FIELDS)
def merge(config, out, **values):
    """Check CONFIG, run mergekit into OUT, copy the tokenizer and write the model card.

    Safe defaults: a fresh LoRA merge cache per run, shards sized to RAM, offline, output
    renamed into place only when complete. API keys and tokens never reach the card.

    Example usage:

    \b
        dada merge slerp.yml merged/ --axolotl-config axolotl_configs/dada-qlora.yml
    """

    path = run_merge(config, out, from_options(MergeSettings, values))
    click.echo(f"merged model written to {path} (README.md holds the configs)")
