"""Fixtures for the axolotl tests: dada.jsonl rows compiled from the Alpaca fixture, and a
helper that turns a shipped config into a runnable one for the tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dada_plugin.io import write_jsonl

CONFIGS = Path(__file__).resolve().parents[2] / "axolotl_configs"


def alpaca_rows(records: list[dict]) -> list[dict]:
    """``dada.jsonl`` rows (``Record.output_row`` layout) from Alpaca records, in order;
    ``<nooutput>`` records skipped; answers as they are (no rewrite)."""
    from dataset_builders.records import Record
    from dataset_builders.template import compile_pair
    from dataset_builders.tokens import load_tokenizer

    recs = []
    for i, r in enumerate(records):
        if r["output"].strip().startswith("<nooutput>"):
            continue
        q = r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")
        recs.append(Record(id=f"{i}-fixture", index=i, question=q, original_answer=r["output"],
                           answer=r["output"], text=compile_pair(q, r["output"])))
    for rec, ids in zip(recs, load_tokenizer().encode_batch([[(r.question, r.answer)] for r in recs])):
        rec.n_tokens = len(ids)
    return [rec.output_row() for rec in recs]


@pytest.fixture(scope="session")
def dada_rows(alpaca_records) -> list[dict]:
    return alpaca_rows(alpaca_records)


@pytest.fixture(scope="session")
def dada_jsonl(dada_rows, tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "dada.jsonl", dada_rows)


@pytest.fixture(scope="session")
def hf_tokenizer(tiny_mixtral):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_mixtral), legacy=True)


def shipped(name: str) -> dict:
    return yaml.safe_load((CONFIGS / name).read_text(encoding="utf-8"))


def write_tiny_config(workdir: Path, *, model: Path, merge_base: Path, data: Path, **overrides) -> Path:
    """The shipped tiny CPU config with real paths, written to ``workdir/config.yml``."""
    cfg = shipped("tiny-cpu-lora.yml")
    cfg.update(base_model=str(model), dada_slerp_base=str(merge_base),
               output_dir=str(workdir / "out"), dataset_prepared_path=str(workdir / "prepared"))
    cfg["datasets"][0]["path"] = str(data)
    cfg.update(overrides)
    path = workdir / "config.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def tiny_config():
    """``tiny_config(workdir, model=..., merge_base=..., data=..., **overrides) -> config path``."""
    return write_tiny_config
