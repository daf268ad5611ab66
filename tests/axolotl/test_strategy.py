"""The dada prompt strategy against axolotl's chat_template (mistral_v1) and mistral-common."""

from __future__ import annotations

import pytest

from dada_plugin.axolotl import STRATEGY


@pytest.fixture(scope="module")
def axolotl_cfg():
    from axolotl.utils.dict import DictDefault

    return DictDefault(sequence_len=2048, train_on_inputs=False, chat_template="mistral_v1")


def tokenize_all(kind: str, tokenizer, cfg, jsonl, ds_cfg: dict | None = None):
    """Rows of ``jsonl`` through axolotl's own strategy loader and dataset wrapper, in order
    (``ds_cfg``: a config's datasets entry; default: the plain entry of ``kind``)."""
    import axolotl.utils.data.wrappers  # noqa: F401  (first: axolotl.datasets alone is a circular import)
    from axolotl.datasets import TokenizedPromptDataset
    from axolotl.prompt_strategies import load
    from datasets import load_dataset

    if ds_cfg is None:
        ds_cfg = {"path": str(jsonl), "ds_type": "json", "type": kind}
        if kind == "chat_template":
            ds_cfg["chat_template"] = "mistral_v1"
    strategy = load(kind, tokenizer, cfg, ds_cfg)
    assert strategy is not None, f"axolotl could not load strategy {kind}"
    raw = load_dataset("json", data_files=str(jsonl), split="train")
    if kind == "chat_template":
        raw = raw.select_columns(["messages"])
    out = TokenizedPromptDataset(strategy, raw, process_count=1)
    return [(row["input_ids"], row["labels"]) for row in out]


@pytest.mark.parametrize("loader", ["axolotl", "legacy", "non-legacy"])
def test_equals_chat_template_mistral_v1_on_every_fixture_record(loader, tiny_mixtral, axolotl_cfg, dada_jsonl,
                                                                 dada_rows):
    """Same tokenizer on both sides: as axolotl loads it, and as transformers loads it with and
    without ``legacy`` (which splits ``<s>[INST]`` differently in one string)."""
    from transformers import AutoTokenizer

    if loader == "axolotl":
        from axolotl.loaders import load_tokenizer
        from axolotl.utils.dict import DictDefault

        tokenizer = load_tokenizer(DictDefault(base_model=str(tiny_mixtral), tokenizer_config=str(tiny_mixtral),
                                               sequence_len=2048))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(tiny_mixtral), legacy=loader == "legacy")
    ours = tokenize_all(STRATEGY, tokenizer, axolotl_cfg, dada_jsonl)
    theirs = tokenize_all("chat_template", tokenizer, axolotl_cfg, dada_jsonl)
    assert len(ours) == len(theirs) == len(dada_rows) == 99
    mismatched = [row["id"] for row, a, b in zip(dada_rows, ours, theirs) if a != b]
    assert mismatched == []


def test_layout_one_bos_eos_masked_prompt(hf_tokenizer, axolotl_cfg, dada_rows):
    from dada_plugin.axolotl.strategy import load

    strategy = load(hf_tokenizer, axolotl_cfg)
    for row in dada_rows:
        out = strategy.tokenize_prompt(row)
        ids, labels = out["input_ids"], out["labels"]
        assert ids.count(1) == 1 and ids[0] == 1
        assert ids[-1] == 2 and labels[-1] == 2 and ids.count(2) == 1
        assert len(ids) == len(labels) == len(out["attention_mask"])
        prompt = hf_tokenizer.encode(f"[INST] {row['question']} [/INST]", add_special_tokens=False)
        assert labels[: 1 + len(prompt)] == [-100] * (1 + len(prompt))
        assert all(l == i for l, i in zip(labels[2 + len(prompt):], ids[2 + len(prompt):]))


def test_train_on_inputs_trains_everything(hf_tokenizer, dada_rows):
    from axolotl.utils.dict import DictDefault

    from dada_plugin.axolotl.strategy import load

    out = load(hf_tokenizer, DictDefault(sequence_len=2048, train_on_inputs=True)).tokenize_prompt(dada_rows[0])
    assert out["labels"] == out["input_ids"]


