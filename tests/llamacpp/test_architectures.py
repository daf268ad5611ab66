"""Nothing assumes Mixtral: tiny random dense models of each current family (Llama, Mistral,
Qwen2, Qwen3, Gemma 3; byte-level BPE vocabularies except Mistral's SentencePiece) SLERP-merge
through `dada merge-config` and `dada merge` (no expert rewrite), convert with `dada gguf`
(dada's own writer for Mistral, llama.cpp's converter for the rest), and llama.cpp loads each
result, generates, and tokenizes rendered conversations to exactly the ids transformers gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import ConfigError, InputError, ToolError
from dada_plugin.llamacpp.export import GgufSettings, export_gguf, written_by_dada
from dada_plugin.tiny import DENSE

pytest.importorskip("gguf")


def load_tensors(folder):
    from safetensors.numpy import load_file

    return {k: v for shard in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(shard)).items()}


@pytest.mark.llamacpp
@pytest.mark.parametrize("family", sorted(DENSE))
def test_each_family_merges_converts_and_tokenizes_as_transformers(family, tiny_dense, alpaca_records, tmp_path):
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    from dada_plugin.llamacpp.serve import check_engine
    from dada_plugin.mergekit.layout import layout
    from dada_plugin.mergekit.run import run_merge
    from dataset_builders.formats import get_format

    a, b = tiny_dense(family, 0), tiny_dense(family, 1)
    config = tmp_path / "slerp.yml"
    result = CliRunner().invoke(dada, ["merge-config", "-o", str(config), "--base", str(a), "--model", str(b),
                                       "--dtype", "float32"])
    assert result.exit_code == 0, result.output
    out = run_merge(config, tmp_path / "merged", echo=None)
    merged, base, other = load_tensors(out), load_tensors(a), load_tensors(b)
    assert sorted(merged) == sorted(base) and layout(out) is None  # no experts to rewrite
    name = "model.layers.1.mlp.down_proj.weight"
    assert np.abs(merged[name] - base[name]).max() > 1e-4 < np.abs(merged[name] - other[name]).max()

    lines = []
    gguf = export_gguf(out, tmp_path / "merged-Q8_0.gguf", progress=lines.append)
    assert written_by_dada(gguf) and (family == "mistral") == (not any("converter" in line for line in lines))
    check_engine(gguf)  # loads and generates, in a child process

    fmt, tok = get_format(DENSE[family][3]), AutoTokenizer.from_pretrained(str(out))
    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    assert llm.metadata.get("tokenizer.chat_template") == tok.chat_template
    conversations = [[(r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""), r["output"])]
                     for r in alpaca_records[:40]]
    if family == "mistral":  # the reference for the v1 vocabulary is mistral-common's encoder (runs of
        # spaces: the Hugging Face SentencePiece wrapper differs, dada_plugin/axolotl/README.md)
        from dataset_builders.tokens import load_tokenizer

        expected = load_tokenizer().encode_batch(conversations)
    else:
        expected = [tok(fmt.render(turns), add_special_tokens=False)["input_ids"] for turns in conversations]
    assert [llm.tokenize(fmt.render(turns).encode(), add_bos=False, special=True) for turns in conversations] \
        == expected


@pytest.mark.slow
def test_converter_failures_are_one_clear_error_and_leave_nothing(tiny_dense, tmp_path):
    """An unknown BPE pre-tokenizer: one line naming tokenizer.json; an architecture llama.cpp's
    converter does not know: its exit status and last lines; a --llama-cpp folder without the
    converter: one line. No output file in any case; a converted file of dada's is replaced by a
    rerun, sealed like the own writer's."""
    import shutil

    qwen = shutil.copytree(tiny_dense("qwen2"), tmp_path / "qwen")
    out = tmp_path / "q.gguf"
    export_gguf(qwen, out)
    first = out.stat().st_ino
    export_gguf(qwen, out)  # dada's own file: replaced
    assert written_by_dada(out) and out.stat().st_ino != first

    data = json.loads((qwen / "tokenizer.json").read_text())
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                                      "use_regex": True}]}
    (qwen / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        export_gguf(qwen, tmp_path / "bad.gguf")
    assert str(err.value) == (f"{(qwen / 'tokenizer.json').resolve()}: llama.cpp's converter does not know this "
                              "tokenizer's pre-tokenizer (\"BPE pre-tokenizer was not recognized\"); add it with "
                              "llama.cpp's convert_hf_to_gguf_update.py, or give a tokenizer llama.cpp knows")

    odd = shutil.copytree(tiny_dense("qwen2"), tmp_path / "odd")
    config = json.loads((odd / "config.json").read_text())
    (odd / "config.json").write_text(json.dumps({**config, "architectures": ["DadaTestForCausalLM"]}))
    with pytest.raises(ToolError, match=r"(?s)llama.cpp's converter \(.*convert_hf_to_gguf.py\) on .*odd exited with "
                                        r"status 1\n  its last lines:\n.*DadaTestForCausalLM"):
        export_gguf(odd, tmp_path / "odd.gguf")

    with pytest.raises(ConfigError, match=f"--llama-cpp {tmp_path}: no convert_hf_to_gguf.py there"):
        export_gguf(tiny_dense("qwen2"), tmp_path / "x.gguf", GgufSettings(llama_cpp=str(tmp_path)))
    assert sorted(p.name for p in tmp_path.glob("*.gguf")) == ["q.gguf"]
    assert not list(tmp_path.glob(".*.tmp"))

    cli = CliRunner().invoke(dada, ["gguf", str(odd), "-o", str(tmp_path / "odd.gguf"), "--no-progress"])
    assert cli.exit_code == 1 and cli.output.startswith("Error: llama.cpp's converter") and "Traceback" not in \
        cli.output.split("its last lines")[0]


@pytest.mark.parametrize("pre, name", [
    ({"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}, "gpt-2"),
    ({"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}, ""),  # adds a space llama.cpp would not
    ({"type": "Sequence", "pretokenizers": [{"type": "Split", "behavior": "Isolated", "invert": False, "pattern": {
        "Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                 "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}, {"type": "ByteLevel", "add_prefix_space": False,
                                                    "use_regex": False}]}, "qwen2"),
    ({"type": "Metaspace", "replacement": "\u2581"}, ""),
])
def test_pre_tokenizer_named_by_its_declared_splitting(pre, name, tmp_path):
    from dada_plugin.llamacpp.convert import pre_tokenizer_name

    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE"}, "pre_tokenizer": pre}))
    assert pre_tokenizer_name(tmp_path) == name
