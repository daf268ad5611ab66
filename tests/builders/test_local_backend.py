"""The transformers backend on a tiny random Mixtral (real tokenizer): generation runs, every
answer is stored, and a rerun asks for nothing."""

import pytest

from dataset_builders.pipeline import BuildOptions, build
from dataset_builders.rewrite import BackendOptions


@pytest.mark.slow
def test_transformers_backend_generates_and_caches(alpaca_path, tiny_mixtral, tmp_path):
    opts = BuildOptions(backend="transformers", limit=3, progress=False,
                        backend_options=BackendOptions(model=str(tiny_mixtral), max_new_tokens=4,
                                                       temperature=0.0, batch_size=2))
    first = build(alpaca_path, tmp_path / "out", opts)
    assert first.stats["rewrite"]["requested"] == 3
    # a random model does not stop within 4 tokens: each rewrite is rejected as truncated
    assert first.stats["stages"]["rewrite"] == {"in": 3, "out": 0, "rejected": {"truncated": 3}}
    second = build(alpaca_path, tmp_path / "out", opts)
    assert (second.stats["rewrite"]["requested"], second.stats["rewrite"]["cached"]) == (0, 3)


def test_weights_fingerprint_changes_with_the_weights(tmp_path):
    from dataset_builders.rewrite.local import weights_fingerprint

    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "config.json").write_text("{}")
    first = weights_fingerprint(str(tmp_path))
    assert weights_fingerprint(str(tmp_path)) == first
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # a re-merge at the same path
    assert weights_fingerprint(str(tmp_path)) != first
