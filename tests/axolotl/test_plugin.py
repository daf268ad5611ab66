"""The DADA axolotl plugin without training: its keys, the row check, the SLERP recipe."""

from __future__ import annotations

import logging

import pytest

from dada_plugin.axolotl import STRATEGY
from dada_plugin.errors import ConfigError


@pytest.fixture(scope="module")
def adapter_dir(tiny_mixtral, tmp_path_factory):
    """A freshly initialised (untrained) LoRA adapter of the tiny model, as training writes it."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter") / "out"
    model = AutoModelForCausalLM.from_pretrained(str(tiny_mixtral))
    get_peft_model(model, LoraConfig(r=4, lora_alpha=4, target_modules=["q_proj"])).save_pretrained(str(out))
    return out


def plugin_cfg(tiny_mixtral, **keys):
    from axolotl.utils.dict import DictDefault

    defaults = dict(adapter="lora", dada_slerp_base=None, dada_slerp_t=0.5, dada_slerp_dtype="float32",
                    dada_slerp_file="slerp.yml", dada_check_rows="warn", dada_max_row_tokens=None)
    return DictDefault(base_model=str(tiny_mixtral), tokenizer_config=str(tiny_mixtral), sequence_len=128,
                       **{**defaults, **keys})


def test_post_train_writes_a_valid_recipe_and_is_idempotent(tiny_mixtral, tiny_mixtral_b, adapter_dir):
    from dada_plugin.axolotl.plugin import DadaPlugin
    from dada_plugin.io import load_yaml
    from dada_plugin.mergekit.lint import check_merge_config

    cfg = plugin_cfg(tiny_mixtral, dada_slerp_base=str(tiny_mixtral_b), output_dir=str(adapter_dir),
                     dada_slerp_t=0.3)
    plugin = DadaPlugin()
    plugin.post_train(cfg, None)
    first = (adapter_dir / "slerp.yml").read_bytes()
    plugin.post_train(cfg, None)  # axolotl calls it twice
    assert (adapter_dir / "slerp.yml").read_bytes() == first
    recipe = load_yaml(adapter_dir / "slerp.yml")
    assert check_merge_config(recipe) == []
    assert recipe["base_model"] == str(tiny_mixtral_b)
    assert recipe["parameters"]["t"] == 0.3
    models = [s["model"] for s in recipe["slices"][0]["sources"]]
    assert models == [str(tiny_mixtral_b), f"{tiny_mixtral}+{adapter_dir}"]
    assert sorted(p.name for p in adapter_dir.glob("*slerp*")) == ["slerp.yml"]  # no temp files left


def test_full_finetune_recipe_merges_the_saved_model(tiny_mixtral, tiny_mixtral_b, tmp_path):
    import shutil

    from dada_plugin.axolotl.plugin import DadaPlugin
    from dada_plugin.io import load_yaml
    from dada_plugin.mergekit.lint import check_merge_config

    out = tmp_path / "full"
    shutil.copytree(tiny_mixtral, out)  # what a run without adapter saves: a whole model
    DadaPlugin().post_train(plugin_cfg(tiny_mixtral, adapter=None, dada_slerp_base=str(tiny_mixtral_b),
                                       output_dir=str(out)), None)
    recipe = load_yaml(out / "slerp.yml")
    assert check_merge_config(recipe) == []
    assert [s["model"] for s in recipe["slices"][0]["sources"]] == [str(tiny_mixtral_b), str(out)]


def test_bad_jsonl_line_is_named(tmp_path):
    from dada_plugin.axolotl.plugin import dada_rows
    from dada_plugin.errors import InputError

    path = tmp_path / "dada.jsonl"
    path.write_text('{"id": "a"}\n{"id": \n')
    with pytest.raises(InputError, match="dada.jsonl, record 1, line 2: malformed JSON"):
        dada_rows(path)


def test_no_merge_partner_no_recipe(tiny_mixtral, adapter_dir, tmp_path):
    from dada_plugin.axolotl.plugin import DadaPlugin

    DadaPlugin().post_train(plugin_cfg(tiny_mixtral, output_dir=str(tmp_path)), None)
    assert not (tmp_path / "slerp.yml").exists()


def test_unreadable_merge_partner_fails_before_training(tiny_mixtral, tmp_path):
    from dada_plugin.axolotl.plugin import DadaPlugin

    cfg = plugin_cfg(tiny_mixtral, dada_slerp_base=str(tmp_path / "missing"), output_dir=str(tmp_path / "out"),
                     datasets=[], dada_check_rows="off")
    with pytest.raises(ConfigError, match="cannot read the layer count"):
        DadaPlugin().load_datasets(cfg)


def test_row_check(tiny_mixtral, dada_jsonl, dada_rows, caplog):
    from dada_plugin.axolotl.plugin import DadaPlugin

    datasets = [{"path": str(dada_jsonl), "ds_type": "json", "type": STRATEGY}]
    plugin = DadaPlugin()
    with pytest.raises(ConfigError) as info:
        plugin.load_datasets(plugin_cfg(tiny_mixtral, datasets=datasets, dada_check_rows="error"))
    assert "24 of 99 dada rows exceed 128 tokens: 4-fixture (175 tokens)" in str(info.value)
    with caplog.at_level(logging.WARNING):
        assert plugin.load_datasets(plugin_cfg(tiny_mixtral, datasets=datasets)) is None
    assert "24 of 99 dada rows exceed 128 tokens" in caplog.text
    # the packed recipe: rows limited by dada_max_row_tokens, not the packed sequence_len
    cfg = plugin_cfg(tiny_mixtral, datasets=datasets, dada_check_rows="error", dada_max_row_tokens=400)
    cfg.sequence_len = 2048
    assert plugin.load_datasets(cfg) is None
    assert plugin.load_datasets(plugin_cfg(tiny_mixtral, datasets=datasets, dada_check_rows="off")) is None


USER_RUN = """
import json, os, sys
before = dict(os.environ)
import dada_plugin.axolotl.plugin, dada_plugin.axolotl.strategy
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
from axolotl.cli.config import load_cfg
cfg = load_cfg(sys.argv[1])
print(json.dumps([changed, os.environ.get("WANDB_MODE"), os.environ.get("WANDB_PROJECT"), bool(cfg.use_wandb)]))
"""


def test_importing_dada_changes_no_environment_variable_and_wandb_keys_work(
        tiny_mixtral, tiny_mixtral_b, dada_jsonl, tiny_config, tmp_path):
    """In a user's shell (no offline variables, WANDB_MODE=online): importing the plugin and the
    strategy sets nothing, and axolotl train's own config loading (plugins registered, the
    wandb_* keys applied) keeps WANDB_MODE=online, so the shipped configs' commented wandb keys
    work when uncommented. Nothing is contacted (telemetry off, hub offline)."""
    import json
    import os
    import subprocess
    import sys

    from dada_plugin.offline import OFFLINE

    config = tiny_config(tmp_path, model=tiny_mixtral, merge_base=tiny_mixtral_b, data=dada_jsonl,
                         wandb_project="dada-test")
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE}
    env.update(AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", WANDB_MODE="online")
    proc = subprocess.run([sys.executable, "-c", USER_RUN, str(config)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[], "online", "dada-test", True]
