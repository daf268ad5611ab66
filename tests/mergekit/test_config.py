"""Config building, the checks mergekit misses (one exact line each), lint mode, CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import ConfigError
from dada_plugin.mergekit import config as C
from dada_plugin.mergekit import lint as L
from dada_plugin.mergekit.card import REDACTED, model_card, redact
from dada_plugin.mergekit.run import shard_size

from .conftest import SHIPPED

ADAPTER_SKIP = "adapter '/work/outputs/dada-qlora' not checked (not on this machine)"


@pytest.fixture(scope="module")
def good(tiny_mixtral_b, tiny_mixtral) -> dict:
    """The generated SLERP config of the two tiny Mixtrals (base = b)."""
    return C.build_slerp_config(str(tiny_mixtral_b), str(tiny_mixtral), t=0.5, dtype="float32")


def test_build_slerp_config(tiny_mixtral_b, tiny_mixtral, good):
    assert good == {
        "slices": [{"sources": [{"model": str(tiny_mixtral_b), "layer_range": [0, 2]},
                                {"model": str(tiny_mixtral), "layer_range": [0, 2]}]}],
        "merge_method": "slerp",
        "base_model": str(tiny_mixtral_b),
        "parameters": {"t": 0.5},
        "dtype": "float32",
        "tokenizer_source": "base",
    }
    assert L.check_merge_config(good) == []


def test_build_relative_paths_become_absolute_and_lora_folds(tiny_mixtral_b, tiny_mixtral,
                                                            tmp_path, monkeypatch):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    monkeypatch.chdir(tiny_mixtral.parent)
    cfg = C.build_slerp_config(f"../{tiny_mixtral_b.parent.name}/{tiny_mixtral_b.name}",
                               tiny_mixtral.name, lora=str(adapter), t_self_attn=[0, 1], t_mlp=0.25)
    assert cfg["base_model"] == str(tiny_mixtral_b)
    assert cfg["slices"][0]["sources"][1]["model"] == f"{tiny_mixtral}+{adapter}"
    assert cfg["parameters"]["t"] == [{"filter": "self_attn", "value": [0, 1]},
                                      {"filter": "mlp", "value": 0.25}, {"value": 0.5}]


def test_build_hub_ids_use_builtin_mixtral_numbers():
    cfg = C.build_slerp_config("Verdict-8x7B", "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert [s["layer_range"] for s in cfg["slices"][0]["sources"]] == [[0, 32], [0, 32]]
    assert cfg["base_model"] == "Verdict-8x7B"


def test_build_errors(tiny_mixtral):
    with pytest.raises(ConfigError, match="cannot read the layer count of org/unknown"):
        C.build_slerp_config("org/unknown", str(tiny_mixtral))
    with pytest.raises(ConfigError, match="layer counts differ: .* has 32, .* has 2"):
        C.build_slerp_config("Verdict-8x7B", str(tiny_mixtral))
    with pytest.raises(ConfigError, match="already has an adapter"):
        C.build_slerp_config(str(tiny_mixtral), f"{tiny_mixtral}+/x", lora="/y")


@pytest.mark.parametrize("text, value", [("0.5", 0.5), ("0,0.5,1", [0.0, 0.5, 1.0]),
                                         ("[0.2, 0.8]", [0.2, 0.8]), (0.3, 0.3)])
def test_parse_t(text, value):
    assert C.parse_t(text) == value


def test_parse_t_rejects_words():
    with pytest.raises(ConfigError, match="t: 'half' is not a number"):
        C.parse_t("half")


def _fake_model(folder: Path, arch: str) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": [arch], "num_hidden_layers": 2}))
    return folder


def _set(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


_DELETE = object()
SRC = ("slices", 0, "sources")
# (id, [(path, value)...] applied to the good config, expected problem lines). In paths and
# lines, {A} is the tiny model (slerp's other end), {B} the base, {D} an empty folder,
# {F} a fake adapter folder, {L} a fake Llama, {H} a Mixtral hub id, {R} {A} relative to cwd.
BAD = [
    ("missing base_model", [(("base_model",), _DELETE), (("tokenizer_source",), _DELETE)],
     ["slices.0: slerp needs a base_model (the t=0 end)"]),
    ("base not among sources", [(("base_model",), "{H}"), (("tokenizer_source",), _DELETE)],
     ["slices.0: base_model '{H}' is not among the sources"]),
    ("three models", [(("slices",), _DELETE),
                      (("models",), [{"model": "{B}"}, {"model": "{A}"}, {"model": "{H}"}])],
     ["models: slerp takes exactly 2 model(s), got 3",
      "models: layer counts differ ({B}: 2, {A}: 2, {H}: 32)"]),
    ("base added to two models", [(("slices",), _DELETE), (("models",), [{"model": "{A}"}, {"model": "{H}"}])],
     ["models: slerp takes exactly 2 model(s), got 3 (the base_model is added to the 2 listed)",
      "models: layer counts differ ({A}: 2, {H}: 32, {B}: 2)"]),
    ("t above 1", [(("parameters", "t"), 1.5)],
     ["parameters.t: 1.5 is outside [0, 1] (slerp would extrapolate)"]),
    ("t gradient below 0", [(("parameters", "t"), [0, -0.2, 1])],
     ["parameters.t: -0.2 is outside [0, 1] (slerp would extrapolate)"]),
    ("t not a number", [(("parameters", "t"), "half")], ["parameters.t: 'half' is not a number"]),
    ("t missing", [(("parameters",), _DELETE)], ["parameters: slerp needs 't'"]),
    ("unknown parameter", [(("parameters", "weight"), 0.5)],
     ["parameters.weight: slerp takes no parameter 'weight' (it takes: t)"]),
    ("old filter name", [(("parameters", "t"), [{"filter": "block_sparse_moe", "value": 0.2}, {"value": 0.5}])],
     ["parameters.t.0.filter: 'block_sparse_moe' matches no MixtralForCausalLM tensor, so the "
      "default value is used everywhere ('block_sparse_moe' is the transformers-4 name; use 'mlp')"]),
    ("filter without default", [(("parameters", "t"), [{"filter": "self_attn", "value": 0.2}])],
     ["parameters.t: no value for model.embed_tokens.weight, model.layers.0.input_layernorm.weight, "
      "model.layers.0.post_attention_layernorm.weight ... (add an entry without filter)"]),
    ("conditional typo", [(("parameters", "t"), [{"filters": "mlp", "value": 0.2}])],
     ["parameters.t.0.filters: unknown key (mergekit would silently ignore it)"]),
    ("layer range beyond the model", [(SRC + (0, "layer_range"), [0, 3]), (SRC + (1, "layer_range"), [0, 3])],
     ["slices.0.sources.0.layer_range: [0, 3] is out of range: {B} has 2 layers",
      "slices.0.sources.1.layer_range: [0, 3] is out of range: {A} has 2 layers"]),
    ("unequal layer spans", [(SRC + (1, "layer_range"), [1, 2])],
     ["slices.0: sources span different layer counts ([0, 2], [1, 2])"]),
    ("reversed layer range", [(SRC + (0, "layer_range"), [2, 1])],
     ["slices.0.sources.0.layer_range: Value error, [2, 1] must satisfy 0 <= start < end"
      .replace("Value error, ", "")]),
    ("unknown key", [(("parameter",), {"t": 0.5})],
     ["parameter: unknown key (mergekit would silently ignore it)"]),
    ("unknown key beside another problem", [(SRC + (0, "weight"), 1), (("parameters", "t"), 2)],
     ["slices.0.sources.0.weight: unknown key (mergekit would silently ignore it)",
      "parameters.t: 2 is outside [0, 1] (slerp would extrapolate)"]),
    ("unknown method", [(("merge_method",), "slurp")], None),  # checked by prefix below
    ("bad dtype", [(("dtype",), "bf16")],
     ["dtype: unknown dtype 'bf16' (use one of bfloat16, float16, float32, float64)"]),
    ("models and slices", [(("models",), [{"model": "{A}"}])],
     ["(top level): give exactly one of models, slices or modules (found: models, slices)"]),
    ("adapter without adapter_config", [(SRC + (1, "model"), "{A}+{D}")],
     ["slices.0.sources.1: adapter '{D}' has no adapter_config.json (not a PEFT adapter)"]),
    ("adapter given as a model", [(SRC + (1, "model"), "{F}")],
     ["slices.0.sources.1: {F} is a LoRA adapter, not a model: write BASE+{F}"]),
    ("two plus signs", [(SRC + (1, "model"), "{A}+{F}+{F}")],
     ["mergekit: Can't parse {A}+{F}+{F}"]),  # mergekit's own reference parser
    ("relative path that reads as a hub id", [(SRC + (1, "model"), "{R}")],
     ["slices.0.sources.1: model path '{R}' is a folder here but reads as a hub id (mergekit's "
      "card step would look it up on the hub); write ./{R} or an absolute path"]),
    ("relative path that is not here", [(SRC + (1, "model"), "./no-such-model")],
     ["slices.0.sources.1: model path './no-such-model' is relative and not a folder here; write it "
      "absolute (mergekit would look it up on the hub)"]),
    ("different architectures", [(SRC + (1, "model"), "{L}")],
     ["models have different architectures ({B}: MixtralForCausalLM, {L}: LlamaForCausalLM)"]),
    ("tokenizer_source base without base", [(("base_model",), _DELETE)],
     ["slices.0: slerp needs a base_model (the t=0 end)", "tokenizer_source: 'base' needs a base_model"]),
    ("mergekit's own schema", [(("tokenizer_source",), _DELETE), (("tokenizer",), {"pad_to_multiple_of": "eight"})],
     ["mergekit: tokenizer.pad_to_multiple_of: Input should be a valid integer, unable to parse "
      "string as an integer"]),
]


@pytest.fixture(scope="module")
def names(tiny_mixtral, tiny_mixtral_b, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    (root / "adapter").mkdir()
    (root / "adapter" / "adapter_config.json").write_text("{}")
    llama = _fake_model(root / "llama", "LlamaForCausalLM")
    return {"A": str(tiny_mixtral), "B": str(tiny_mixtral_b), "D": str(root / "empty"),
            "F": str(root / "adapter"), "L": str(llama), "H": "mistralai/Mixtral-8x7B-v0.1",
            "R": f"{tiny_mixtral.parent.name}/{tiny_mixtral.name}"}


def _fill(value, names):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize("changes, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_config_gives_its_specific_error(good, names, changes, expected, tiny_mixtral, monkeypatch):
    monkeypatch.chdir(tiny_mixtral.parent.parent)  # where {R} is a relative path to {A}
    cfg = copy.deepcopy(good)
    for path, value in changes:
        _set(cfg, path, _fill(value, names))
    if changes[0][1] == "slurp":
        problems = L.check_merge_config(cfg)
        assert len(problems) == 1
        assert problems[0].startswith("merge_method: unknown merge method 'slurp' (known: ")
        assert "slerp" in problems[0] and "passthrough" in problems[0]
        return
    assert L.check_merge_config(cfg) == _fill(expected, names)


def test_write_merge_config_validates_and_writes(good, tmp_path):
    path = C.write_merge_config(good, tmp_path / "slerp.yml")
    text = path.read_text()
    assert text.startswith("# mergekit config written by `dada merge-config`")
    assert "layer_range: [0, 2]" in text
    assert yaml.safe_load(text) == good
    bad = dict(good, dtype="fp8")
    with pytest.raises(ConfigError) as err:
        C.write_merge_config(bad, tmp_path / "bad.yml")
    assert err.value.problems == ["dtype: unknown dtype 'fp8' (use one of bfloat16, float16, float32, float64)"]
    assert not (tmp_path / "bad.yml").exists()


def test_shipped_configs_pass_check():
    assert [p.name for p in SHIPPED] == ["dada-lora-fold.yml", "gemma3-270m-dada-slerp.yml", "verdict-dada-slerp.yml"]
    for path in SHIPPED:
        report = L.lint_file(path)
        assert report.problems == []
        assert report.skipped and all("not checked (not on this machine)" in s for s in report.skipped)


def test_seed_config_is_the_seed_recipe():
    cfg = yaml.safe_load((SHIPPED[2]).read_text())
    assert cfg["merge_method"] == "slerp" and cfg["parameters"] == {"t": 0.5}
    assert cfg["base_model"] == "Verdict-8x7B"
    assert [s["model"] for s in cfg["slices"][0]["sources"]][0] == "Verdict-8x7B"


def test_hub_ids_without_known_numbers_are_skipped_not_failed():
    cfg = {"models": [{"model": "org/a"}, {"model": "org/b"}], "merge_method": "slerp",
           "base_model": "org/a", "parameters": {"t": [{"filter": "mlp", "value": 0.2}, {"value": 0.5}]}}
    report = L.inspect_config(cfg)
    assert report.problems == []
    assert report.skipped == [
        "models.0: layer count not checked (org/a: a hub id: no config.json readable offline)",
        "models.1: layer count not checked (org/b: a hub id: no config.json readable offline)",
        "parameters.t.0.filter 'mlp' not checked (no model readable offline)",
    ]


def test_strict_mode_fails_missing_local_paths():
    cfg = {"models": [{"model": "/nowhere/a"}], "merge_method": "passthrough"}
    assert L.inspect_config(cfg).problems == []
    assert L.inspect_config(cfg, strict=True).problems == ["models.0: model '/nowhere/a' does not exist"]


# ---------------------------------------------------------------------------- CLI

def test_cli_writes_config(tiny_mixtral_b, tiny_mixtral, tmp_path):
    out = tmp_path / "slerp.yml"
    result = CliRunner().invoke(dada, [
        "merge-config", "-o", str(out), "--base", str(tiny_mixtral_b), "--model", str(tiny_mixtral),
        "--t", "0.4", "--t-self-attn", "0.2,0.8", "--t-mlp", "0.7", "--dtype", "float32"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (slerp); run: dada merge {out} OUT\n"
    cfg = yaml.safe_load(out.read_text())
    assert cfg["parameters"] == {"t": [{"filter": "self_attn", "value": [0.2, 0.8]},
                                       {"filter": "mlp", "value": 0.7}, {"value": 0.4}]}
    assert cfg["dtype"] == "float32" and cfg["tokenizer_source"] == "base"


def test_cli_default_base_is_verdict(tmp_path):
    out = tmp_path / "seed.yml"
    result = CliRunner().invoke(dada, ["merge-config", "-o", str(out),
                                       "--model", "mistralai/Mixtral-8x7B-Instruct-v0.1"])
    assert result.exit_code == 0, result.output
    cfg = yaml.safe_load(out.read_text())
    assert cfg["base_model"] == "Verdict-8x7B" and cfg["parameters"] == {"t": 0.5}
    assert cfg["dtype"] == "bfloat16"


def test_cli_fold_config(tiny_mixtral, lora_adapter, tmp_path):
    out = tmp_path / "fold.yml"
    result = CliRunner().invoke(dada, ["merge-config", "-o", str(out), "--method", "fold",
                                       "--model", str(tiny_mixtral), "--lora", str(lora_adapter)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text()) == {
        "models": [{"model": f"{tiny_mixtral}+{lora_adapter}"}], "merge_method": "passthrough",
        "dtype": "bfloat16"}


def test_cli_refuses_bad_t_and_writes_nothing(tiny_mixtral_b, tiny_mixtral, tmp_path):
    out = tmp_path / "slerp.yml"
    result = CliRunner().invoke(dada, ["merge-config", "-o", str(out), "--base", str(tiny_mixtral_b),
                                       "--model", str(tiny_mixtral), "--t", "1.5"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: invalid merge settings:\n"
                             "  t: must be within [0, 1] (0 = the merge base, 1 = the trained model), got 1.5\n")
    assert not out.exists()


def test_cli_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(dada, ["merge-config", "-o", str(tmp_path / "x.yml")])
    assert result.exit_code == 2
    assert "writing a config needs -o/--output and --model" in result.stderr
    result = runner.invoke(dada, ["merge-config", "--check"])
    assert result.exit_code == 2 and "--check needs at least one FILE" in result.stderr


def test_cli_check_shipped_configs():
    result = CliRunner().invoke(dada, ["merge-config", "--check", *map(str, SHIPPED)])
    assert result.exit_code == 0, result.output
    fold, gemma, seed = SHIPPED
    assert result.stdout == (
        f"{fold}: ok (1 check(s) skipped)\n"
        f"  skipped: models.0: {ADAPTER_SKIP}\n"
        f"{gemma}: ok (1 check(s) skipped)\n"
        f"  skipped: slices.0.sources.1: {ADAPTER_SKIP.replace('dada-qlora', 'gemma3-dada-lora')}\n"
        f"{seed}: ok (1 check(s) skipped)\n"
        f"  skipped: slices.0.sources.1: {ADAPTER_SKIP}\n")


def test_cli_check_reports_each_failure_and_exits_1(tmp_path):
    bad = tmp_path / "community.yml"
    bad.write_text("models:\n  - model: mistralai/Mixtral-8x7B-v0.1\n  - model: org/thing\n"
                   "merge_method: slerp\nparameters:\n  t:\n    - filter: block_sparse_moe\n"
                   "      value: 0.3\n    - value: 1.2\ndtype: bf16\n")
    broken = tmp_path / "broken.yml"
    broken.write_text("models: [\n")
    result = CliRunner().invoke(dada, ["merge-config", "--check", str(bad), str(broken)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{bad}: 1 problem(s)\n"
        "  - dtype: unknown dtype 'bf16' (use one of bfloat16, float16, float32, float64)\n"
        f"{broken}: 1 problem(s)\n"
        "  - not valid YAML at line 2: expected the node content, but found '<stream end>'\n")
    bad.write_text(bad.read_text().replace("bf16", "bfloat16"))
    result = CliRunner().invoke(dada, ["merge-config", "--check", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{bad}: 3 problem(s) (1 check(s) skipped)\n"
        "  - models: slerp needs a base_model (the t=0 end)\n"
        "  - parameters.t.0.filter: 'block_sparse_moe' matches no MixtralForCausalLM tensor, so the "
        "default value is used everywhere ('block_sparse_moe' is the transformers-4 name; use 'mlp')\n"
        "  - parameters.t.1: 1.2 is outside [0, 1] (slerp would extrapolate)\n"
        "  skipped: models.1: layer count not checked (org/thing: a hub id: no config.json readable offline)\n")


# ---------------------------------------------------------------------------- card, shards

def test_card_layout_and_no_secrets(good, tiny_mixtral_b, tiny_mixtral):
    axolotl = ("base_model: mistralai/Mixtral-8x7B-Instruct-v0.1\nwandb_api_key: 0123456789abcdef\n"
               "hf_token: hf_abcdefghijklmnopqrstuvwxyz\npad_token: </s>\n"
               "note: key sk-abcdefghijklmnopqrstuvwxyz inline\n")
    card = model_card(good, C.dump_yaml(good), axolotl, title="dada-verdict")
    front = yaml.safe_load(card.split("---\n")[1])
    # local folders that record no Hub id are left out of base_model (as mergekit's card does)
    assert front == {"library_name": "transformers", "tags": ["mergekit", "merge", "axolotl", "dada"],
                     "base_model_relation": "merge"}
    assert "# dada-verdict\n" in card
    assert "merged using the [SLERP](https://en.wikipedia.org/wiki/Slerp) merge method" in card
    assert f"* {tiny_mixtral}\n" in card
    assert card.count("```yaml\n") == 2 and "merge_method: slerp" in card
    for secret in ("0123456789abcdef", "hf_abcdefghijklmnopqrstuvwxyz", "sk-abcdefghijklmnopqrstuvwxyz"):
        assert secret not in card
    assert f"wandb_api_key: {REDACTED}" in card and "pad_token: </s>" in card


def test_redact_keeps_tokenizer_settings():
    text = ("special_tokens:\n  pad_token: </s>\n  eos_token: </s>\nmax_tokens: 128\n"
            "tokenizer_type: LlamaTokenizer\nnotes: the token is fine here\n")
    assert redact(text) == text


def test_redact_keeps_layout():
    assert redact("a: 1\n  api_key: xyz\n  - token: abc\nuse_auth_token: true\n") == (
        f"a: 1\n  api_key: {REDACTED}\n  - token: {REDACTED}\nuse_auth_token: true\n")


@pytest.mark.parametrize("dtype, memory, size", [
    ("bfloat16", 24 * 10**9, "1000M"), ("float32", 24 * 10**9, "500M"),
    ("bfloat16", 512 * 10**9, "5000M"), ("bfloat16", 10**9, "100M")])
def test_shard_size_follows_ram(dtype, memory, size):
    assert shard_size(dtype, memory) == size


@pytest.mark.parametrize("text, secret", [
    ("wandb_api_key: |\n  s3cret-block-value\nlr: 1\n", "s3cret-block-value"),
    ("datasets:\n  - path: https://user:s3cretpass@host/data.json\n", "s3cretpass"),
    ("data_files: {token: abc123456, split: train}\n", "abc123456"),
    ("headers: {Authorization: Bearer abcdefghij123456}\n", "abcdefghij123456"),
    ("request:\n  headers:\n    Authorization: Bearer abcdefghij123456\n", "abcdefghij123456"),
    ("wandb_api_token: wtok123456789\n", "wtok123456789"),
    ("my_private_key: '-----BEGIN KEY-----'\n", "BEGIN KEY"),
    ("notes: |\n  connect with password=hunter2 to the db\n", "hunter2"),
    ("args: [\"--token\", \"abcsecretvalue\", \"--epochs\", \"3\"]\n", "abcsecretvalue"),
    ("cmd: train --hf-token=abcsecretvalue --lr 2e-6\n", "abcsecretvalue"),
    ("hub_token: &t s3cretvalue\nother: *t\n", "s3cretvalue"),
    ("wandb_key: abcdef123456\naccess_key: qwerty98765\n", "abcdef123456"),
])
def test_redact_any_yaml_style(text, secret):
    import yaml

    out = redact(text)
    assert secret not in out
    assert yaml.safe_load(out) is not None  # still YAML


def test_adapter_folded_into_another_model_is_refused(lora_adapter, tiny_mixtral, tiny_mixtral_b):
    assert L.check_merge_config(C.build_lora_fold_config(str(tiny_mixtral), lora=str(lora_adapter),
                                                     dtype="float32")) == []
    problems = L.check_merge_config(C.build_lora_fold_config(str(tiny_mixtral_b), lora=str(lora_adapter),
                                                         dtype="float32"))
    assert problems == [f"models.0: adapter '{lora_adapter}' was trained on '{tiny_mixtral}', not on "
                        f"'{tiny_mixtral_b}' (folding it elsewhere merges silently wrong)"]


def test_cli_check_gives_one_verdict_per_file_and_names_duplicate_keys(tmp_path):
    latin = tmp_path / "latin1.yml"
    latin.write_bytes("merge_method: slerp  # é\n".encode("latin-1"))
    deep = tmp_path / "deep.yml"
    deep.write_text("models: " + "[" * 50_000 + "]" * 50_000 + "\n")
    dup = tmp_path / "dup.yml"
    dup.write_text("models:\n  - model: org/a\nmerge_method: passthrough\ndtype: float32\ndtype: bfloat16\n")
    result = CliRunner().invoke(dada, ["merge-config", "--check", str(latin), str(deep), str(dup),
                                       *map(str, SHIPPED)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        f"{latin}: 1 problem(s)", "  - not UTF-8 text (bad byte at offset 23)",
        f"{deep}: 1 problem(s)", "  - not valid YAML: nested too deeply",
        f"{dup}: 1 problem(s)", "  - not valid YAML at line 5: duplicate key 'dtype' (first on line 4)"]
    assert sum(line.endswith("ok (1 check(s) skipped)") for line in lines) == len(SHIPPED)


def test_adapter_revisions_are_read_as_mergekit_reads_them():
    from dada_plugin.mergekit.models import absolute, paths

    assert paths("org/model@v1+org/adapter@v2") == ("org/model", "org/adapter")
    assert absolute("org/model@v1+org/adapter@v2") == "org/model@v1+org/adapter@v2"
    assert L.unknown_keys({"models": [{"model": "a", "weight": 1}], "merge_method": "slerp",
                           "parameters": {"t": [{"filter": "mlp", "value": 0.2, "x": 1}, {"value": 0.5}]}},
                          __import__("mergekit.config").config.MergeConfiguration) == [
        ("models", 0, "weight"), ("parameters", "t", 0, "x")]


def test_card_is_hub_valid(tmp_path):
    """huggingface_hub reads the card back: Hub ids only in base_model (given, recorded in the
    folder's config, or spelt by its Hub cache path), the training data's licence and sources,
    the merged models' licences named, a title from the models."""
    import json

    from huggingface_hub import DatasetCard, DatasetCardData, ModelCard

    cached = tmp_path / "hub" / "models--Envoid--Verdict-8x7B" / "snapshots" / "abc123"
    recorded, unknown = tmp_path / "itr", tmp_path / "scratch-model"
    for folder, name in ((cached, str(cached)), (recorded, "Envoid/Mixtral-Instruct-ITR-8x7B"),
                         (unknown, str(unknown))):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"_name_or_path": name}))
    (recorded / "README.md").write_text("---\nlicense: apache-2.0\n---\n# ITR\n")
    build = tmp_path / "out"
    build.mkdir()
    DatasetCard.from_template(DatasetCardData(license="cc-by-nc-4.0", pretty_name="DADA Alpaca",
                                              source_datasets=["tatsu-lab/stanford_alpaca"])).save(build / "README.md")
    axolotl = f"base_model: {recorded}\ndatasets:\n  - path: {build}/dada.jsonl\n"
    cfg = {"merge_method": "slerp", "base_model": str(cached), "dtype": "bfloat16",
           "models": [{"model": str(cached)}, {"model": f"{recorded}+{tmp_path / 'adapter'}"}],
           "parameters": {"t": 0.5}}
    path = tmp_path / "README.md"
    path.write_text(model_card(cfg, C.dump_yaml(cfg), axolotl, dataset_ids=("me/dada-alpaca",)))
    card = ModelCard.load(path)
    assert card.data.base_model == ["Envoid/Verdict-8x7B", "Envoid/Mixtral-Instruct-ITR-8x7B"]
    assert card.data.base_model_relation == "merge"
    assert card.data.license == "cc-by-nc-4.0"
    assert card.data.datasets == ["me/dada-alpaca", "tatsu-lab/stanford_alpaca"]
    assert card.text.startswith("# Verdict-8x7B × Mixtral-Instruct-ITR-8x7B + adapter (SLERP merge)\n")
    assert "released under **cc-by-nc-4.0** (the licence of its training data, DADA Alpaca)" in card.text
    assert "* Envoid/Mixtral-Instruct-ITR-8x7B: apache-2.0 (from its card)" in card.text
    assert "* Envoid/Verdict-8x7B: not known here; see the model's own page" in card.text
    assert "with Envoid/Verdict-8x7B as the base (t = 0)" in card.text
    # a folder that records no id is left out, unless the user names it; --license wins
    cfg["models"][1] = {"model": str(unknown)}
    text = model_card(cfg, C.dump_yaml(cfg), None, base_model_ids={str(unknown): "me/scratch"})
    path.write_text(text)
    assert ModelCard.load(path).data.base_model == ["Envoid/Verdict-8x7B", "me/scratch"]
    path.write_text(model_card(cfg, C.dump_yaml(cfg), None, license="apache-2.0"))
    card = ModelCard.load(path)
    assert (card.data.base_model, card.data.license, card.data.datasets) == (["Envoid/Verdict-8x7B"],
                                                                             "apache-2.0", None)
    assert str(unknown) not in yaml.safe_load(path.read_text().split("---\n")[1]).values()
    assert "released under **apache-2.0** (given with --license)" in card.text


