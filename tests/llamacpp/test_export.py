"""dada gguf: the file is read back with llama.cpp's own gguf reader (tensor names, types,
metadata); both expert layouts give the same tensors; bad inputs give one line and no file."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada

gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def fused_mixtral(tiny_mixtral, tmp_path_factory):
    """The tiny Mixtral in transformers-5's fused expert layout (mergekit's own output)."""
    from tests.mergekit.conftest import run_mergekit_yaml

    root = tmp_path_factory.mktemp("fused")
    config = root / "passthrough.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}\nmerge_method: passthrough\ndtype: float32\n")
    run_mergekit_yaml(config, root / "model")
    for name in ("tokenizer.model", "tokenizer_config.json", "chat_template.jinja"):
        if (tiny_mixtral / name).exists():
            (root / "model" / name).write_bytes((tiny_mixtral / name).read_bytes())
    return root / "model"


def export(model, out, *args):
    result = CliRunner().invoke(dada, ["gguf", str(model), "-o", str(out), "--no-progress", *args])
    assert result.exit_code == 0, result.output
    return gguf.GGUFReader(str(out))


def field(reader, key):
    return reader.fields[key].contents()


def test_q8_0_file_reads_back_with_llama_cpps_reader(tiny_mixtral, tmp_path):
    r = export(tiny_mixtral, tmp_path / "m.gguf")
    types = {t.name: t.tensor_type.name for t in r.tensors}
    assert len(types) == 3 + 2 * 10
    assert types["blk.0.ffn_gate_exps.weight"] == types["token_embd.weight"] == "Q8_0"
    assert types["blk.0.attn_norm.weight"] == types["blk.0.ffn_gate_inp.weight"] == "F32"
    shapes = {t.name: [int(x) for x in t.shape] for t in r.tensors}
    assert shapes["blk.1.ffn_gate_exps.weight"] == [64, 128, 4]  # ggml order: [H, I, E]
    assert field(r, "general.architecture") == "llama"
    assert (field(r, "llama.expert_count"), field(r, "llama.expert_used_count"), field(r, "llama.block_count")) == (4, 2, 2)
    assert (field(r, "tokenizer.ggml.bos_token_id"), field(r, "tokenizer.ggml.eos_token_id")) == (1, 2)
    assert len(field(r, "tokenizer.ggml.tokens")) == 32000 and field(r, "tokenizer.ggml.tokens")[1] == "<s>"
    assert "[INST]" in field(r, "tokenizer.chat_template")
    assert field(r, "general.file_type") == int(gguf.LlamaFileType.MOSTLY_Q8_0)


def test_both_expert_layouts_give_the_same_file(tiny_mixtral, fused_mixtral, tmp_path):
    hub = export(tiny_mixtral, tmp_path / "hub.gguf", "--type", "f32")
    fused = export(fused_mixtral, tmp_path / "fused.gguf", "--type", "f32")
    a = {t.name: np.array(t.data) for t in hub.tensors}
    b = {t.name: np.array(t.data) for t in fused.tensors}
    assert sorted(a) == sorted(b)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("outtype,kinds", [("f16", {"F16", "F32"}), ("bf16", {"BF16", "F32"}), ("f32", {"F32"})])
def test_types(tiny_mixtral, tmp_path, outtype, kinds):
    r = export(tiny_mixtral, tmp_path / "m.gguf", "--type", outtype)
    assert {t.tensor_type.name for t in r.tensors} == kinds


def test_bad_inputs_one_line_and_no_file(tmp_path, tiny_mixtral):
    empty = tmp_path / "empty"
    empty.mkdir()
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    for folder, message in [
        (empty, f"Error: {empty}: no config.json: not a Hugging Face model folder\n"),
        (bert, f"Error: {bert}: architecture BertModel: dada gguf converts MixtralForCausalLM, "
               "MistralForCausalLM, LlamaForCausalLM; for others use llama.cpp's convert_hf_to_gguf.py\n"),
    ]:
        result = CliRunner().invoke(dada, ["gguf", str(folder), "-o", str(tmp_path / "x.gguf")])
        assert result.exit_code == 1
        assert result.output == message
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".*tmp"))
    inside = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(tiny_mixtral / "m.gguf")])
    assert inside.exit_code == 1 and "lies inside the model" in inside.output


def test_a_rerun_replaces_its_own_file_but_not_a_users(tiny_mixtral, tmp_path):
    out = tmp_path / "m.gguf"
    export(tiny_mixtral, out)
    export(tiny_mixtral, out, "--type", "f16")  # its own file: no --force needed
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF not dada's")
    result = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(mine), "--no-progress"])
    assert result.exit_code == 1 and "dada did not write it" in result.output
    assert mine.read_bytes() == b"GGUF not dada's"


def test_only_the_shards_the_index_names_are_read(tiny_mixtral, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_mixtral, folder)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00001.safetensors")
    names = gguf.GGUFReader  # noqa: F841 - the module is there
    from safetensors import safe_open

    with safe_open(str(folder / "model-00001-of-00001.safetensors"), "np") as fh:
        weight_map = {k: "model-00001-of-00001.safetensors" for k in fh.keys()}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    shutil.copy(folder / "model-00001-of-00001.safetensors", folder / "consolidated.safetensors")  # stale
    r = export(folder, tmp_path / "m.gguf")
    assert len(r.tensors) == 23
    (folder / "model.safetensors.index.json").unlink()
    result = CliRunner().invoke(dada, ["gguf", str(folder), "-o", str(tmp_path / "x.gguf"), "--no-progress"])
    assert result.exit_code == 1 and "two weight sets in one folder?" in result.output
