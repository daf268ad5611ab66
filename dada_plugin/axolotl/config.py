"""The DADA seed recipe as an axolotl YAML, with a comment on every value that departs from
axolotl's default. ``dada axolotl-config`` writes it; ``axolotl_configs/mixtral-itr-dada-qlora.yml``
and ``axolotl_configs/mixtral-itr-dada-qlora-fsdp.yml`` are its output (a test keeps them equal).

Seed: QLoRA (4-bit base) on Mixtral-Instruct-ITR-8x7B, r = alpha = 512, 4 epochs, lr 2e-6,
linear schedule, samples of at most 128 tokens, trained on answers only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from dada_plugin.axolotl import PLUGIN, STRATEGY, TARGETS
from dada_plugin.axolotl.plan import BUILTIN, plan_for_config
from dada_plugin.axolotl.validate import validate_axolotl_config
from dada_plugin.errors import ConfigError
from dada_plugin.io import load_yaml, loads_json, seal, sealed, write_text
from dada_plugin.outputs import check_file
from dada_plugin.seed import MIXTRAL_NAME, SEED_MERGE_BASE, SEED_MODEL, check_t
from dada_plugin.settings import Settings, command_line, opt
from dataset_builders.formats import MISTRAL_V1, ChatFormat, get_format

Item = tuple[str, Any, str]  # (key, value, comment); key "#" is a section heading


# transformers' SchedulerType values plus axolotl's own (one_cycle, rex)
LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                 "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
                 "cosine_warmup_with_min_lr", "warmup_stable_decay", "one_cycle", "rex")


class TrainSettings(Settings):
    """``dada axolotl-config``: its options, the ``train:`` section of a ``dada run`` recipe, and
    the argument of :func:`make_config`. Every default is the seed's."""

    base_model: str = opt(SEED_MODEL, "Model to train: a hub id or a local folder.")
    dataset: str = opt("out/dada.jsonl", "The dada.jsonl that `dada build` wrote.")
    output_dir: str = opt("runs/dada-qlora", "axolotl output_dir: the adapter and slerp.yml land here.")
    prepared_path: str = opt("last_run_prepared", "axolotl dataset_prepared_path: where the tokenised "
                                                  "rows are cached (relative: to the folder axolotl runs in).")
    portable: bool = opt(False, "Write a config any axolotl 0.21 box runs without dada: axolotl's own "
                                "chat_template type (mistral_v1) over the messages column, the same "
                                "ids and labels; no plugin, so no row-length check and no slerp.yml.")
    base_config: str | None = opt(None, "An axolotl YAML to start from instead of the seed recipe "
                                        "(dada sets its base_model, first dataset path, output_dir "
                                        "and SLERP keys).", flag="--from", metavar="YAML")
    adapter: Literal["qlora", "lora"] = opt("qlora", "qlora: 4-bit base (seed); lora: 16-bit base.")
    lora_r: int = opt(512, "LoRA rank (seed 512).")
    lora_alpha: int = opt(512, "LoRA alpha (seed 512).")
    targets: Literal["attention", "attention+experts"] = opt(
        "attention", "LoRA targets: attention projections only, or also the fused experts "
                     "(lora_target_parameters). The trainable count of each is printed.")
    num_epochs: int = opt(4, "Epochs (seed 4).")
    learning_rate: float = opt(2e-6, "Peak learning rate (seed 2e-6).")
    lr_scheduler: str = opt("linear", "Learning-rate schedule (seed linear).")
    sequence_len: int = opt(128, "Most tokens per sample (seed 128); longer rows stop the run.")
    pack_len: int = opt(2048, "Pack samples into rows of this many tokens (sample_packing); 0: one "
                              "sample per row.")
    micro_batch_size: int | None = opt(None, "Rows per GPU step [default: 1 packed row, or 16 samples "
                                             "unpacked].")
    gradient_accumulation_steps: int = opt(1, "Micro-batches per optimizer step.")
    multi_gpu: Literal["none", "fsdp"] = opt("none", "fsdp: shard across GPUs with axolotl's FSDP2 keys "
                                                     "(launch with accelerate/torchrun).")
    merge_base: str | None = opt(SEED_MERGE_BASE, "SLERP partner (t = 0 end) for the slerp.yml written "
                                                  "after training; '' for none.")
    merge_t: float | list[float] = opt(0.5, "SLERP t in [0, 1], or a gradient list such as 0,0.5,1.")
    overrides: dict[str, Any] = opt({}, "An axolotl key set last: KEY=VALUE, the value read as YAML "
                                        "(repeatable).", flag="--set", metavar="KEY=VALUE")
    count_from: str | None = opt(None, "config.json (or folder) to count parameters from when "
                                       "--base-model is a hub id that is not Mixtral-8x7B.",
                                 flag="--model-config")
    launcher: Literal["accelerate", "python"] = opt("accelerate", "How `axolotl train` launches "
                                                                  "(dada run's train step).", cli=False)
    chat_format: str | None = opt(None, "Conversation format of the data [default: the one its rows name "
                                        "(chat_format in dada.jsonl), else mistral-v1]. Other than "
                                        "mistral-v1: axolotl's chat_template type with that format's "
                                        "template and end-of-turn tokens.")
    force: bool = opt(False, "Replace OUTPUT even if dada did not write it.")

    @field_validator("lora_r", "lora_alpha", "num_epochs", "sequence_len", "gradient_accumulation_steps",
                     "micro_batch_size")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
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

    @field_validator("merge_t", mode="before")
    @classmethod
    def _t(cls, value):
        return check_t(value)

    @field_validator("merge_base")
    @classmethod
    def _base(cls, value):
        return value or None

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


