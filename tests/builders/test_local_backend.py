"""The transformers backend on a tiny random Mixtral (real tokenizer): generation runs, every
answer is stored, and a rerun asks for nothing."""

import pytest

from dada_plugin.errors import ResultError
from dataset_builders.store import CompletionStore

from dataset_builders.pipeline import build
from dataset_builders.settings import BuildSettings


@pytest.mark.slow
def test_transformers_backend_generates_and_caches(alpaca_path, tiny_mixtral, tmp_path, monkeypatch):
    opts = BuildSettings(backend="transformers", limit=3, progress=False,
                         model=str(tiny_mixtral), max_new_tokens=4, temperature=0.0, batch_size=2)
    # a random model does not stop within 4 tokens: each rewrite is rejected as truncated, so
    # nothing is kept: the run fails and writes nothing, but every rewrite is stored
    with pytest.raises(ResultError, match=r"no record was kept \(of 100 read; rejected: truncated 3, nooutput 1\)"):
        build(alpaca_path, tmp_path / "out", opts)
    assert not (tmp_path / "out" / "dada.jsonl").exists()
    store = CompletionStore(tmp_path / "out" / "cache" / "rewrites.sqlite")
    assert len(store) == 3
    store.close()
    from dataset_builders.rewrite.transformers_backend import TransformersBackend

    def no_requests(self, jobs, on_result):
        assert not list(jobs), "a stored rewrite was asked for again"

    monkeypatch.setattr(TransformersBackend, "complete", no_requests)
    with pytest.raises(ResultError, match="truncated 3"):  # all from the store
        build(alpaca_path, tmp_path / "out", opts)


def test_weights_fingerprint_changes_with_the_weights(tmp_path):
    from dataset_builders.rewrite.transformers_backend import weights_fingerprint

    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "config.json").write_text("{}")
    first = weights_fingerprint(str(tmp_path))
    assert weights_fingerprint(str(tmp_path)) == first
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # a re-merge at the same path
    assert weights_fingerprint(str(tmp_path)) != first
