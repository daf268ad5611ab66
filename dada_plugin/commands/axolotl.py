"""``dada axolotl-config`` (write an axolotl YAML, or check existing ones) and ``dada plan``."""

from __future__ import annotations

import json

import click

from dada_plugin.axolotl.config import TrainSettings, model_config_source, write_config
from dada_plugin.axolotl.plan import make_plan, plan_for_config
from dada_plugin.axolotl.validate import base_model_warning, load_yaml_config, validate_file
from dada_plugin.commands import verdicts
from dada_plugin.errors import ConfigError
from dada_plugin.settings import from_options, options

TARGET_CHOICES = ["attention", "attention+experts"]


def _validate(path) -> tuple[list[str], list[str], list[str]]:
    try:
        validate_file(path)
    except ConfigError as exc:
        return exc.problems, [], []
    warning = base_model_warning(load_yaml_config(path))
    return [], [], [warning] if warning else []


@click.command("axolotl-config", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True,
              help="Validate the axolotl YAML FILES (axolotl's own validate_config, plus unknown keys "
                   "and chat templates) instead of writing one; exit 1 if any fails.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to write the axolotl YAML (e.g. dada.yml).")
@options(TrainSettings)
def axolotl_config(files, check, output, **values):
    """Write the DADA seed recipe as an axolotl YAML, validated by axolotl itself.

    Defaults are the seed's: QLoRA on Mixtral-Instruct-ITR-8x7B, r = alpha = 512, 4 epochs,
    lr 2e-6 linear, samples of at most 128 tokens (packed into 2048-token rows), answers only.
    Prints the exact trainable-parameter count of the LoRA targets and a GPU memory estimate.
    --from YAML starts from another axolotl config instead (dada sets its model, data, output
    and SLERP keys); --set KEY=VALUE sets any axolotl key last.

    Example usage:

    \b
        dada axolotl-config -o dada.yml --dataset out/dada.jsonl
        dada axolotl-config -o dada-fsdp.yml --targets attention+experts --multi-gpu fsdp
        dada axolotl-config -o tiny.yml --from axolotl_configs/tiny-cpu-lora.yml --set load_in_4bit=true
        dada axolotl-config --check dada.yml axolotl_configs/*.yml
    """

    if check:
        if not files:
            raise click.UsageError("--check needs at least one FILE")
        if verdicts(files, _validate):
            raise click.exceptions.Exit(1)
        return
    if files:
        raise click.UsageError("FILES are only read with --check")
    if not output:
        raise click.UsageError("writing a config needs -o/--output")

    _, cfg, plan = write_config(from_options(TrainSettings, values), output)
    click.echo(f"wrote {output} (validated by axolotl {_axolotl_version()})")
    if plan is None:
        click.echo("trainable parameters: unknown offline for this base model; pass --model-config")
    else:
        click.echo("\n".join(plan.lines()))


@click.command("plan", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", default="mixtral-8x7b", show_default=True,
              help="'mixtral-8x7b' (built-in numbers), a config.json, or a model folder.")
@click.option("--config", "recipe", type=click.Path(dir_okay=False), default=None,
              help="Plan an axolotl YAML instead (its lora_r, targets, 4-bit, batch, sequence_len, optimizer).")
@click.option("--lora-r", type=int, default=512, show_default=True, help="LoRA rank.")
@click.option("--lora-alpha", type=int, default=None, help="LoRA alpha [default: r].")
@click.option("--targets", type=click.Choice(TARGET_CHOICES), default="attention", show_default=True,
              help="LoRA targets: attention projections, or also the fused experts.")
@click.option("--adapter", type=click.Choice(["qlora", "lora"]), default="qlora", show_default=True,
              help="qlora: NF4 base; lora: bf16 base.")
@click.option("--quantize-experts/--no-quantize-experts", default=True, show_default=True,
              help="4-bit experts (axolotl quantize_moe_experts); off: the experts stay bf16.")
@click.option("--micro-batch-size", type=int, default=1, show_default=True, help="Rows per GPU step.")
@click.option("--sequence-len", type=int, default=2048, show_default=True, help="Tokens per row.")
@click.option("--optimizer", default="adamw_bnb_8bit", show_default=True,
              help="axolotl optimizer name; names with '8bit' keep 2 bytes of state per parameter, others 8.")
@click.option("--gpus", type=int, default=1, show_default=True,
              help="GPUs sharing the run with FSDP: base, LoRA, gradients and optimizer state divided among them.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (trainable_params, memory_gb, ...).")
def plan(model, recipe, lora_r, lora_alpha, targets, adapter, quantize_experts, micro_batch_size,
         sequence_len, optimizer, gpus, as_json):
    """Count trainable parameters exactly (meta device, from config.json; no weights) and
    estimate GPU memory for a LoRA/QLoRA run.

    Example usage:

        dada plan --model mixtral-8x7b --lora-r 512 --targets attention

        dada plan --model mixtral-8x7b --lora-r 512 --targets attention+experts --json

        dada plan --config axolotl_configs/mixtral-itr-dada-qlora-fsdp.yml --gpus 4
    """

    if recipe:

        cfg = load_yaml_config(recipe)
        source = model if model != "mixtral-8x7b" else model_config_source(str(cfg.get("base_model", "")))
        if source is None:
            raise click.ClickException(
                f"{recipe}: cannot read the architecture of base_model {cfg.get('base_model')!r} offline; "
                "pass --model PATH (a config.json or model folder)")
        result = plan_for_config(cfg, source, gpus=gpus)
    else:
        result = make_plan(model, lora_r=lora_r, lora_alpha=lora_alpha, targets=targets,
                           four_bit=adapter == "qlora", quantize_experts=quantize_experts,
                           micro_batch_size=micro_batch_size, sequence_len=sequence_len,
                           optimizer=optimizer, gpus=gpus)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo("\n".join(result.lines()))


def _axolotl_version() -> str:
    from importlib.metadata import version

    return version("axolotl")