def run_name(o: TrainSettings) -> str:
    """The adapter's name for the Hub and W&B: the model's, then -dada-ADAPTER."""
    from pathlib import PurePath

    model = "mixtral-itr" if o.base_model == SEED_MODEL else PurePath(o.base_model).name.lower()
    return f"{model}-dada-{o.adapter}"


def config_items(o: TrainSettings) -> list[Item]:
    """The recipe, in file order, each value with the reason it is set."""
    modules, params = TARGETS[o.targets]
    four_bit = o.adapter == "qlora"
    fsdp = o.multi_gpu == "fsdp"
    placeholder = o.base_model == SEED_MODEL
    items: list[Item] = [
        ("#", None, "model"),
        ("base_model", o.base_model, "PLACEHOLDER: the seed's model; write its Hub id (ORG/NAME) or a local "
         "folder" if placeholder else "the model to train: a Hub id or a local folder"),
    ]
    if not o.portable:
        items += [("#", None, "DADA plugin: row check before tokenising, mergekit SLERP recipe after training"),
                  ("plugins", [PLUGIN], "adds the dada_* keys below")]
    if o.merge_base and not o.portable:
        items += [
            ("dada_slerp_base", o.merge_base, "merge partner, the t = 0 end (seed: Verdict-8x7B)"),
            ("dada_slerp_t", o.merge_t, "written to OUTPUT_DIR/slerp.yml with the adapter folded into base_model"),
        ]
    if not o.portable:
        items += [
            ("dada_max_row_tokens", o.sequence_len, "seed: samples of at most 128 tokens, also when packed"),
            ("dada_check_rows", "error", "stop before training if a row is longer (dada build keeps them short)"),
        ]
    fmt = data_format(o)
    items += [
        ("#", None, "data: dada.jsonl rows written by `dada build`"),
        *(dataset_items(o.dataset, fmt) if o.portable or fmt is not MISTRAL_V1 else [
            ("datasets", [{"path": o.dataset, "ds_type": "json", "type": STRATEGY}],
             "raw <s>[INST] q [/INST] a</s> rows: one BOS, EOS trained, prompt masked")]),
        ("train_on_inputs", False, "seed: train on answers only (axolotl's default, stated)"),
        ("val_set_size", 0, "all rows train; measure slop on the merged model instead"),
        ("dataset_prepared_path", o.prepared_path, "the tokenised rows, cached"),
        ("output_dir", o.output_dir, "the adapter lands here" if o.portable else "the adapter and slerp.yml land here"),
        ("#", f"hub_model_id: YOUR-NAME/{run_name(o)}", "uncomment to push the adapter to the Hub"),
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
             f"<= {o.sequence_len} tokens (69 on average in the fixture); "
             + ("dada build kept every sample within it" if o.portable else
                "dada_max_row_tokens keeps the per-sample limit")),
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
        ("#", "wandb_project: dada", "uncomment to log to Weights & Biases (with wandb_entity, wandb_name)"),
        ("#", "wandb_entity: YOUR-TEAM", "your W&B user or team"),
        ("#", f"wandb_name: {run_name(o)}", "the run's name"),
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


def data_format(o: TrainSettings) -> ChatFormat:
    """The conversation format of the training data: ``o.chat_format``, else the one the first
    row of the dataset names (``chat_format`` in dada.jsonl), else mistral-v1 (the seed's)."""
    if o.chat_format:
        return get_format(o.chat_format)
    try:
        with open(o.dataset, encoding="utf-8") as fh:
            first = loads_json(fh.readline() or "{}")
    except (OSError, ValueError):
        return MISTRAL_V1
    named = first.get("chat_format") if isinstance(first, dict) else None
    return get_format(named) if isinstance(named, str) else MISTRAL_V1


def dataset_items(dataset: str, fmt: ChatFormat = MISTRAL_V1) -> list[Item]:
    """The chat-template data keys: axolotl's own chat_template type over the ``messages``
    column, rendered with axolotl's template of the data's format (for mistral-v1: the same
    ids and labels as dada's strategy), the format's end of turn trained with the answer."""
    items: list[Item] = [
        ("chat_template", fmt.axolotl, f"axolotl's {fmt.axolotl} template: the {fmt.name} format dada built "
                                       f"the rows in"),
    ] if fmt.axolotl else [
        ("chat_template", "jinja", f"axolotl has no template of the {fmt.name} format dada built the rows in"),
        ("chat_template_jinja", fmt.jinja(), f"the {fmt.name} format's own template"),
    ]
    items += [
        ("datasets", [{"path": dataset, "ds_type": "json", "type": "chat_template", "field_messages": "messages",
                       "roles_to_train": ["assistant"], "train_on_eos": "turn"}],
         "the messages column of dada.jsonl: the answer and its end of turn trained, the prompt masked"),
    ]
    if fmt is not MISTRAL_V1:  # axolotl's default eot_tokens miss some (Gemma's <end_of_turn>)
        items.append(("eot_tokens", list(fmt.eot_tokens), f"the {fmt.name} end of turn, trained with each answer"))
    return items


