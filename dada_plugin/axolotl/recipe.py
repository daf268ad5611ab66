"""The DADA seed recipe as an axolotl YAML, with a comment on every value that departs from
axolotl's default. ``dada axolotl-config`` writes it; ``axolotl_configs/mixtral-itr-dada-qlora.yml``
and ``axolotl_configs/mixtral-itr-dada-qlora-fsdp.yml`` are its output (a test keeps them equal).

Seed: QLoRA (4-bit base) on Mixtral-Instruct-ITR-8x7B, r = alpha = 512, 4 epochs, lr 2e-6,
linear schedule, samples of at most 128 tokens, trained on answers only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from dada_plugin.axolotl import PLUGIN, STRATEGY, TARGETS, slerp_t

SEED_MODEL = "Mixtral-Instruct-ITR-8x7B"
SEED_MERGE_BASE = "Verdict-8x7B"

Item = tuple[str, Any, str]  # (key, value, comment); key "#" is a section heading


# transformers' SchedulerType values plus axolotl's own (one_cycle, rex)
LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                 "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
                 "cosine_warmup_with_min_lr", "warmup_stable_decay", "one_cycle", "rex")


class RecipeOptions(BaseModel):
    """What ``dada axolotl-config`` can change; every default is the seed's."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = SEED_MODEL
    dataset: str = "out/dada.jsonl"
    output_dir: str = "runs/dada-qlora"
    adapter: Literal["qlora", "lora"] = "qlora"
    lora_r: int = 512
    lora_alpha: int = 512
    targets: Literal["attention", "attention+experts"] = "attention"
    num_epochs: int = 4
    learning_rate: float = 2e-6
    lr_scheduler: str = "linear"
    sequence_len: int = 128          # tokens per sample (the seed's limit)
    pack_len: int = 2048             # 0: no packing; else samples are packed into rows this long
    micro_batch_size: int | None = None  # default: 1 packed row, or 16 unpacked samples
    gradient_accumulation_steps: int = 1
    multi_gpu: Literal["none", "fsdp"] = "none"
    merge_base: str | None = SEED_MERGE_BASE
    merge_t: float = 0.5

    @field_validator("lora_r", "lora_alpha", "num_epochs", "sequence_len", "gradient_accumulation_steps")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be a positive integer, got {value}")
        return value

    @field_validator("micro_batch_size")
    @classmethod
    def _batch(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be a positive integer, got {value}")
        return value

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        if value not in LR_SCHEDULERS:
            raise ValueError(f"unknown schedule {value!r}; one of: {', '.join(LR_SCHEDULERS)}")
        return value

    @field_validator("learning_rate")
    @classmethod
    def _lr(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"must be in (0, 1), got {value}")
        return value

    _t = field_validator("merge_t")(slerp_t)

    @model_validator(mode="after")
    def _packing(self):
        if self.pack_len and self.pack_len < self.sequence_len:
            raise ValueError(f"pack_len {self.pack_len} is shorter than sequence_len {self.sequence_len}")
        return self

    @property
    def packed(self) -> bool:
        return self.pack_len > 0

    @property
    def batch(self) -> int:
        return self.micro_batch_size or (1 if self.packed else 16)


def recipe_items(o: RecipeOptions) -> list[Item]:
    """The recipe, in file order, each value with the reason it is set."""
    modules, params = TARGETS[o.targets]
    four_bit = o.adapter == "qlora"
    fsdp = o.multi_gpu == "fsdp"
    items: list[Item] = [
        ("#", None, "model"),
        ("base_model", o.base_model, "the model to train (seed: Mixtral-Instruct-ITR-8x7B); a hub id or a local folder"),
        ("#", None, "DADA plugin: row check before tokenising, mergekit SLERP recipe after training"),
        ("plugins", [PLUGIN], "adds the dada_* keys below"),
    ]
    if o.merge_base:
        items += [
            ("dada_slerp_base", o.merge_base, "merge partner, the t = 0 end (seed: Verdict-8x7B)"),
            ("dada_slerp_t", o.merge_t, "written to OUTPUT_DIR/slerp.yml with the adapter folded into base_model"),
        ]
    items += [
        ("dada_max_row_tokens", o.sequence_len, "seed: samples of at most 128 tokens, also when packed"),
        ("dada_check_rows", "error", "stop before training if a row is longer (dada build keeps them short)"),
        ("#", None, "data: dada.jsonl rows written by `dada build`"),
        ("datasets", [{"path": o.dataset, "ds_type": "json", "type": STRATEGY}],
         "raw <s>[INST] q [/INST] a</s> rows: one BOS, EOS trained, prompt masked"),
        ("train_on_inputs", False, "seed: train on answers only (axolotl's default, stated)"),
        ("val_set_size", 0, "all rows train; measure slop on the merged model instead"),
        ("output_dir", o.output_dir, "the adapter and slerp.yml land here"),
        ("#", None, "adapter"),
        ("adapter", o.adapter, "seed: QLoRA" if four_bit else "plain LoRA on a bf16 base"),
    ]
    if four_bit:
        items += [
            ("load_in_4bit", True, "QLoRA: NF4 base weights (axolotl default: full precision)"),
            ("quantize_moe_experts", True, "transformers 5 keeps the experts as 3-D parameters that "
             "bitsandbytes' Linear4bit swap skips: without this 45 of 46.7B parameters stay bf16 (~90 GB)"),
        ]
    items += [
        ("lora_r", o.lora_r, "seed: 512 (axolotl examples use 8-64)"),
        ("lora_alpha", o.lora_alpha, "seed: 512, so the LoRA scale alpha/r is 1"),
        ("lora_dropout", 0.0, "peft's expert (target_parameters) LoRA allows no dropout; kept 0 for all"),
        ("lora_target_modules", list(modules), "attention projections"),
    ]
    if params:
        items.append(("lora_target_parameters", list(params),
                      "the fused experts of every layer (transformers 5 has no w1/w2/w3 modules)"))
    items += [
        ("#", None, "sequence and batches"),
    ]
    if o.packed:
        items += [
            ("sequence_len", o.pack_len, f"a packed row: {o.pack_len} tokens hold ~25-30 DADA samples of "
             f"<= {o.sequence_len} tokens (69 on average in the fixture); dada_max_row_tokens keeps the "
             "per-sample limit"),
            ("sample_packing", True, "steps per epoch = packed rows / (micro_batch x accumulation x GPUs): "
             "40k rows pack into ~1,500 rows, so ~1,500 steps per epoch at micro_batch 1 where unpacked "
             "it is 40,000 (micro_batch 1) or 2,500 (micro_batch 16); fewer, fuller steps at the seed's lr"),
            ("pad_to_sequence_len", True, "fixed-size packed rows: steadier memory (axolotl recommends it with packing)"),
            ("attn_implementation", "flash_attention_2", "packing needs an attention that keeps samples apart"),
        ]
    else:
        items += [
            ("sequence_len", o.sequence_len, "seed: 128 (axolotl default 512); axolotl drops longer rows"),
            ("sample_packing", False, "one sample per row, as the seed trained"),
            ("attn_implementation", "sdpa", "PyTorch attention; no flash-attn build needed"),
        ]
    items += [
        ("micro_batch_size", o.batch, "packed rows per GPU step" if o.packed else "128-token samples per GPU step"),
        ("gradient_accumulation_steps", o.gradient_accumulation_steps, "one optimizer step per micro-batch"),
        ("#", None, "optimisation (seed)"),
        ("num_epochs", o.num_epochs, "seed: 4"),
        ("learning_rate", o.learning_rate, "seed: 2e-6"),
        ("lr_scheduler", o.lr_scheduler, "seed: linear (axolotl default: cosine)"),
        ("optimizer", "adamw_torch_8bit" if fsdp else "adamw_bnb_8bit",
         "8-bit AdamW: 2 bytes of state per trainable parameter instead of 8"
         + (" (FSDP2 rejects bitsandbytes' 8-bit AdamW)" if fsdp else "")),
        ("#", None, "precision and memory"),
        ("bf16", "auto", "bf16 where the GPU has it (axolotl default: fp32)"),
        ("tf32", True, "faster fp32 matmuls on Ampere+"),
        ("gradient_checkpointing", True, "recompute activations: memory for time"),
        ("logging_steps", 10, "axolotl default logs every step"),
        ("saves_per_epoch", 1, "one adapter checkpoint per epoch"),
    ]
    if fsdp:
        items += [
            ("#", None, "multi-GPU: FSDP2 shards the 4-bit base, the LoRA weights and the optimizer state"),
            ("fsdp_version", 2, "axolotl 0.21 supports FSDP2 only"),
            ("fsdp_config", {
                "offload_params": False,
                "cpu_ram_efficient_loading": True,
                "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                "transformer_layer_cls_to_wrap": "MixtralDecoderLayer",
                "state_dict_type": "FULL_STATE_DICT",
                "reshard_after_forward": True,
            }, "wrap each decoder layer; rank 0 loads, the others receive shards; a full adapter is saved"),
            ("qlora_sharded_model_loading", four_bit, "4-bit weights staged on CPU then scattered "
             "(FSDP2 + cpu_ram_efficient_loading + 4-bit needs it)"),
        ]
    return items


def recipe_dict(items: list[Item]) -> dict:
    return {key: value for key, value, _ in items if key != "#"}


def render(items: list[Item], title: str) -> str:
    """YAML text: ``key: value  # why`` lines, block YAML for nested values."""
    import yaml

    lines = [f"# {line}" if line else "#" for line in title.splitlines()]
    for key, value, comment in items:
        if key == "#":
            lines += ["", f"# --- {comment}"]
            continue
        if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            lines.append(f"# {key}: {comment}")
            lines.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False).rstrip())
        else:
            flow = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=True, width=10_000)
            lines.append(f"{flow.strip()[1:-1]}  # {comment}")
    return "\n".join(lines) + "\n"


