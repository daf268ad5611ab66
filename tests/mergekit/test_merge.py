"""Real mergekit runs on the tiny Mixtrals: SLERP against an independent numpy slerp, LoRA fold
against peft's merge_and_unload, and ``dada merge``'s safe defaults."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import ConfigError, InputError, StepError
from dada_plugin.mergekit.config import build_lora_fold_config, write_merge_config
from dada_plugin.mergekit.run import run_merge
from dada_plugin.mergekit.settings import MergeSettings

from .conftest import fused, load_tensors, make_lora_adapter, peft_merged, run_mergekit_yaml

TOL = 1e-5


def np_slerp(t: float, v0: np.ndarray, v1: np.ndarray, dot_threshold=0.9995, eps=1e-8) -> np.ndarray:
    """Textbook slerp of two tensors taken as single vectors (float64)."""
    a, b = v0.ravel(), v1.ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    dot = float(np.clip((a / (na if na > eps else 1)) @ (b / (nb if nb > eps else 1)), -1, 1))
    if abs(dot) > dot_threshold:
        return (1 - t) * v0 + t * v1
    theta = np.arccos(dot)
    return (np.sin((1 - t) * theta) * v0 + np.sin(t * theta) * v1) / np.sin(theta)


def t_for(name: str, num_layers: int, setting) -> float:
    """mergekit's documented t for one tensor: the first matching filter (substring) or the
    default; a gradient is interpolated at layer/(layers-1), embeddings and final norm/head at 0."""
    m = re.match(r"model\.layers\.(\d+)\.", name)
    pos = int(m.group(1)) / (num_layers - 1) if m else 0.0
    conds = setting if isinstance(setting, list) and isinstance(setting[0], dict) else [{"value": setting}]
    value = next(c["value"] for c in conds if c.get("filter") is None or c["filter"] in name)
    if not isinstance(value, list):
        return float(value)
    x = pos * (len(value) - 1)
    i = min(int(x), len(value) - 2)
    return float(value[i] + (x - i) * (value[i + 1] - value[i]))


@pytest.fixture(scope="module")
def slerp_raw(tiny_mixtral_b, tiny_mixtral, tmp_path_factory):
    """A gradient SLERP config from ``dada merge-config`` and the real ``mergekit-yaml``'s output
    of it (shared: the numbers test and the layout test read the same merge)."""
    root = tmp_path_factory.mktemp("slerp")
    config, out = root / "slerp.yml", root / "merged"
    result = CliRunner().invoke(dada, [
        "merge-config", "-o", str(config), "--base", str(tiny_mixtral_b), "--model", str(tiny_mixtral),
        "--t", "0.4", "--t-self-attn", "0.2,0.8", "--t-mlp", "0.7", "--dtype", "float32"])
    assert result.exit_code == 0, result.output
    run_mergekit_yaml(config, out)
    return config, out


@pytest.mark.slow
def test_slerp_every_tensor_matches_numpy(tiny_mixtral_b, tiny_mixtral, slerp_raw):
    config, out = slerp_raw
    setting = yaml.safe_load(config.read_text())["parameters"]["t"]
    base, other = fused(load_tensors(tiny_mixtral_b)), fused(load_tensors(tiny_mixtral))
    merged = load_tensors(out)
    assert sorted(merged) == sorted(base) and len(merged) == 21
    deviation, ts = {}, {}
    for name, value in merged.items():
        ts[name] = t_for(name, 2, setting)
        expected = np_slerp(ts[name], base[name], other[name])
        assert value.shape == expected.shape, name
        deviation[name] = float(np.abs(value - expected).max())
    worst = max(deviation, key=deviation.get)
    print(f"max |mergekit - numpy slerp| = {deviation[worst]:.3g} ({worst})")
    assert deviation[worst] < TOL
    # the filters did select: attention follows the gradient, the MoE block 0.7, the rest 0.4
    assert ts["model.layers.0.self_attn.q_proj.weight"] == 0.2
    assert ts["model.layers.1.self_attn.o_proj.weight"] == 0.8
    assert ts["model.layers.1.mlp.experts.gate_up_proj"] == 0.7 == ts["model.layers.0.mlp.gate.weight"]
    assert ts["model.embed_tokens.weight"] == 0.4 == ts["model.layers.0.input_layernorm.weight"]
    # and the result is a real blend, not one of the ends
    name = "model.layers.1.mlp.experts.down_proj"
    assert np.abs(merged[name] - base[name]).max() > 1e-3 < np.abs(merged[name] - other[name]).max()


@pytest.mark.slow
def test_dada_merge_folds_lora_like_peft_with_a_fresh_cache(tiny_mixtral, tmp_path):
    adapter = make_lora_adapter(tiny_mixtral, tmp_path / "adapter", seed=5)
    config = write_merge_config(build_lora_fold_config(str(tiny_mixtral), str(adapter), dtype="float32"),
                                tmp_path / "fold.yml")
    axolotl = tmp_path / "axolotl.yml"
    axolotl.write_text("base_model: mistralai/Mixtral-8x7B-Instruct-v0.1\nadapter: qlora\n"
                       "wandb_api_key: 0123456789abcdef0123\nhf_token: hf_abcdefghijklmnopqrstuvwxyz\n")
    out = tmp_path / "runs" / "dada"
    result = CliRunner().invoke(dada, ["merge", str(config), str(out), "--axolotl-config", str(axolotl),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"merged model written to {out} (README.md holds the configs)\n"

    expected = peft_merged(tiny_mixtral, adapter)
    merged = fused(load_tensors(out))  # written in the inputs' (Hub) layout
    assert sorted(merged) == sorted(expected)
    diff = max(float(np.abs(merged[k] - expected[k]).max()) for k in merged)
    print(f"max |mergekit fold - peft merge_and_unload| = {diff:.3g}")
    assert diff < 1e-6
    assert np.abs(merged["model.layers.0.self_attn.q_proj.weight"]
                  - fused(load_tensors(tiny_mixtral))["model.layers.0.self_attn.q_proj.weight"]).max() > 1e-3

    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert "base_model" not in front  # a local folder that records no Hub id
    assert front["tags"] == ["mergekit", "merge", "axolotl", "dada"]
    assert f"* {tiny_mixtral} with the LoRA adapter {adapter} folded in" in card
    assert "merge_method: passthrough" in card and "adapter: qlora" in card
    assert "0123456789abcdef0123" not in card and "hf_abcdefghijklmnopqrstuvwxyz" not in card
    assert (out / "tokenizer.model").read_bytes() == (tiny_mixtral / "tokenizer.model").read_bytes()
    assert (out / "mergekit_config.yml").read_text() == config.read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["dada"]  # no cache or staging left

    # Re-train the adapter at the same path: a fresh cache per run merges the new weights.
    make_lora_adapter(tiny_mixtral, adapter, seed=6)
    seen = []
    run_merge(config, out, MergeSettings(force=True), echo=seen.append)
    assert b"Executing graph" in b"".join(seen)  # mergekit's progress was shown
    expected = peft_merged(tiny_mixtral, adapter)
    merged = fused(load_tensors(out))  # written in the inputs' (Hub) layout
    assert max(float(np.abs(merged[k] - expected[k]).max()) for k in merged) < 1e-6


def test_dada_merge_refuses_before_running(tiny_mixtral, tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}\n  - model: /gone/model\n"
                      "merge_method: linear\nparameters:\n  weight: 0.5\ndtype: float32\n")
    with pytest.raises(ConfigError) as err:
        run_merge(config, tmp_path / "out", echo=None)
    assert err.value.problems == ["models.1: model '/gone/model' does not exist"]
    good = tmp_path / "good.yml"
    good.write_text(f"models:\n  - model: {tiny_mixtral}\nmerge_method: passthrough\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    result = CliRunner().invoke(dada, ["merge", str(good), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'out'}: exists and is not empty; pass --force to replace it\n"
    with pytest.raises(InputError):
        run_merge(good, tmp_path / "out", echo=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yml", "good.yml", "out"]


@pytest.mark.slow
def test_dada_merge_reports_mergekit_failure_with_its_log(tiny_mixtral, tmp_path):
    fake = tmp_path / "not-really-an-adapter"
    fake.mkdir()
    (fake / "adapter_config.json").write_text("{}")
    config = tmp_path / "fold.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}+{fake}\nmerge_method: passthrough\n")
    out = tmp_path / "out"
    with pytest.raises(StepError) as err:
        run_merge(config, out, echo=None)
    log = tmp_path / "out.mergekit.log"
    assert err.value.step == "mergekit" and err.value.log == str(log)
    assert str(err.value).startswith("step 'mergekit' failed: exit code 1: ")
    assert "Traceback" in log.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold.yml", "not-really-an-adapter",
                                                          "out.mergekit.log"]


def test_dada_merge_never_writes_over_its_inputs(tiny_mixtral, tmp_path):
    import shutil

    mg = tmp_path / "mg"
    itr = mg / "itr"
    shutil.copytree(tiny_mixtral, itr)
    adapter = make_lora_adapter(itr, mg / "adapter", seed=7)
    (mg / "note.txt").write_text("mine")
    config = write_merge_config(build_lora_fold_config(str(itr), str(adapter), dtype="float32"),
                                mg / "fold.yml")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    cases = [(itr, f"Error: {itr}: is the model {itr} ({itr}); choose an output folder apart from every input\n"),
             (mg, f"Error: {mg}: holds the merge config ({config}); choose an output folder apart from every input\n"),
             (adapter / "sub", f"Error: {adapter / 'sub'}: lies inside the adapter {adapter} ({adapter}); "
                               "choose an output folder apart from every input\n")]
    for out, message in cases:
        result = CliRunner().invoke(dada, ["merge", str(config), str(out), "--force", "--quiet"])
        assert result.exit_code == 1
        assert result.stderr == message
    axolotl = tmp_path / "axolotl.yml"
    axolotl.write_text("adapter: lora\n")
    result = CliRunner().invoke(dada, ["merge", str(config), str(tmp_path), "--force",
                                       "--axolotl-config", str(axolotl)])
    assert result.exit_code == 1 and "holds the merge config" in result.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p != axolotl) == before


def test_dada_merge_force_replaces_only_its_own_output(tiny_mixtral, tmp_path):
    config = tmp_path / "fold.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}\nmerge_method: passthrough\ndtype: float32\n")
    out = tmp_path / "out"
    run_merge(config, out, echo=None)
    assert (out / ".dada.json").is_file()
    run_merge(config, out, MergeSettings(force=True), echo=None)  # dada's own output: replaced
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="mine.txt; move them away"):
        run_merge(config, out, MergeSettings(force=True), echo=None)
    assert (out / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold.yml", "out"]


def test_merge_cleans_what_a_killed_run_left_and_leaves_a_users_folders(tiny_mixtral, tmp_path):
    """Beside OUT: the marked staging folders of a killed run are removed; a user's folders of
    the same shapes, and another output's, stay."""
    config = tmp_path / "fold.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}\nmerge_method: passthrough\ndtype: float32\n")
    from dada_plugin.mergekit.run import SCRATCH_MARK

    for left in (".out.partial-abcd1234", ".out.lora-cache-x_9y8z7w"):  # mkdtemp's shape, marked
        (tmp_path / left).mkdir()
        (tmp_path / left / SCRATCH_MARK).touch()
        (tmp_path / left / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".outlet.partial-keep1234").mkdir()  # another output's: not ours to remove
    for mine in (".out.old-backup", ".out.partial-mywork"):
        (tmp_path / mine).mkdir()
        (tmp_path / mine / "notes.txt").write_text("mine")
    run_merge(config, tmp_path / "out", echo=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.old-backup", ".out.partial-mywork", ".outlet.partial-keep1234", "fold.yml", "out"]


@pytest.mark.slow
def test_sigterm_during_merge_leaves_nothing_behind(tiny_mixtral, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from dada_plugin.offline import offline_env

    config = tmp_path / "fold.yml"
    config.write_text(f"models:\n  - model: {tiny_mixtral}\nmerge_method: passthrough\ndtype: float32\n")
    proc = subprocess.Popen([sys.executable, "-m", "dada_plugin.cli", "merge", str(config),
                             str(tmp_path / "out")], env=offline_env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.partial-*")), "the merge never started"
    with pytest.raises(InputError, match=rf"another dada run \(pid {proc.pid}\) is writing this folder"):
        run_merge(config, tmp_path / "out", echo=None)  # one writer per OUT
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold.yml"]


def test_merge_config_never_writes_into_a_model_it_reads(tiny_mixtral, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_mixtral, copy)
    before = (copy / "config.json").read_text()
    result = CliRunner().invoke(dada, ["merge-config", "-o", str(copy / "config.json"), "--model", str(copy),
                                       "--base", str(tiny_mixtral), "--force"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {copy / 'config.json'}: lies inside the model {copy} ({copy}); "
                             "write it somewhere else\n")
    assert (copy / "config.json").read_text() == before


def test_dada_merge_writes_the_inputs_layout_with_mergekits_numbers(tiny_mixtral, slerp_raw, tmp_path):
    """mergekit writes the fused transformers-5 experts; dada writes what its inputs had (the
    Hub layout llama.cpp reads), tensor for tensor the same model: equal logits in float32."""
    import torch
    from transformers import AutoModelForCausalLM

    from dada_plugin.mergekit.layout import layout, tensor_names

    config, raw = slerp_raw
    out = tmp_path / "out"
    run_merge(config, out, echo=None)
    assert (layout(raw), layout(out), layout(tiny_mixtral)) == ("fused", "hub", "hub")
    from dada_plugin.io import file_mode

    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()} == {
        p.name: file_mode() for p in out.iterdir() if p.is_file()}  # every file follows the umask
    assert sorted(tensor_names(out)) == sorted(tensor_names(tiny_mixtral))
    ids = torch.tensor([[1, 733, 16289, 28793, 22557, 733, 28748, 16289, 28793]])
    logits = [AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32)(ids).logits
              for d in (raw, out)]
    assert torch.equal(logits[0], logits[1])