def test_relative_paths_to_folders_here_are_accepted(good, names, tiny_mixtral, monkeypatch):
    """mergekit uses a relative folder that exists (against the working directory): ./name/sub
    and a one-part folder name pass; name/sub is refused above (its card step reads a hub id)."""
    monkeypatch.chdir(tiny_mixtral.parent.parent)
    for ref in (f"./{names['R']}", f"{tiny_mixtral.parent.name}/../{names['R']}"):
        cfg = copy.deepcopy(good)
        _set(cfg, SRC + (1, "model"), ref)
        assert L.check_merge_config(cfg) == [], ref
    monkeypatch.chdir(tiny_mixtral.parent)
    cfg = copy.deepcopy(good)
    _set(cfg, SRC + (1, "model"), tiny_mixtral.name)  # "itr", a folder in the working directory
    assert L.check_merge_config(cfg) == []


MOE = """\
base_model: {base}
gate_mode: hidden
dtype: bfloat16
experts_per_token: 2
experts:
  - source_model: {a}
    positive_prompts: ["write a story"]
  - source_model: {b}
    positive_prompts: ["solve this equation"]
"""


def test_check_recognises_a_mergekit_moe_config(tmp_path, tiny_mixtral, tiny_mixtral_b):
    good = tmp_path / "moe.yml"
    good.write_text(MOE.format(base=tiny_mixtral, a=tiny_mixtral, b=tiny_mixtral_b))
    result = CliRunner().invoke(dada, ["merge-config", "--check", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output == (f"{good}: ok\n  note: a mergekit-moe config (checked against mergekit's "
                             "MoEMergeConfig; run it with mergekit-moe, not mergekit-yaml or dada merge)\n")
    bad = tmp_path / "bad-moe.yml"
    bad.write_text(MOE.format(base=tiny_mixtral, a=tiny_mixtral, b="./nowhere")
                   .replace("gate_mode: hidden", "gate_mode: hiden").replace("experts_per_token: 2",
                                                                              "experts_per_token: 3\nrouter: x")
                   .replace('    positive_prompts: ["solve this equation"]\n', ""))
    result = CliRunner().invoke(dada, ["merge-config", "--check", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}: 4 problem(s)",
        "  - router: unknown key (mergekit would silently ignore it)",
        "  - gate_mode: unknown 'hiden' (one of hidden, cheap_embed, random, uniform_random)",
        "  - experts_per_token: 3 must be between 1 and the number of experts (2)",
        "  - experts.1.source_model: model path './nowhere' is relative and not a folder here; write it "
        "absolute (mergekit would look it up on the hub)",
        "  note: a mergekit-moe config (checked against mergekit's MoEMergeConfig; run it with "
        "mergekit-moe, not mergekit-yaml or dada merge)"]
    assert L.inspect_config(yaml.safe_load(good.read_text()), strict=True).problems == [
        "(top level): a mergekit-moe config (checked against mergekit's MoEMergeConfig; run it with "
        "mergekit-moe, not mergekit-yaml or dada merge)"]