HEADER = "# DADA seed recipe for axolotl 0.21"  # how a file dada wrote begins


def title(o: RecipeOptions, trainable: int | None, memory_gb: float | None) -> str:
    changed = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in o.model_dump(exclude_defaults=True).items())
    head = [
        HEADER[2:].rstrip(":\n") + ", written by:",
        f"  dada axolotl-config -o THIS_FILE {changed}".rstrip(),
        "Train: AXOLOTL_DO_NOT_TRACK=1 axolotl train THIS_FILE"
        + (" --launcher torchrun -- --nproc_per_node N_GPUS" if o.multi_gpu == "fsdp" else ""),
        f"LoRA targets: {o.targets}" + (f" -> {trainable:,} trainable parameters" if trainable else ""),
    ]
    if memory_gb is not None:
        head.append(f"GPU memory estimate (dada plan): {memory_gb:.1f} GB per GPU"
                    + (" before FSDP sharding" if o.multi_gpu == "fsdp" else ""))
    return "\n".join(head)


def model_config_source(base_model: str, explicit: str | None = None) -> str | None:
    """Where the parameter count reads the architecture: an explicit config, the model folder,
    or the built-in Mixtral-8x7B numbers for a Mixtral/8x7B name; None when unknown offline."""
    import re
    from pathlib import Path

    from dada_plugin.axolotl.plan import BUILTIN

    if explicit:
        return explicit
    if (Path(base_model) / "config.json").is_file():
        return base_model
    return BUILTIN if re.search(r"mixtral|8x7b", base_model, re.IGNORECASE) else None


def make_recipe(o: RecipeOptions, model_config: str | None = None) -> tuple[str, dict, Any]:
    """(YAML text, config dict, :class:`~dada_plugin.axolotl.plan.Plan` or None), validated by
    axolotl (ConfigError lists every problem)."""
    from dada_plugin.axolotl.plan import plan_for_recipe
    from dada_plugin.axolotl.validate import validate_axolotl_config

    items = recipe_items(o)
    cfg = recipe_dict(items)
    validate_axolotl_config(cfg, source="recipe")
    source = model_config_source(o.base_model, model_config)
    plan = plan_for_recipe(cfg, source) if source else None
    text = render(items, title(o, plan.trainable_params if plan else None, plan.memory_gb if plan else None))
    return text, cfg, plan
