"""Tiny random Mixtrals with the real Mixtral tokenizer: stand-ins for 46.7B models in tests and
the demo (hidden 64, 2 layers, 4 experts, vocab 32,000; fixed seed, so the same every time)."""

from __future__ import annotations

import os
from pathlib import Path

TINY_ARCH = dict(
    vocab_size=32000,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    num_local_experts=4,
    num_experts_per_tok=2,
    max_position_embeddings=512,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)


def offline_env(env: dict | None = None) -> dict:
    """The environment dada runs axolotl, mergekit and model loading in: offline, no telemetry."""
    env = dict(os.environ if env is None else env)
    env.update(
        AXOLOTL_DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        WANDB_MODE="disabled",
    )
    return env


def set_offline() -> None:
    """Apply :func:`offline_env` to this process (before importing transformers & co.)."""
    os.environ.update(offline_env({}))


def build_tiny_mixtral(directory: str | Path, seed: int = 0, **overrides) -> Path:
    """Write a random tiny Mixtral (safetensors, float32) plus the real tokenizer to ``directory``."""
    set_offline()
    import torch
    from transformers import MixtralConfig, MixtralForCausalLM

    from dataset_builders.tokens import write_hf_tokenizer

    directory = Path(directory)
    arch = {**TINY_ARCH, **overrides}
    config = MixtralConfig(bos_token_id=1, eos_token_id=2, **arch)
    torch.manual_seed(seed)
    model = MixtralForCausalLM(config).to(torch.float32)
    model.save_pretrained(str(directory), safe_serialization=True)
    write_hf_tokenizer(directory)
    return directory