def config_dict(items: list[Item]) -> dict:
    return {key: value for key, value, _ in items if key != "#"}


def render(items: list[Item], title: str) -> str:
    """YAML text: ``key: value  # why`` lines, block YAML for nested values."""
    import yaml

    lines = [f"# {line}" if line else "#" for line in title.splitlines()]
    for key, value, comment in items:
        if key == "#":  # a section heading, or a key left commented out for the user
            lines += ["", f"# --- {comment}"] if value is None else [f"# {value}  # {comment}"]
            continue
        if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            lines.append(f"# {key}: {comment}")
            lines.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False).rstrip())
        else:
            flow = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=True, width=10_000)
            lines.append(f"{flow.strip()[1:-1]}  # {comment}")
    return "\n".join(lines) + "\n"


HEADER = "# DADA seed recipe for axolotl 0.21"


def title(o: TrainSettings, trainable: int | None, memory_gb: float | None) -> str:

    head = [
        HEADER[2:].rstrip(":\n") + (" (portable: no dada plugin needed)" if o.portable else "") + ", written by:",
        "  " + command_line(["dada", "axolotl-config", "-o", "THIS_FILE"], o, skip=("force",)),
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
    from pathlib import Path


    if explicit:
        return explicit
    if (Path(base_model) / "config.json").is_file():
        return base_model
    return BUILTIN if MIXTRAL_NAME.search(base_model) else None


def _from_base(o: TrainSettings) -> dict:
    """``o.base_config`` with the keys dada sets: the model, the data, the output, the SLERP."""

    cfg = load_yaml(o.base_config)
    if not isinstance(cfg, dict) or not isinstance(cfg.get("datasets"), list) or not cfg["datasets"] \
            or not isinstance(cfg["datasets"][0], dict):
        raise ConfigError("an axolotl config with a datasets list", source=o.base_config)
    cfg.update(base_model=o.base_model, output_dir=o.output_dir, dataset_prepared_path=o.prepared_path)
    fmt = data_format(o)
    if o.portable or fmt is not MISTRAL_V1:
        plain = config_dict(dataset_items(o.dataset, fmt))
        cfg["datasets"][0] = plain.pop("datasets")[0]
        cfg.update(plain)
    if o.portable:
        cfg["plugins"] = [p for p in cfg.get("plugins") or [] if p != PLUGIN]
        for key in [k for k in cfg if k.startswith("dada_") or (k == "plugins" and not cfg[k])]:
            del cfg[key]
    elif o.merge_base:
        cfg.update(dada_slerp_base=o.merge_base, dada_slerp_t=o.merge_t)
    else:  # --merge-base "": no merge partner, so no slerp.yml
        for key in ("dada_slerp_base", "dada_slerp_t", "dada_slerp_dtype"):
            cfg.pop(key, None)
    cfg["datasets"][0]["path"] = o.dataset
    return cfg


def make_config(o: TrainSettings) -> tuple[str, dict, Any]:
    """(YAML text, config dict, :class:`~dada_plugin.axolotl.plan.Plan` or None): the seed recipe
    (or ``o.base_config``), then ``o.overrides``, validated by axolotl (ConfigError lists every
    problem)."""
    import yaml


    items = None if o.base_config else config_items(o)
    cfg = config_dict(items) if items else _from_base(o)
    cfg.update(o.overrides)
    validate_axolotl_config(cfg, source=o.base_config or "recipe")
    source = model_config_source(o.base_model, o.count_from)
    plan = plan_for_config(cfg, source) if source and cfg.get("adapter") else None
    head = title(o, plan.trainable_params if plan else None, plan.memory_gb if plan else None)
    if items and not o.overrides:
        return render(items, head), cfg, plan
    lines = [f"# {line}" if line else "#" for line in head.splitlines()]
    return "\n".join(lines) + "\n" + yaml.safe_dump(cfg, sort_keys=False), cfg, plan


def write_config(o: TrainSettings, output) -> tuple[str, dict, Any]:
    """:func:`make_config`, written to ``output`` (never over an input or a file dada did not
    write, unless ``o.force``)."""

    check_file(output, {"dataset": o.dataset, "base config": o.base_config, "model config": o.count_from},
               force=o.force, ours=sealed, within={"base model": o.base_model, "model config": o.count_from})
    text, cfg, plan = make_config(o)
    write_text(output, seal(text))
    return text, cfg, plan
