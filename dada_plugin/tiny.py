"""Tiny random Mixtrals with the real Mixtral tokenizer: stand-ins for 46.7B models in tests and
the demo (hidden 64, 2 layers, 4 experts, vocab 32,000; fixed seed, so the same every time)."""

from __future__ import annotations

from pathlib import Path

from dataset_builders.tokens import write_hf_tokenizer

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


def build_tiny_mixtral(directory: str | Path, seed: int = 0, **overrides) -> Path:
    """Write a random tiny Mixtral (safetensors, float32) plus the real tokenizer to ``directory``."""
    import torch
    from transformers import MixtralConfig, MixtralForCausalLM


    directory = Path(directory)
    arch = {**TINY_ARCH, **overrides}
    config = MixtralConfig(bos_token_id=1, eos_token_id=2, **arch)
    torch.manual_seed(seed)
    model = MixtralForCausalLM(config).to(torch.float32)
    model.save_pretrained(str(directory), safe_serialization=True)
    write_hf_tokenizer(directory)
    return directory
