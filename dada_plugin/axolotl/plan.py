"""``dada plan``: exact trainable parameters and a GPU memory estimate, without weights.

The model is built from its config.json on PyTorch's meta device (no memory, no download) and
wrapped with peft exactly as axolotl does (``target_modules`` + ``target_parameters``), so the
trainable count is peft's own. Mixtral-8x7B's architecture is built in (``--model mixtral-8x7b``).

Memory model (decimal GB, per GPU before any FSDP sharding), each term printed:

- base weights: 4-bit NF4 with double quantisation = 0.5 + 1/64 + 4/(64*256) bytes per quantised
  parameter (every Linear but lm_head, and with ``quantize_moe_experts`` the 3-D experts);
  the rest (embeddings, lm_head, norms, routers) in bf16, 2 bytes; a 16-bit base: 2 bytes each
- LoRA weights 4 bytes (fp32), gradients 4 bytes, optimizer state 2 (8-bit AdamW) or 8 (AdamW)
  bytes per trainable parameter
- activations with gradient checkpointing: every layer's input kept (2 bytes x tokens x hidden),
  one layer recomputed (tokens x (16 hidden + 6 top-k intermediate + 4 heads x seq) x 2 bytes)
  and fp32 logits with their gradient (tokens x vocab x 8 bytes), tokens = micro-batch x seq
- 1 GB for the CUDA context and allocator slack
- ``gpus`` > 1 (FSDP): base, LoRA, gradients and optimizer state divided among the GPUs
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dada_plugin.axolotl import TARGETS
from dada_plugin.errors import ConfigError, InputError
from dada_plugin.mergekit.models import MIXTRAL_8X7B

GB = 1e9
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)
BUILTIN = "mixtral-8x7b"


def builtin_mixtral() -> dict:
    """Mixtral-8x7B(-Instruct) v0.1 config.json (the numbers the merge checks ship, plus the rest)."""
    return {**MIXTRAL_8X7B, "num_experts_per_tok": 2, "max_position_embeddings": 32768,
            "rope_theta": 1e6, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
            "bos_token_id": 1, "eos_token_id": 2, "sliding_window": None}


def load_model_config(spec: str) -> dict:
    """``mixtral-8x7b``, a config.json, or a folder holding one."""
    if spec.lower() == BUILTIN:
        return builtin_mixtral()
    path = Path(spec)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise InputError(spec, f"no config.json (give a path to one, a model folder, or '{BUILTIN}')")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable config.json: {exc}") from None


@dataclass
class Plan:
    model: str
    targets: str
    lora_r: int
    total_params: int
    trainable_params: int
    quantized_params: int
    memory_gb: float
    memory_breakdown_gb: dict[str, float] = field(default_factory=dict)
    assumptions: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        return [
            f"model: {self.model} ({self.total_params:,} parameters)",
            f"LoRA r={self.lora_r} on {self.targets}: {self.trainable_params:,} trainable parameters "
            f"({100 * self.trainable_params / self.total_params:.2f}%)",
            f"estimated GPU memory: {self.memory_gb:.1f} GB per GPU: "
            + ", ".join(f"{k} {v:.1f}" for k, v in self.memory_breakdown_gb.items()),
            "assumptions: " + ", ".join(f"{k}={v}" for k, v in self.assumptions.items()),
        ]


def _meta_model(config: dict):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type = config.get("model_type")
    if not model_type:
        raise ConfigError("config.json has no model_type")
    kwargs = {k: v for k, v in config.items() if k not in ("model_type", "architectures", "transformers_version")}
    try:
        hf_config = AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, KeyError) as exc:
        detail = str(exc).split(". Should contain")[0]  # transformers appends every known type
        raise ConfigError(f"cannot build a '{model_type}' config: {detail}") from None
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(hf_config)


def count_params(config: dict, lora_r: int, lora_alpha: int | None, targets: str,
                 fix: str = "use --targets attention") -> dict:
    """Exact counts on the meta device: total, trainable (peft), and 4-bit quantisable."""
    import torch
    from peft import LoraConfig, get_peft_model

    modules, params = TARGETS[targets]
    model = _meta_model(config)
    names = [name for name, _ in model.named_parameters()]
    missing = [p for p in params if not any(name.endswith(p) for name in names)]
    if missing:
        raise ConfigError(f"targets: {config.get('model_type')} has no fused expert parameters "
                          f"({', '.join(missing)}); {fix}")
    total = sum(p.numel() for p in model.parameters())
    quantized = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head"):
            quantized += module.weight.numel()
        elif "expert" in name.lower():
            quantized += sum(p.numel() for p in module.parameters(recurse=False) if p.ndim >= 3)
    lora = LoraConfig(r=lora_r, lora_alpha=lora_alpha or lora_r, lora_dropout=0.0,
                      target_modules=list(modules), target_parameters=list(params) or None)
    with torch.device("meta"):
        peft_model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "quantized": quantized}


def estimate(config: dict, counts: dict, *, four_bit: bool = True, quantize_experts: bool = True,
             micro_batch_size: int = 1, sequence_len: int = 2048, optimizer_bytes: int = 2,
             gradient_checkpointing: bool = True, gpus: int = 1) -> dict[str, float]:
    """The memory terms in GB (see the module docstring)."""
    hidden, layers, heads, vocab = (config[k] for k in ("hidden_size", "num_hidden_layers",
                                                        "num_attention_heads", "vocab_size"))
    inter = config.get("intermediate_size", 4 * hidden) * config.get("num_experts_per_tok", 1)
    quant = counts["quantized"] if four_bit else 0
    if four_bit and not quantize_experts:
        quant -= _expert_params(config)
    base = quant * NF4_BYTES + (counts["total"] - quant) * 2
    trainable = counts["trainable"]
    tokens = micro_batch_size * sequence_len
    layer_work = tokens * (16 * hidden + 6 * inter + 4 * heads * sequence_len) * 2
    kept = tokens * hidden * 2 * (layers if gradient_checkpointing else 0)
    if not gradient_checkpointing:
        layer_work *= layers
    # base, LoRA, gradients and optimizer state are divided among the GPUs (FSDP)
    terms = {k: v / gpus for k, v in {"base": base, "lora": trainable * 4, "grads": trainable * 4,
                                      "optimizer": trainable * optimizer_bytes}.items()}
    terms.update(activations=kept + layer_work + tokens * vocab * 8, cuda=GB)
    return {k: round(v / GB, 2) for k, v in terms.items()}


def _expert_params(config: dict) -> int:
    experts = config.get("num_local_experts", 0)
    return experts * 3 * config["hidden_size"] * config.get("intermediate_size", 0) * config["num_hidden_layers"]


def make_plan(model: str = BUILTIN, *, lora_r: int = 512, lora_alpha: int | None = None,
              targets: str = "attention", four_bit: bool = True, quantize_experts: bool = True,
              fix: str | None = None,
              micro_batch_size: int = 1, sequence_len: int = 2048, optimizer: str = "adamw_bnb_8bit",
              gradient_checkpointing: bool = True, gpus: int = 1) -> Plan:
    if targets not in TARGETS:
        raise ConfigError(f"targets: '{targets}' is not one of {', '.join(TARGETS)}")
    if lora_r < 1:
        raise ConfigError(f"lora_r: must be a positive integer, got {lora_r}")
    if gpus < 1 or micro_batch_size < 1 or sequence_len < 1:
        raise ConfigError("gpus, micro_batch_size and sequence_len must be positive")
    config = load_model_config(model)
    counts = count_params(config, lora_r, lora_alpha, targets, **({"fix": fix} if fix else {}))
    terms = estimate(config, counts, four_bit=four_bit, quantize_experts=quantize_experts,
                     micro_batch_size=micro_batch_size, sequence_len=sequence_len,
                     optimizer_bytes=2 if "8bit" in optimizer else 8,
                     gradient_checkpointing=gradient_checkpointing, gpus=gpus)
    return Plan(
        model=model, targets=targets, lora_r=lora_r, total_params=counts["total"],
        trainable_params=counts["trainable"], quantized_params=counts["quantized"] if four_bit else 0,
        memory_gb=round(sum(terms.values()), 1), memory_breakdown_gb=terms,
        assumptions={"base": "nf4" if four_bit else "bf16", "quantize_moe_experts": quantize_experts,
                     "micro_batch_size": micro_batch_size, "sequence_len": sequence_len,
                     "optimizer": optimizer, "gradient_checkpointing": gradient_checkpointing,
                     "gpus": gpus},
    )


def plan_for_config(cfg: dict, model_config: str | None = None, gpus: int = 1) -> Plan:
    """The plan of an axolotl recipe dict (as :mod:`.recipe` writes it)."""
    if not isinstance(cfg.get("lora_r"), int) or isinstance(cfg.get("lora_r"), bool):
        raise ConfigError("lora_r: a LoRA recipe needs an integer lora_r to plan")
    targets = "attention+experts" if cfg.get("lora_target_parameters") else "attention"
    return make_plan(
        model_config or BUILTIN, lora_r=cfg["lora_r"], lora_alpha=cfg.get("lora_alpha"), targets=targets,
        four_bit=bool(cfg.get("load_in_4bit")), quantize_experts=bool(cfg.get("quantize_moe_experts")),
        micro_batch_size=cfg.get("micro_batch_size") or 1, sequence_len=cfg.get("sequence_len") or 512,
        optimizer=cfg.get("optimizer") or "adamw_torch_fused",
        gradient_checkpointing=bool(cfg.get("gradient_checkpointing")), gpus=gpus,
        fix="use --targets attention (a --from config: drop its lora_target_parameters, --set "
            "lora_target_parameters=null)")
