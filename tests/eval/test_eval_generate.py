"""dada eval's model mode against real HTTP servers on 127.0.0.1 (two stand-in models)."""

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import ConfigError
from dada_plugin.eval.generate import default_prompts, parse_model
from dada_plugin.testing import FakeLLMServer, dead_url


def sloppy(messages):
    return ("A shiver ran down her spine, a testament to the ministrations of the night. "
            "It was not just a story, but a tapestry of whispers.")


def plain(messages):
    prompt = messages[-1]["content"]
    return f"The cat sat. The dog ran. You asked: {prompt[:40]}"


def test_parse_model(tmp_path):
    assert parse_model("base=http://127.0.0.1:8000/v1") == (
        "base", "openai", {"model": "base", "base_urls": ["http://127.0.0.1:8000/v1"]})
    assert parse_model("dada=mistral/mixtral@http://h:1/v1") == (
        "dada", "openai", {"model": "mistral/mixtral", "base_urls": ["http://h:1/v1"]})
    (tmp_path / "config.json").write_text("{}")
    assert parse_model(f"merge={tmp_path}") == ("merge", "transformers", {"model": str(tmp_path)})
    with pytest.raises(ConfigError, match="neither an http"):
        parse_model("x=/no/such/folder")
    with pytest.raises(ConfigError, match="expected NAME=URL"):
        parse_model("justaname")


def test_default_prompts_fixed_subset():
    prompts = default_prompts()
    assert len(prompts) == 24 and prompts == default_prompts()
    assert prompts[12] == "Give three tips for staying healthy."


def test_model_mode_side_by_side_and_resumable(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"Write a story about lamp {i}." for i in range(8)))
    out = tmp_path / "eval"
    args = ["eval", "-o", str(out), "--prompts", str(prompts), "--no-charts", "--no-progress",
            "--bootstrap", "20", "--gen-seed", "3"]
    with FakeLLMServer(reply=sloppy) as a, FakeLLMServer(reply=plain) as b:
        models = ["--model", f"base={a.url}", "--model", f"dada={b.url}"]
        result = CliRunner().invoke(dada, args + models)
        assert result.exit_code == 0, result.output
        assert result.output == f"wrote {out / 'report.md'}\nwrote {out / 'report.json'}\n"
        assert (a.answered, b.answered) == (8, 8)
        assert {body["seed"] for body in a.bodies + b.bodies} == {3}
        assert {body["temperature"] for body in a.bodies + b.bodies} == {0.7}
        again = CliRunner().invoke(dada, args + models)
        assert again.exit_code == 0
        assert (a.answered, b.answered) == (8, 8)  # everything came from the cache
    report = json.loads((out / "report.json").read_text())
    base, dada_ = report["models"]["base"], report["models"]["dada"]
    assert base["sample_count"] == dada_["sample_count"] == 8

    def antislop(m):
        return m["metrics"]["antislop_phrase_matches_per_1k_words"]

    assert antislop(base) > 0 == antislop(dada_)
    rows = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    assert [r["model"] for r in rows] == ["base"] * 8 + ["dada"] * 8


def test_eval_needs_dataset_or_model(tmp_path):
    result = CliRunner().invoke(dada, ["eval", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "give either --dataset or at least one --model" in result.output


def test_a_model_with_no_samples_fails_and_the_others_are_reported(tmp_path):
    url = dead_url()
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"Write about lamp {i}." for i in range(4)))
    out = tmp_path / "eval"
    with FakeLLMServer(reply=plain) as live:
        result = CliRunner().invoke(dada, ["eval", "-o", str(out), "--prompts", str(prompts), "--no-charts",
                                           "--no-progress", "--bootstrap", "5", "--model", f"base={url}",
                                           "--model", f"dada={live.url}"])
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: no samples from base (base: no endpoint answered 3 pre-flight requests: {url} "
        f"(connection error (ConnectError))); the report of dada is in {out}\n")
    report = json.loads((out / "report.json").read_text())
    assert list(report["models"]) == ["dada"]