def test_text_messages_and_multi_turn(hf_tokenizer, axolotl_cfg):
    from axolotl.prompt_strategies.chat_template import load as chat_load

    from dada_plugin.axolotl.strategy import load
    from dataset_builders.template import compile_turns

    turns = [("What is 2+2?", "4"), ("And 3+3?", "It is 6.")]
    messages = [m for q, a in turns for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
    strategy = load(hf_tokenizer, axolotl_cfg)
    from_text = strategy.tokenize_prompt({"text": compile_turns(turns)})
    from_messages = strategy.tokenize_prompt({"messages": messages})
    reference = chat_load(hf_tokenizer, axolotl_cfg, {"type": "chat_template", "chat_template": "mistral_v1"})
    ref = reference.tokenize_prompt({"messages": messages})
    assert from_text == from_messages
    assert (from_text["input_ids"], from_text["labels"]) == (ref["input_ids"], ref["labels"])
    assert from_text["input_ids"].count(1) == 1 and from_text["input_ids"].count(2) == 2


def test_bad_rows_are_named(hf_tokenizer, axolotl_cfg):
    from axolotl.prompt_tokenizers import InvalidDataException

    from dada_plugin.axolotl.strategy import load

    strategy = load(hf_tokenizer, axolotl_cfg)
    with pytest.raises(InvalidDataException, match="row r7"):
        strategy.tokenize_prompt({"id": "r7", "text": "just some text"})
    with pytest.raises(InvalidDataException, match="alternating"):
        strategy.tokenize_prompt({"id": "r8", "messages": [{"role": "assistant", "content": "hi"}]})


def test_long_rows_come_back_whole_and_axolotl_drops_them(hf_tokenizer, dada_rows):
    """No truncation in the strategy; axolotl's own filter drops rows over sequence_len."""
    from axolotl.utils.data.utils import handle_long_seq_in_dataset
    from axolotl.utils.dict import DictDefault
    from datasets import Dataset

    from dada_plugin.axolotl.strategy import load, row_lengths

    cfg = DictDefault(sequence_len=128, train_on_inputs=False, excess_length_strategy=None,
                      dataset_num_proc=1, is_preprocess=False, sample_packing=False,
                      min_sample_len=2, pretraining_dataset=None)
    strategy = load(hf_tokenizer, cfg)
    rows = [strategy.tokenize_prompt(row) for row in dada_rows]
    lengths = [len(r["input_ids"]) for r in rows]
    assert lengths == row_lengths(hf_tokenizer, dada_rows)
    assert max(lengths) > 128  # returned whole
    kept = handle_long_seq_in_dataset(Dataset.from_list(rows), 128, cfg)
    assert len(kept) == sum(1 for n in lengths if n <= 128)
    assert all(r["input_ids"][-1] == 2 for r in kept)  # every kept row still ends in EOS


def test_tokenizer_disagreements_on_the_fixture(hf_tokenizer, axolotl_cfg, dada_rows):
    """The counts documented in dada_plugin/axolotl/README.md."""
    from dada_plugin.axolotl.strategy import load
    from dataset_builders.tokens import load_tokenizer

    strategy = load(hf_tokenizer, axolotl_cfg)
    reference = load_tokenizer().encode_batch([[(r["question"], r["answer"])] for r in dada_rows])
    ours = [strategy.tokenize_prompt(r) for r in dada_rows]
    ids_differ = [r["id"] for r, o, m in zip(dada_rows, ours, reference) if o["input_ids"] != m]
    assert ids_differ == ["17-fixture"]  # "\n  factorial..." code: HF "▁▁"+"fact..." vs SentencePiece "▁"+"▁fact..."
    lone_space = []
    for r, o in zip(dada_rows, ours):
        start = 1 + len(hf_tokenizer.encode(f"[INST] {r['question']} [/INST]", add_special_tokens=False))
        if o["input_ids"][start] == 28705 and o["labels"][start] == -100:
            lone_space.append(r["id"])
    assert len(lone_space) == 5  # answers starting with a digit: "▁" + "1": the "▁" is masked
    assert all(r["answer"][:1].isdigit() for r in dada_rows if r["id"] in lone_space)


def test_portable_config_gives_the_strategys_ids_and_labels(tmp_path, tiny_mixtral, axolotl_cfg, dada_jsonl,
                                                             dada_rows):
    """``dada axolotl-config --portable``: no plugin, axolotl's chat_template over the messages
    column; axolotl validates it, and on every fixture row its input_ids and labels equal dada's
    strategy's (no disagreement found)."""
    from axolotl.loaders import load_tokenizer
    from click.testing import CliRunner

    from dada_plugin.axolotl.validate import validate_file
    from dada_plugin.cli import dada

    out = tmp_path / "portable.yml"
    result = CliRunner().invoke(dada, ["axolotl-config", "-o", str(out), "--portable", "--dataset",
                                       str(dada_jsonl), "--base-model", str(tiny_mixtral), "--merge-base", ""])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "dada_" not in text.replace("dada_jsonl", "") and "plugins" not in text
    cfg = validate_file(out)
    assert (cfg.chat_template, cfg.datasets[0]["type"], cfg.datasets[0]["field_messages"]) == (
        "mistral_v1", "chat_template", "messages")
    cfg.tokenizer_config = cfg.base_model  # what axolotl's normalize_config sets before loading
    tokenizer = load_tokenizer(cfg)
    theirs = tokenize_all("chat_template", tokenizer, cfg, dada_jsonl, dict(cfg.datasets[0]))
    ours = tokenize_all(STRATEGY, tokenizer, axolotl_cfg, dada_jsonl)
    assert len(ours) == len(theirs) == len(dada_rows) == 99
    assert [row["id"] for row, a, b in zip(dada_rows, ours, theirs) if a != b] == []
    assert all(-100 in labels and labels[-1] == 2 for _, labels in theirs)  # prompt masked, EOS trained
