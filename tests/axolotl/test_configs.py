"""Shipped and generated axolotl configs: validated by axolotl, bad ones give readable errors;
``dada axolotl-config`` and ``dada plan``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import ConfigError
from dataset_builders.formats import get_format

from .conftest import CONFIGS

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yml"))
SEED_ATTENTION = 436_207_616
SEED_ATTENTION_EXPERTS = 7_147_094_016


def test_three_configs_are_shipped():
    assert {"mixtral-itr-dada-qlora.yml", "mixtral-itr-dada-qlora-fsdp.yml", "tiny-cpu-lora.yml"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_validates(name):
    from dada_plugin.axolotl.validate import validate_file

    cfg = validate_file(CONFIGS / name)
    assert cfg.datasets[0]["type"] == ("chat_template" if name.startswith("gemma3") else "dada_plugin.axolotl.strategy")
    assert cfg.dada_max_row_tokens is not None or name.startswith("tiny")


@pytest.mark.parametrize("name, argv", [
    ("mixtral-itr-dada-qlora.yml", []),
    ("mixtral-itr-dada-qlora-fsdp.yml", ["--targets", "attention+experts", "--multi-gpu", "fsdp",
                                         "--output-dir", "runs/dada-qlora-fsdp"]),
    ("gemma3-270m-dada-lora.yml", ["--chat-format", "gemma3", "--base-model", "google/gemma-3-270m", "--adapter",
                                   "lora", "--lora-r", "64", "--lora-alpha", "64", "--merge-base",
                                   "google/gemma-3-270m-it", "--output-dir", "/work/outputs/gemma3-dada-lora",
                                   "--dataset", "out/dada.jsonl"]),
])
def test_shipped_gpu_configs_are_what_axolotl_config_writes(tmp_path, name, argv):
    out = tmp_path / name
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), *argv])
    assert result.exit_code == 0, result.output
    assert out.read_text() == (CONFIGS / name).read_text(), f"regenerate {name}: the recipe changed"


def test_axolotl_config_defaults_are_the_seed(tmp_path):
    import yaml

    out = tmp_path / "dada.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--dataset", "x/dada.jsonl"])
    assert result.exit_code == 0, result.output
    assert f"{SEED_ATTENTION:,} trainable parameters" in result.output
    cfg = yaml.safe_load(out.read_text())
    assert {k: cfg[k] for k in ("adapter", "load_in_4bit", "lora_r", "lora_alpha", "num_epochs",
                                "learning_rate", "lr_scheduler", "train_on_inputs", "dada_max_row_tokens")} == {
        "adapter": "qlora", "load_in_4bit": True, "lora_r": 512, "lora_alpha": 512, "num_epochs": 4,
        "learning_rate": 2e-6, "lr_scheduler": "linear", "train_on_inputs": False, "dada_max_row_tokens": 128}
    assert cfg["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert "lora_target_parameters" not in cfg
    assert cfg["datasets"][0]["path"] == "x/dada.jsonl"

    unpacked = tmp_path / "seed.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(unpacked), "--pack-len", "0",
                                       "--targets", "attention+experts"])
    assert result.exit_code == 0, result.output
    assert f"{SEED_ATTENTION_EXPERTS:,} trainable parameters" in result.output
    cfg = yaml.safe_load(unpacked.read_text())
    assert cfg["sequence_len"] == 128 and cfg["sample_packing"] is False
    assert cfg["lora_target_parameters"] == ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"]


def test_plan_json_seed_numbers():
    runner = CliRunner()
    for targets, expected in (("attention", SEED_ATTENTION), ("attention+experts", SEED_ATTENTION_EXPERTS)):
        result = runner.invoke(dada, ["plan", "--model", "mixtral-8x7b", "--lora-r", "512",
                                      "--targets", targets, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["trainable_params"] == expected and isinstance(data["trainable_params"], int)
        assert data["total_params"] == 46_702_792_704
        assert isinstance(data["memory_gb"], float) and data["memory_gb"] > 24
    no_quant = json.loads(runner.invoke(dada, ["plan", "--no-quantize-experts", "--json"]).stdout)
    assert no_quant["memory_gb"] > 90  # 16-bit experts alone are ~90 GB


def test_plan_from_a_config_json_is_exact(tiny_mixtral):
    """Counted on the meta device, equal to what peft reports on the real tiny model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from dada_plugin.axolotl import TARGETS
    from dada_plugin.axolotl.plan import make_plan

    for targets, (modules, params) in TARGETS.items():
        plan = make_plan(str(tiny_mixtral / "config.json"), lora_r=8, targets=targets)
        model = AutoModelForCausalLM.from_pretrained(str(tiny_mixtral))
        assert plan.total_params == sum(p.numel() for p in model.parameters())
        peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=8, target_modules=list(modules),
                                                      target_parameters=list(params) or None))
        assert plan.trainable_params == sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert make_plan(str(tiny_mixtral), lora_r=8, targets="attention+experts").trainable_params == 39_936


