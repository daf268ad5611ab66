"""dada gguf: the file is read back with llama.cpp's own gguf reader (tensor names, types,
metadata); both expert layouts give the same tensors; bad inputs give one line and no file."""

import json
from pathlib import Path

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
        (bert, f"Error: {bert / 'config.json'}: missing hidden_size\n"),  # checked before any converter runs
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


def _copy(tiny_mixtral, tmp_path, name="model"):
    import shutil

    folder = tmp_path / name
    shutil.copytree(tiny_mixtral, folder)
    return folder


def _rewrite_weights(folder, change):
    """Rewrite model.safetensors with ``change(tensors)`` applied (numpy)."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(folder / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _fails(folder, tmp_path):
    out = tmp_path / "x.gguf"
    result = CliRunner().invoke(dada, ["gguf", str(folder), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert not out.exists() and not list(tmp_path.glob(".x.gguf*"))
    assert result.output.count("\n") == 1, result.output  # one line
    return result.output


def test_weights_that_do_not_match_config_json_are_refused(tiny_mixtral, tmp_path):
    """No file llama.cpp cannot load is reported as written: every tensor's presence and shape
    is checked against config.json first, and the first wrong ones are named."""
    wrong_shape = _copy(tiny_mixtral, tmp_path, "shape")
    _rewrite_weights(wrong_shape, lambda t: t.update({"model.layers.0.self_attn.q_proj.weight":
                                                      t["model.layers.0.self_attn.q_proj.weight"][:, :30].copy()}))
    assert "model.layers.0.self_attn.q_proj.weight has shape [64, 30], config.json says [64, 64]" \
        in _fails(wrong_shape, tmp_path)

    hidden = _copy(tiny_mixtral, tmp_path, "hidden")
    config = json.loads((hidden / "config.json").read_text())
    (hidden / "config.json").write_text(json.dumps({**config, "hidden_size": 128}))
    assert "the weights do not match config.json: model.embed_tokens.weight has shape [32000, 64], " \
           "config.json says [32000, 128]" in _fails(hidden, tmp_path)

    experts = _copy(tiny_mixtral, tmp_path, "experts")
    (experts / "config.json").write_text(json.dumps({**config, "num_local_experts": 8}))
    out = _fails(experts, tmp_path)
    assert "model.layers.0.block_sparse_moe.experts.4.w1.weight is missing" in out and "more)" in out

    shard = _copy(tiny_mixtral, tmp_path, "shard")
    _rewrite_weights(shard, lambda t: [t.pop(k) for k in list(t) if k.startswith("model.layers.1.")])
    assert "model.layers.1.input_layernorm.weight is missing" in _fails(shard, tmp_path)


@pytest.mark.parametrize("case, message", [
    ("list", "config.json: must be a JSON object, not list"),
    ("words", "config.json: num_hidden_layers must be a positive integer, got 'two'"),
    ("no heads", "config.json: num_attention_heads must be a positive integer, got 0"),
    ("3 heads", "config.json: hidden_size 64 is not a multiple of num_attention_heads 3"),
    ("truncated", "model.safetensors: not a readable safetensors file (truncated?)"),
    ("tokenizer", "tokenizer.model: not a SentencePiece model"),
    ("index", "model.safetensors.index.json: names the shard model-00002.safetensors, which is not in"),
])
def test_broken_model_folders_are_one_line_naming_the_file(tiny_mixtral, tmp_path, case, message):
    folder = _copy(tiny_mixtral, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    if case == "list":
        (folder / "config.json").write_text(json.dumps([config]))
    elif case in ("words", "no heads", "3 heads"):
        key, value = {"words": ("num_hidden_layers", "two"), "no heads": ("num_attention_heads", 0),
                      "3 heads": ("num_attention_heads", 3)}[case]
        (folder / "config.json").write_text(json.dumps({**config, key: value}))
    elif case == "truncated":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[:len(data) // 2])
    elif case == "tokenizer":
        (folder / "tokenizer.model").write_bytes(b"\x00garbage" * 100)
    else:
        (folder / "model.safetensors.index.json").write_text(json.dumps(
            {"weight_map": {"model.norm.weight": "model-00002.safetensors"}}))
    assert message in _fails(folder, tmp_path)


def test_a_copy_another_tool_changed_is_not_replaced(tiny_mixtral, tmp_path):
    """gguf-new-metadata copies every key, dada.writer included: the copy with a new template is
    the user's file now (the seal over header and size no longer holds), refused without --force."""
    import shutil
    import subprocess
    import sys

    out = tmp_path / "m.gguf"
    export(tiny_mixtral, out)
    tool = shutil.which("gguf-new-metadata", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.skip("gguf-new-metadata not installed")
    mine = tmp_path / "mine.gguf"
    subprocess.run([tool, str(out), str(mine), "--chat-template", "{{ messages }}", "--force"],
                   check=True, capture_output=True, input="y\n", text=True, timeout=120)
    assert field(gguf.GGUFReader(str(mine)), "dada.writer").startswith("dada gguf sha256:")
    before = mine.read_bytes()
    result = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(mine), "--no-progress"])
    assert result.exit_code == 1 and "dada did not write it" in result.output
    assert mine.read_bytes() == before
    export(tiny_mixtral, out, "--type", "f16")  # dada's own, unchanged: replaced without --force


def test_a_plain_copy_of_dadas_file_is_the_users(tiny_mixtral, tmp_path):
    """The seal covers the file's identity: `cp` makes a file dada never wrote (refused without
    --force); a rename keeps dada's own."""
    import shutil

    out = tmp_path / "m.gguf"
    export(tiny_mixtral, out)
    backup = tmp_path / "backup.gguf"
    shutil.copyfile(out, backup)
    result = CliRunner().invoke(dada, ["gguf", str(tiny_mixtral), "-o", str(backup), "--no-progress"])
    assert result.exit_code == 1 and "dada did not write it" in result.output
    moved = tmp_path / "moved.gguf"
    out.rename(moved)
    export(tiny_mixtral, moved, "--type", "f16")


def test_biases_and_a_saved_tied_head_are_part_of_the_model(tiny_mixtral):
    from dada_plugin.llamacpp.checks import expected_shapes

    config = {"hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100,
              "intermediate_size": 128, "attention_bias": True, "mlp_bias": True, "tie_word_embeddings": True}
    shapes = expected_shapes(config, ["lm_head.weight"])
    assert shapes["model.layers.0.self_attn.q_proj.bias"] == (64,) and shapes["model.layers.0.mlp.down_proj.bias"] == (64,)
    assert shapes["lm_head.weight"] == (100, 64) and "lm_head.weight" not in expected_shapes(config, [])
