"""The transformers backend on a tiny random Mixtral (real tokenizer): generation runs, every
answer is stored, and a rerun asks for nothing."""

import json

import pytest

from dada_plugin.errors import ResultError

from dataset_builders.pipeline import build
from dataset_builders.settings import BuildSettings


@pytest.mark.slow
def test_transformers_backend_generates_and_caches(alpaca_path, tiny_mixtral, tmp_path):
    opts = BuildSettings(backend="transformers", limit=3, progress=False,
                         model=str(tiny_mixtral), max_new_tokens=4, temperature=0.0, batch_size=2)
    stats = tmp_path / "out" / "stats.json"
    # a random model does not stop within 4 tokens: each rewrite is rejected as truncated, so
    # nothing is kept: the run fails, with its outputs written
    with pytest.raises(ResultError, match="no record was kept"):
        build(alpaca_path, tmp_path / "out", opts)
    first = json.loads(stats.read_text())
    assert first["rewrite"]["requested"] == 3
    assert first["stages"]["rewrite"] == {"in": 3, "out": 0, "rejected": {"truncated": 3}}
    with pytest.raises(ResultError):
        build(alpaca_path, tmp_path / "out", opts)
    second = json.loads(stats.read_text())
    assert (second["rewrite"]["requested"], second["rewrite"]["cached"]) == (0, 3)


def test_weights_fingerprint_changes_with_the_weights(tmp_path):
    from dataset_builders.rewrite.transformers_backend import weights_fingerprint

    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "config.json").write_text("{}")
    first = weights_fingerprint(str(tmp_path))
    assert weights_fingerprint(str(tmp_path)) == first
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # a re-merge at the same path
    assert weights_fingerprint(str(tmp_path)) != first