@pytest.mark.parametrize("family", ["gemma3", "llama", "mistral", "qwen2", "qwen3"])
def test_plan_reads_any_dense_config(family, tiny_dense):
    """dada plan on each dense family's config.json: the exact counts peft gives; expert targets
    refused in one line."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from dada_plugin.axolotl import TARGETS
    from dada_plugin.axolotl.plan import make_plan

    folder = tiny_dense(family)
    plan = make_plan(str(folder), lora_r=8, targets="attention")
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    assert plan.total_params == sum(p.numel() for p in model.parameters())
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=8, target_modules=list(TARGETS["attention"][0])))
    assert plan.trainable_params == sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    with pytest.raises(ConfigError, match="has no fused expert parameters"):
        make_plan(str(folder), lora_r=8, targets="attention+experts")


def _bad(base: dict, **changes) -> str:
    from dada_plugin.axolotl.validate import validate_axolotl_config

    cfg = {**base, **changes}
    with pytest.raises(ConfigError) as info:
        validate_axolotl_config(cfg, source="bad.yml")
    return str(info.value)


@pytest.fixture
def tiny_raw():
    from .conftest import shipped

    return shipped("tiny-cpu-lora.yml")


def test_bad_configs_give_one_readable_line_per_field(tiny_raw):
    assert _bad(tiny_raw, lora_r="abc") == (
        "bad.yml: lora_r: Input should be a valid integer, unable to parse string as an integer")
    assert "Require cfg.load_in_4bit to be True for qlora" in _bad(tiny_raw, adapter="qlora")
    msg = _bad(tiny_raw, datasets=[{"path": "x.jsonl", "ds_type": "json", "type": "chat_template",
                                    "chat_template": "mistral_v99"}])
    assert "datasets.0.chat_template: unknown chat template 'mistral_v99'" in msg
    assert _bad(tiny_raw, dada_slerp_t=1.5) == (
        "bad.yml: dada_slerp_t: must be within [0, 1] (0 = the merge base, 1 = the trained model), got 1.5")
    assert "dada_max_row_tokens: must be at least 2" in _bad(tiny_raw, dada_max_row_tokens=1)
    assert "unknown dada plugin key(s): dada_slerp_tt" in _bad(tiny_raw, dada_slerp_tt=0.3)
    assert "truncate would cut dada answers" in _bad(tiny_raw, excess_length_strategy="truncate")
    assert "lora_alpah: unknown axolotl key" in _bad(tiny_raw, lora_alpah=8)
    several = _bad(tiny_raw, lora_r="abc", lora_alpah=8)
    assert several.count("\n  - ") == 2  # one line per problem


def test_axolotl_config_check(tmp_path, tiny_raw):
    import yaml

    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({**tiny_raw, "lora_r": "abc"}))
    good = CONFIGS / "tiny-cpu-lora.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "--check", str(good), str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{good}: ok", f"{bad}: 1 problem(s)",
        "  - lora_r: Input should be a valid integer, unable to parse string as an integer"]


def test_plan_errors_are_readable(tmp_path):
    import json as _json

    dense = tmp_path / "dense"
    dense.mkdir()
    (dense / "config.json").write_text(_json.dumps({
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32000}))
    runner = CliRunner()
    ok = runner.invoke(dada, ["plan", "--model", str(dense), "--lora-r", "8", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["trainable_params"] == 2 * 8 * (128 + 96 + 96 + 128)
    result = runner.invoke(dada, ["plan", "--model", str(dense), "--targets", "attention+experts"])
    assert result.exit_code == 1
    assert "llama has no fused expert parameters (mlp.experts.gate_up_proj, mlp.experts.down_proj)" in result.output
    (tmp_path / "odd.json").write_text('{"model_type": "no-such-model"}')
    result = runner.invoke(dada, ["plan", "--model", str(tmp_path / "odd.json")])
    assert result.exit_code == 1 and "cannot build a 'no-such-model' config" in result.output
    assert len(result.output) < 300
    result = runner.invoke(dada, ["plan", "--model", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no config.json" in result.output


def test_plan_config_refuses_what_it_cannot_plan(tmp_path):
    from click.testing import CliRunner

    from dada_plugin.cli import dada

    llama = tmp_path / "llama.yml"
    llama.write_text("base_model: meta-llama/Llama-3-8B\nadapter: lora\nlora_r: 16\n")
    result = CliRunner().invoke(dada, ["plan", "--config", str(llama)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {llama}: cannot read the architecture of base_model "
                             "'meta-llama/Llama-3-8B' offline; pass --model PATH (a config.json or model folder)\n")
    no_r = tmp_path / "no_r.yml"
    no_r.write_text("base_model: mistralai/Mixtral-8x7B-v0.1\nadapter: qlora\n")
    result = CliRunner().invoke(dada, ["plan", "--config", str(no_r)])
    assert (result.exit_code, result.output) == (1, "Error: lora_r: a LoRA recipe needs an integer lora_r to plan\n")


def test_axolotl_config_refuses_unsafe_options_and_foreign_files(tmp_path):
    out = tmp_path / "dada.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--lr-scheduler", "linear; rm -rf /",
                                       "--micro-batch-size", "0"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  lr_scheduler: unknown schedule 'linear; rm -rf /'; one of: linear, cosine, cosine_with_restarts, "
        "polynomial, constant, constant_with_warmup, inverse_sqrt, reduce_lr_on_plateau, cosine_with_min_lr, "
        "cosine_warmup_with_min_lr, warmup_stable_decay, one_cycle, rex",
        "  micro_batch_size: must be a positive integer, got 0"]
    assert not out.exists()
    out.write_text("my own notes\n")
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out)])
    assert result.output == f"Error: {out}: exists and dada did not write it (or it was changed since); pass --force to replace it\n"
    assert out.read_text() == "my own notes\n"
    assert CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--force"]).exit_code == 0
    assert CliRunner().invoke(dada, ["axolotl-config", "-o", str(out)]).exit_code == 0  # its own file now
    out.write_text(out.read_text().replace("num_epochs: 4", "num_epochs: 3"))  # tuned by hand
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out)])
    assert result.exit_code == 1 and "(or it was changed since)" in result.output
    assert "num_epochs: 3" in out.read_text()


def test_axolotl_config_never_writes_into_the_model_it_reads(tmp_path, tiny_mixtral):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_mixtral, model)
    before = (model / "config.json").read_text()
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(model / "config.json"), "--base-model",
                                       str(model), "--force"])
    assert result.exit_code == 1
    assert result.output == (f"Error: {model / 'config.json'}: lies inside the base model ({model}); "
                             "write it somewhere else\n")
    assert (model / "config.json").read_text() == before


def test_check_warns_on_a_base_model_that_is_no_hub_id(tmp_path, tiny_raw):
    """A one-part base_model (the seed's placeholder) is a warning, not a failure; an ORG/NAME id
    or an existing folder is fine."""
    import yaml

    seed = CONFIGS / "mixtral-itr-dada-qlora.yml"
    assert "base_model: Mixtral-Instruct-ITR-8x7B  # PLACEHOLDER" in seed.read_text()
    hub = tmp_path / "hub.yml"
    hub.write_text(yaml.safe_dump({**tiny_raw, "base_model": "mistralai/Mixtral-8x7B-Instruct-v0.1"}))
    result = CliRunner().invoke(dada, ["axolotl-config", "--check", str(seed), str(hub)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{seed}: ok (1 warning(s))",
        "  warning: base_model: 'Mixtral-Instruct-ITR-8x7B' is neither a local folder here nor an ORG/NAME "
        "Hub id; axolotl will look it up on the Hub (write the model's full Hub id, or a local folder)",
        f"{hub}: ok"]


def test_seed_config_keys_for_a_real_run():
    """Closer to axolotl's own examples without touching the seed's optimisation: a prepared-data
    folder, and the Hub / W&B keys left commented for the user."""
    import yaml

    text = (CONFIGS / "mixtral-itr-dada-qlora.yml").read_text()
    cfg = yaml.safe_load(text)
    assert cfg["dataset_prepared_path"] == "last_run_prepared"
    assert not {"hub_model_id", "wandb_project"} & set(cfg)
    for line in ("# hub_model_id: YOUR-NAME/mixtral-itr-dada-qlora", "# wandb_project: dada",
                 "# wandb_entity: YOUR-TEAM", "# wandb_name: mixtral-itr-dada-qlora"):
        assert f"\n{line}  # " in text


def test_portable_from_a_base_config(tmp_path):
    """--portable --from: the user's config loses the plugin and its keys, gains the portable
    data keys, and still validates."""
    import yaml

    from dada_plugin.axolotl.validate import validate_file

    out = tmp_path / "p.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--portable", "--from",
                                       str(CONFIGS / "mixtral-itr-dada-qlora.yml"), "--dataset", "d/dada.jsonl"])
    assert result.exit_code == 0, result.output
    cfg = yaml.safe_load(out.read_text())
    assert not [k for k in cfg if k.startswith("dada_") or k == "plugins"]
    assert cfg["datasets"] == [{"path": "d/dada.jsonl", "ds_type": "json", "type": "chat_template",
                                "field_messages": "messages", "roles_to_train": ["assistant"],
                                "train_on_eos": "turn"}]
    assert cfg["chat_template"] == "mistral_v1" and cfg["lora_r"] == 512
    validate_file(out)


@pytest.mark.parametrize("name, eot", [("chatml", ["<|im_end|>"]), ("gemma3", ["<end_of_turn>"]),
                                       ("llama3", ["<|eot_id|>"]), ("mistral-tekken", ["</s>"]),
                                       ("mistral-v7", ["</s>"])])
def test_rows_in_another_format_train_with_axolotls_template_of_it(tmp_path, name, eot):
    """dada.jsonl rows that say their format get axolotl's chat_template type with that format's
    template and end-of-turn tokens (Gemma's <end_of_turn> is not in axolotl's defaults), the
    plugin kept for the row check and the SLERP recipe; validated by axolotl."""
    import yaml

    data = tmp_path / "dada.jsonl"
    data.write_text(json.dumps({"id": "0-x", "question": "q", "answer": "a", "text": "t", "n_tokens": 5,
                                "messages": [], "chat_format": name}) + "\n")
    out = tmp_path / "dada.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--dataset", str(data)])
    assert result.exit_code == 0, result.output
    cfg = yaml.safe_load(out.read_text())
    fmt = get_format(name)
    assert (cfg["chat_template"], cfg["eot_tokens"]) == (fmt.axolotl or "jinja", eot)
    assert cfg.get("chat_template_jinja") == (None if fmt.axolotl else fmt.jinja())  # axolotl has none of v7
    assert cfg["datasets"] == [{"path": str(data), "ds_type": "json", "type": "chat_template",
                                "field_messages": "messages", "roles_to_train": ["assistant"],
                                "train_on_eos": "turn"}]
    assert cfg["plugins"] == ["dada_plugin.axolotl.plugin.DadaPlugin"] and cfg["dada_max_row_tokens"] == 128


def test_rows_built_for_another_tokenizer_are_refused_before_training(tmp_path):
    from axolotl.utils.dict import DictDefault

    from dada_plugin.axolotl.plugin import long_rows
    from dataset_builders.formats import get_format
    from dataset_builders.tokens import write_hf_tokenizer

    turns = [("Why is the sky blue?", "Air bounces blue light.")]
    row = {"id": "0-x", "question": turns[0][0], "answer": turns[0][1], "chat_format": "chatml",
           "text": get_format("chatml").render(turns),
           "messages": [{"role": "user", "content": turns[0][0]}, {"role": "assistant", "content": turns[0][1]}]}
    data = tmp_path / "dada.jsonl"
    data.write_text(json.dumps(row) + "\n")
    cfg = DictDefault(datasets=[{"path": str(data), "type": "chat_template"}], sequence_len=128)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(write_hf_tokenizer(tmp_path / "tok")))
    tok.chat_template = get_format("chatml").jinja()
    assert long_rows(cfg, tok)[0] == 1  # the same format: counted
    tok.chat_template = get_format("llama3").jinja()
    with pytest.raises(ConfigError, match="the rows were built in the chatml format, but the training "
                                          "tokenizer's chat template renders them otherwise"):
        long_rows(cfg, tok)
