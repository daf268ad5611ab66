"""Every built-in format with a Hugging Face tokenizer, end to end through axolotl's own
``axolotl preprocess``: `dada build --tokenizer MODEL` → `dada axolotl-config` → axolotl's
tokenised rows equal dada's ids and labels (the answer and its end of turn trained, everything
else masked) on a tiny model of a matching architecture (Qwen2: chatml, Llama: llama3, Gemma 3:
gemma3), each with a byte-level BPE tokenizer trained on the fixture."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.offline import offline_env

from .conftest import CONFIGS

FAMILIES = {"chatml": "qwen2", "llama3": "llama", "gemma3": "gemma3"}


@pytest.fixture(scope="module")
def preprocessed(tiny_dense, alpaca_path, tmp_path_factory):
    """{format: (model folder, dada.jsonl, axolotl's prepared rows)}: the three preprocess runs
    (about 18 s each) run side by side."""
    from datasets import load_from_disk

    root = tmp_path_factory.mktemp("preprocess")
    runs = {}
    for fmt, family in FAMILIES.items():
        model, work = tiny_dense(family), root / fmt
        build = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(work / "out"), "--backend", "none",
                                          "--tokenizer", str(model), "--max-tokens", "512", "--no-progress"])
        assert build.exit_code == 0, build.output
        config = work / "dada.yml"
        written = CliRunner().invoke(dada, [
            "axolotl-config", "-o", str(config), "--from", str(CONFIGS / "tiny-cpu-lora.yml"),
            "--dataset", str(work / "out" / "dada.jsonl"), "--base-model", str(model), "--merge-base", "",
            "--output-dir", str(work / "run"), "--prepared-path", str(work / "prepared"),
            "--set", "lora_target_parameters=null"])  # dense: no fused experts
        assert written.exit_code == 0, written.output
        assert "dada_slerp" not in config.read_text()  # --merge-base "": the --from file's partner dropped
        log = open(work / "preprocess.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "axolotl.cli.main", "preprocess", str(config)],
                                cwd=work, env=offline_env(), stdout=log, stderr=subprocess.STDOUT)
        runs[fmt] = (model, work, proc, log)
    out = {}
    for fmt, (model, work, proc, log) in runs.items():
        assert proc.wait(timeout=600) == 0, (work / "preprocess.log").read_text()[-3000:]
        log.close()
        [prepared] = [p for p in (work / "prepared").iterdir() if p.is_dir()]
        out[fmt] = (model, work / "out" / "dada.jsonl", load_from_disk(str(prepared)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(FAMILIES))
def test_axolotl_preprocess_gives_dadas_ids_and_labels(preprocessed, fmt):
    from dataset_builders.tokens import HFChatTokenizer

    model, jsonl, prepared = preprocessed[fmt]
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) > 80 and {r["chat_format"] for r in rows} == {fmt}
    tok = HFChatTokenizer(str(model))
    ours = [tok.encode_labelled([(r["question"], r["answer"])]) for r in rows]
    assert [len(ids) for ids, _ in ours] == [r["n_tokens"] for r in rows]  # the build counted these ids
    theirs = [(row["input_ids"], row["labels"]) for row in prepared]
    assert sorted(ours) == sorted(theirs)  # axolotl shuffles the rows
    eot = tok._tok.convert_tokens_to_ids(tok.format.eot_tokens[0])
    for ids, labels in ours:  # the prompt masked, the answer and its end of turn trained
        assert labels[0] == -100 and eot in labels and labels.count(eot) == 1
        trained = [i for i, label in zip(ids, labels) if label != -100]
        assert trained[-1] == eot and len(trained) < len(ids) - 4
