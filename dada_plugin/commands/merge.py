"""``dada merge-config`` (write or lint mergekit YAML) and ``dada merge`` (run mergekit)."""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"]}
DTYPES = ["bfloat16", "float16", "float32"]


def lint(files) -> int:
    """Print a verdict per file; return the number of files with problems."""
    from dada_plugin.mergekit.config import lint_file

    failed = 0
    for path in files:
        report = lint_file(path)
        skipped = f" ({len(report.skipped)} check(s) skipped)" if report.skipped else ""
        if report.ok:
            click.echo(f"{path}: ok{skipped}")
        else:
            failed += 1
            click.echo(f"{path}: {len(report.problems)} problem(s){skipped}")
        for line in report.problems:
            click.echo(f"  - {line}")
        for line in report.skipped:
            click.echo(f"  skipped: {line}")
    return failed


@click.command("merge-config", context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True,
              help="Lint the mergekit YAML FILES (offline) instead of writing one; exit 1 if any fails.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the mergekit YAML (e.g. slerp.yml).")
@click.option("--method", type=click.Choice(["slerp", "fold"]), default="slerp", show_default=True,
              help="'slerp': MODEL onto BASE; 'fold': fold --lora into MODEL (a passthrough).")
@click.option("--base", default=None, show_default="Verdict-8x7B",
              help="Merge base, the t=0 end (local folder or hub id).")
@click.option("--model", help="The other model (local folder or hub id); MODEL+ADAPTER folds an adapter in.")
@click.option("--lora", help="A PEFT LoRA adapter folder to fold into MODEL before merging.")
@click.option("--t", "t", default="0.5", show_default=True,
              help="SLERP t (0 = base, 1 = model): a number or a gradient list like 0,0.5,1.")
@click.option("--t-self-attn", default=None, help="t for attention tensors (filter 'self_attn').")
@click.option("--t-mlp", default=None, help="t for the MoE block: experts and router (filter 'mlp').")
@click.option("--dtype", type=click.Choice(DTYPES), default="bfloat16", show_default=True,
              help="dtype mergekit computes and writes in.")
@click.option("--tokenizer-source", default="base", show_default=True,
              help="'base', 'union', 'model' (MODEL's tokenizer) or a model folder.")
@click.option("--force", is_flag=True, help="Replace OUTPUT even if dada did not write it.")
def merge_config(files, check, output, method, base, model, lora, t, t_self_attn, t_mlp, dtype,
                 tokenizer_source, force):
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
    from dada_plugin.mergekit.config import (SEED_BASE, build_lora_fold_config,
                                             build_slerp_config, parse_t, write_merge_config)

    if check:
        if not files:
            raise click.UsageError("--check needs at least one FILE")
        if lint(files):
            raise click.exceptions.Exit(1)
        return
    if files:
        raise click.UsageError("FILES are only read with --check")
    if not output or not model:
        raise click.UsageError("writing a config needs -o/--output and --model")
    from dada_plugin.mergekit.config import HEADER_MARK
    from dada_plugin.outputs import check_file

    check_file(output, {}, force=force, ours=HEADER_MARK)
    if method == "fold":
        cfg = build_lora_fold_config(model, lora, dtype=dtype)
    else:
        cfg = build_slerp_config(base or SEED_BASE, model, t=parse_t(t), lora=lora, dtype=dtype,
                                 tokenizer_source=tokenizer_source,
                                 t_self_attn=None if t_self_attn is None else parse_t(t_self_attn),
                                 t_mlp=None if t_mlp is None else parse_t(t_mlp))
    path = write_merge_config(cfg, output)
    click.echo(f"wrote {path} ({cfg['merge_method']}); run: dada merge {path} OUT")


@click.command("merge", context_settings=CONTEXT)
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--axolotl-config", type=click.Path(exists=True, dir_okay=False),
              help="The axolotl YAML that trained the adapter, quoted in the model card.")
@click.option("--out-shard-size", default=None,
              help="Params per output shard (e.g. 1B); default: sized to the RAM available.")
@click.option("--device", default="cpu", show_default=True,
              help="Where mergekit does the arithmetic: cpu, cuda or auto.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("--quiet", is_flag=True, help="Do not show mergekit's progress.")
def merge(config, out, axolotl_config, out_shard_size, device, force, quiet):
    """Check CONFIG, run mergekit into OUT, copy the tokenizer and write the model card.

    Safe defaults: a fresh LoRA merge cache per run, shards sized to RAM, offline, output
    renamed into place only when complete. API keys and tokens never reach the card.

    Example usage:

    \b
        dada merge slerp.yml merged/ --axolotl-config axolotl_configs/dada-qlora.yml
    """
    from dada_plugin.mergekit.run import run_merge

    quiet_kw = {"echo": None} if quiet else {}
    path = run_merge(config, out, axolotl_config=axolotl_config, force=force,
                     out_shard_size=out_shard_size, device=device, **quiet_kw)
    click.echo(f"merged model written to {path} (README.md holds the configs)")
