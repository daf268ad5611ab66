"""The whole chain on a current dense model with nothing Mixtral-specific in the way (the README's
"Other chat models" walk-through): a tiny Gemma 3 with a byte-level BPE tokenizer and no Mixtral
anything. `dada build --tokenizer MODEL` -> `dada axolotl-config` -> real `axolotl train` (the
plugin writes slerp.yml) -> `dada merge` -> `dada gguf` (llama.cpp's converter) -> `dada eval`
of base and merge served by llama.cpp."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada

from .axolotl.conftest import CONFIGS


def ok(args: list[str]) -> str:
    result = CliRunner().invoke(dada, args)
    assert result.exit_code == 0, f"dada {' '.join(args)}:\n{result.output}"
    return result.output


@pytest.mark.llamacpp
def test_gemma3_build_train_merge_gguf_eval(tiny_dense, alpaca_path, tmp_path):
    from gguf import GGUFReader

    from dada_plugin.axolotl.train import axolotl_train
    from dataset_builders.formats import get_format

    model, partner = tiny_dense("gemma3", 0), tiny_dense("gemma3", 1)
    ok(["build", str(alpaca_path), "-o", str(tmp_path / "data"), "--tokenizer", str(model), "--max-tokens", "512",
        "--no-progress", "--limit", "40"])
    rows = [json.loads(line) for line in (tmp_path / "data" / "dada.jsonl").read_text().splitlines()]
    assert rows and {r["chat_format"] for r in rows} == {"gemma3"}
    config = tmp_path / "dada.yml"
    ok(["axolotl-config", "-o", str(config), "--from", str(CONFIGS / "tiny-cpu-lora.yml"),
        "--dataset", str(tmp_path / "data" / "dada.jsonl"), "--base-model", str(model), "--merge-base", str(partner),
        "--output-dir", str(tmp_path / "run"), "--prepared-path", str(tmp_path / "prepared"),
        "--set", "lora_target_parameters=null"])
    result = axolotl_train(config, tmp_path / "train.log")
    assert len(result["losses"]) == 3 and all(math.isfinite(x) for x in result["losses"])
    assert f"dada: all {len(rows)} rows fit" in result["output"]

    ok(["merge", str(tmp_path / "run" / "slerp.yml"), str(tmp_path / "merged"), "--quiet"])
    for name, folder in (("merged", tmp_path / "merged"), ("base", model)):
        ok(["gguf", str(folder), "-o", str(tmp_path / f"{name}-Q8_0.gguf"), "--no-progress"])
    reader = GGUFReader(str(tmp_path / "merged-Q8_0.gguf"))
    field = reader.fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode() == get_format("gemma3").jinja()
    assert bytes(reader.fields["general.architecture"].parts[-1]).decode() == "gemma3"

    ok(["eval", "-o", str(tmp_path / "eval"), "--model", f"base={tmp_path / 'base-Q8_0.gguf'}",
        "--model", f"merge={tmp_path / 'merged-Q8_0.gguf'}", "--n-prompts", "2", "--max-new-tokens", "8",
        "--no-progress"])
    generations = [json.loads(line) for line in (tmp_path / "eval" / "generations.jsonl").read_text().splitlines()]
    assert sorted({g["model"] for g in generations}) == ["base", "merge"] and len(generations) == 4
    assert set(json.loads((tmp_path / "eval" / "report.json").read_text())["models"]) == {"base", "merge"}
