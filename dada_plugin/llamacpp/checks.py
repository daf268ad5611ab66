"""What ``dada gguf`` checks before it writes a byte: config.json's numbers, and every tensor the
model needs present with the shape config.json gives it (a missing shard, a q_proj of the wrong
width, 8 experts in config.json and 4 in the weights would otherwise give a file llama.cpp
cannot load, reported as success)."""

from __future__ import annotations

import re
from pathlib import Path

from dada_plugin.errors import InputError

REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
OPTIONAL = ("num_key_value_heads", "head_dim", "num_local_experts", "num_experts_per_tok",
            "max_position_embeddings")
FUSED = re.compile(r"^model\.layers\.\d+\.mlp\.experts\.(gate_up_proj|down_proj)$")
SHOWN = 3  # problems named in the error; the rest counted


def check_config(path: Path, config) -> dict:
    """config.json as a dict of sane numbers, or one InputError naming the key."""
    if not isinstance(config, dict):
        raise InputError(path, f"must be a JSON object, not {type(config).__name__}")
    for key in REQUIRED + OPTIONAL:
        value = config.get(key)
        if value is None and key in OPTIONAL:
            continue
        if value is None:
            raise InputError(path, f"missing {key}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(path, f"{key} must be a positive integer, got {value!r}")
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    if not config.get("head_dim") and hidden % heads:
        raise InputError(path, f"hidden_size {hidden} is not a multiple of num_attention_heads {heads}")
    if heads % kv:
        raise InputError(path, f"num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}")
    if (config.get("head_dim") or hidden // heads) % 2:
        raise InputError(path, f"the head dimension {config.get('head_dim') or hidden // heads} is odd "
                               "(rotary embeddings pair values)")
    return config


def expected_shapes(config: dict, names) -> dict[str, tuple[int, ...]]:
    """Every tensor a Llama/Mistral/Mixtral checkpoint of ``config`` holds, with its shape; MoE
    experts in the layout the checkpoint uses (``names``: fused, or the Hub's per expert)."""
    h, v, inter = config["hidden_size"], config["vocab_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    hd = config.get("head_dim") or h // heads
    experts = config.get("num_local_experts")
    fused = any(FUSED.match(n) for n in names)
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not config.get("tie_word_embeddings") or "lm_head.weight" in names:  # tied: may be saved too
        shapes["lm_head.weight"] = (v, h)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                       p + "self_attn.q_proj.weight": (heads * hd, h), p + "self_attn.k_proj.weight": (kv * hd, h),
                       p + "self_attn.v_proj.weight": (kv * hd, h), p + "self_attn.o_proj.weight": (h, heads * hd)})
        if config.get("attention_bias"):
            shapes.update({p + "self_attn.q_proj.bias": (heads * hd,), p + "self_attn.k_proj.bias": (kv * hd,),
                           p + "self_attn.v_proj.bias": (kv * hd,), p + "self_attn.o_proj.bias": (h,)})
        if config.get("mlp_bias") and not experts:
            shapes.update({p + "mlp.gate_proj.bias": (inter,), p + "mlp.up_proj.bias": (inter,),
                           p + "mlp.down_proj.bias": (h,)})
        if experts and fused:
            shapes.update({p + "mlp.gate.weight": (experts, h),
                           p + "mlp.experts.gate_up_proj": (experts, 2 * inter, h),
                           p + "mlp.experts.down_proj": (experts, h, inter)})
        elif experts:
            shapes[p + "block_sparse_moe.gate.weight"] = (experts, h)
            for e in range(experts):
                q = f"{p}block_sparse_moe.experts.{e}."
                shapes.update({q + "w1.weight": (inter, h), q + "w3.weight": (inter, h), q + "w2.weight": (h, inter)})
        else:
            shapes.update({p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
                           p + "mlp.down_proj.weight": (h, inter)})
    return shapes


def check_tensors(folder: Path, config: dict, tensors: dict[str, tuple[Path, tuple[int, ...]]]) -> None:
    """One InputError naming the first missing, misshapen or unexpected tensors (and how many
    more), against what config.json says the model holds."""
    expected = expected_shapes(config, tensors)
    problems = [f"{name} is missing" for name in expected if name not in tensors]
    problems += [f"{name} has shape {list(tensors[name][1])}, config.json says {list(shape)}"
                 for name, shape in expected.items() if name in tensors and tuple(tensors[name][1]) != shape]
    problems += [f"{name} ({tensors[name][0].name}) is not part of the model config.json describes"
                 for name in tensors if name not in expected and not name.endswith("rotary_emb.inv_freq")]
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise InputError(folder, "the weights do not match config.json: " + "; ".join(problems[:SHOWN]) + more)
