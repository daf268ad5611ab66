import json
import os

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada

EXPECTED_SUMMARY = """\
stage          in     out  rejected
------------------------------------------------
load          100      99  nooutput 1
rewrite        99      99  -
clean          99      99  -
filter         99      75  too_long 24
------------------------------------------------
"""


def test_build_none_backend_summary_and_outputs(alpaca_path, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(EXPECTED_SUMMARY)
    assert result.output.endswith(f"wrote {out}/dada.jsonl (75 sequences)\n")
    # no rewrite, so no grades.png (nothing was simplified)
    assert sorted(p.name for p in out.iterdir()) == [".dada.json", "README.md", "dada.jsonl", "rejected.jsonl",
                                                     "review.md", "stats.json"]
    rows = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
    assert len(rows) == 75
    row = rows[0]
    assert list(row) == ["id", "question", "answer", "original_answer", "text", "n_tokens", "messages", "chat_format"]
    assert row["chat_format"] == "mistral-v1"
    assert row["text"] == f"<s>[INST] {row['question']} [/INST] {row['answer']}</s>"
    assert row["messages"] == [{"role": "user", "content": row["question"]},
                               {"role": "assistant", "content": row["answer"]}]
    assert max(r["n_tokens"] for r in rows) <= 128
    stats = json.loads((out / "stats.json").read_text())
    assert stats["token_lengths"]["over_max_tokens"] == 24
    assert sum(stats["token_lengths"]["histogram"].values()) == 99
    card = (out / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in card and "**75 kept**" in card and "{question}" in card


def test_heuristic_shortens_answers(alpaca_path, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--no-progress",
                                       "--max-tokens", "100000"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
    changed = [r for r in rows if r["answer"] != r["original_answer"]]
    assert len(changed) >= 20
    assert sum(len(r["answer"]) for r in rows) < sum(len(r["original_answer"]) for r in rows)
    assert not any("testament to" in r["answer"] for r in rows)


@pytest.mark.parametrize("content,message", [
    (b'[{"instruction": "a", "input": "", "output": "b"}, {"instruction": 1, "input": "", "output": "b"}]',
     ", record 1: 'instruction' must be a string, not int"),
    (b"[\xff\xfe]", ": not UTF-8 text (bad byte at offset 1)"),
    (b"", ": empty file"),
])
def test_bad_input_exit_code_and_no_output(tmp_path, content, message):
    src = tmp_path / "alpaca.json"
    src.write_bytes(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(src), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert result.output == f"Error: {src}{message}\n"
    assert not out.exists()


def test_bad_options_one_line_per_field(alpaca_path, tmp_path):
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "o"), "--backend",
                                       "openai", "--model", "m", "--base-url", "ftp://x", "--concurrency", "0"])
    assert result.exit_code == 1
    assert result.output == ("Error: invalid build settings:\n"
                             "  concurrency: Input should be greater than or equal to 1\n"
                             "  base_urls: 'ftp://x' is not an http(s) URL\n")


def test_openai_needs_model_and_url(alpaca_path, tmp_path):
    runner = CliRunner()
    r1 = runner.invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "o"), "--backend", "openai"])
    assert (r1.exit_code, r1.output) == (1, "Error: --model is required for the 'openai' backend\n")
    r2 = runner.invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "o"), "--backend", "openai",
                              "--model", "m"])
    assert (r2.exit_code, r2.output) == (1, "Error: --base-url is required for the 'openai' backend\n")


def test_style_prompt_needs_placeholders(alpaca_path, tmp_path):
    style = tmp_path / "style.txt"
    style.write_text("Rewrite this: {answer}")
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "o"),
                                       "--style-prompt", str(style)])
    assert (result.exit_code, result.output) == (1, f"Error: {style}: the style prompt must contain {{question}}\n")


def test_decompile_round_trip_cli(alpaca_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    assert runner.invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                "--max-tokens", "100000", "--no-progress"]).exit_code == 0
    result = runner.invoke(dada, ["decompile", str(out / "dada.jsonl"), "-o", str(tmp_path / "pairs.jsonl")])
    assert result.output == f"wrote {tmp_path / 'pairs.jsonl'} (99 pairs)\n"
    rows = [json.loads(l) for l in (out / "dada.jsonl").read_text().splitlines()]
    pairs = [json.loads(l) for l in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert pairs == [{"instruction": r["question"], "input": "", "output": r["answer"]} for r in rows]
    # the Alpaca rows are an instruction set again: dada build reads them back to the same pairs
    again = tmp_path / "again"
    assert runner.invoke(dada, ["build", str(tmp_path / "pairs.jsonl"), "-o", str(again), "--backend", "none",
                                "--max-tokens", "100000", "--no-progress"]).exit_code == 0
    assert [json.loads(l)["text"] for l in (again / "dada.jsonl").read_text().splitlines()] == \
        [r["text"] for r in rows]
    result = runner.invoke(dada, ["decompile", str(out / "dada.jsonl"), "-o", str(tmp_path / "qa.jsonl"),
                                  "--fields", "question-answer"])
    assert result.exit_code == 0, result.output
    assert [json.loads(l) for l in (tmp_path / "qa.jsonl").read_text().splitlines()] == \
        [{"question": r["question"], "answer": r["answer"]} for r in rows]


def test_build_from_parquet_and_saved_folder_cli(alpaca_path, alpaca_records, tmp_path):
    import datasets

    runner = CliRunner()
    args = ["--backend", "none", "--no-progress"]
    assert runner.invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "json"), *args]).exit_code == 0
    want = (tmp_path / "json" / "dada.jsonl").read_text()
    renamed = [{"prompt": r["instruction"], "context": r["input"], "response": r["output"]} for r in alpaca_records]
    datasets.Dataset.from_list(renamed).to_parquet(str(tmp_path / "a.parquet"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(alpaca_records)}).save_to_disk(str(tmp_path / "saved"))
    result = runner.invoke(dada, ["build", str(tmp_path / "a.parquet"), "-o", str(tmp_path / "pq"), *args,
                                  "--instruction-field", "prompt", "--input-field", "context",
                                  "--output-field", "response"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pq" / "dada.jsonl").read_text() == want
    result = runner.invoke(dada, ["build", str(tmp_path / "saved"), "-o", str(tmp_path / "sv"), *args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sv" / "dada.jsonl").read_text() == want
    result = runner.invoke(dada, ["build", str(tmp_path / "a.parquet"), "-o", str(tmp_path / "bad"), *args])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path / 'a.parquet'}, record 0: missing key 'instruction' "
                                    "(its keys: prompt, context, response;")
    assert not (tmp_path / "bad").exists()


def test_decompile_plain_text_reports_bad_line(tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("<s>[INST] q1 [/INST] a1</s>\n\n[INST]q2[/INST]a2\nnot a sequence\n")
    result = CliRunner().invoke(dada, ["decompile", str(src), "-o", str(tmp_path / "p.jsonl")])
    assert result.exit_code == 1
    assert result.output == (f"Error: {src}, line 4: not a Mixtral-Instruct sequence near 'not a sequence'\n")
    assert not (tmp_path / "p.jsonl").exists()


def test_help_has_examples():
    result = CliRunner().invoke(dada, ["build", "-h"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Example usage:" in text and "NOT a substitute for an LLM" in text


def test_build_with_an_hf_tokenizer_path(alpaca_path, tmp_path):
    from dataset_builders.tokens import HFChatTokenizer, write_hf_tokenizer

    tok_dir = write_hf_tokenizer(tmp_path / "tok")
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                       "--tokenizer", str(tok_dir), "--no-progress", "--limit", "20"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(l) for l in (out / "dada.jsonl").read_text().splitlines()]
    hf = HFChatTokenizer(str(tok_dir))
    assert [r["n_tokens"] for r in rows] == [len(ids) for ids in hf.encode_batch(
        [[(r["question"], r["answer"])] for r in rows])]
    assert json.loads((out / "stats.json").read_text())["tokenizer"] == str(tok_dir)
    bad = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "o2"),
                                    "--tokenizer", str(tmp_path / "nope")])
    assert bad.exit_code == 1 and bad.output.startswith(f"Error: {tmp_path / 'nope'}: cannot load a tokenizer")


@pytest.mark.parametrize("option,value,message", [
    ("--license", "mit\nprivate: true", "Error: invalid build settings:\n  source_license: 'mit\\nprivate: true' "
                                        "is not a licence id such as cc-by-nc-4.0 or apache-2.0 (letters, "
                                        "digits, '.', '-', '+')\n"),
    ("--source-name", "Alpaca\n---\nx: 1", "Error: invalid build settings:\n  source_name: 'Alpaca\\n---\\nx: 1': "
                                           "one line of text, please\n"),
])
def test_card_fields_cannot_inject_front_matter(alpaca_path, tmp_path, option, value, message):
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "out"), "--backend",
                                       "none", "--no-progress", option, value])
    assert result.exit_code == 1
    assert result.output == message
    assert not (tmp_path / "out").exists()


def test_the_build_folder_loads_as_a_hub_dataset(alpaca_path, tmp_path):
    """load_dataset(OUTDIR), as the Hub resolves a repo, gives exactly the kept rows; the card
    reads back with huggingface_hub's own DatasetCard."""
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    out = tmp_path / "out"
    assert CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                     "--no-progress"]).exit_code == 0
    kept = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
    ds = load_dataset(str(out))
    assert list(ds) == ["train"] and ds["train"]["id"] == [r["id"] for r in kept]
    rejected = load_dataset(str(out), "rejected")["train"]
    assert len(rejected) == 25 and set(rejected["reason"]) == {"nooutput", "too_long"}
    card = DatasetCard.load(out / "README.md").data
    assert (card.license, card.source_datasets, card.size_categories) == ("cc-by-nc-4.0", ["tatsu-lab/alpaca"], ["n<1K"])
    assert card.pretty_name == "DADA: toddler-diction rewrites of Stanford Alpaca (tatsu-lab/stanford_alpaca)"


LOAD_BOTH = """
import json, sys
from datasets import load_dataset
print(json.dumps([list(load_dataset(folder)["train"]["id"]) for folder in sys.argv[1:]]))
"""


@pytest.mark.parametrize("offline", ["1", "0"])
def test_a_build_folder_always_loads_its_own_rows(alpaca_path, tmp_path, offline):
    """datasets caches a folder by its card: a rebuild into the same folder and another folder
    of the same name each load their own dada.jsonl (the card's configs name its sha256), online
    and offline, through one shared datasets cache."""
    import subprocess
    import sys

    def build(out, limit):
        result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                           "--no-progress", "--limit", str(limit)])
        assert result.exit_code == 0, result.output
        return [json.loads(line)["id"] for line in (out / "dada.jsonl").read_text().splitlines()]

    def loaded(*folders):
        env = {**os.environ, "HF_DATASETS_OFFLINE": offline, "HF_HUB_OFFLINE": offline,
               "HF_DATASETS_CACHE": str(tmp_path / "cache")}
        proc = subprocess.run([sys.executable, "-c", LOAD_BOTH, *map(str, folders)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first, second = tmp_path / "a" / "out", tmp_path / "b" / "out"
    rows_a, rows_b = build(first, 5), build(second, 9)
    assert loaded(first, second) == [rows_a, rows_b]
    rebuilt = build(first, 12)
    assert loaded(first, second) == [rebuilt, rows_b]
    assert "sha256" in (first / "README.md").read_text()


def test_parquet_copy(alpaca_path, tmp_path):
    """--format jsonl,parquet adds dada.parquet (datasets reads the same rows); the Hub view of
    the folder is unchanged; a rerun without it removes the stale copy it wrote, never a
    dada.parquet of the user's."""
    from datasets import load_dataset

    out = tmp_path / "out"
    args = ["build", str(alpaca_path), "-o", str(out), "--backend", "none", "--no-progress"]
    result = CliRunner().invoke(dada, [*args, "--format", "jsonl,parquet"])
    assert result.exit_code == 0, result.output
    assert "Creating parquet" not in result.output
    as_json = load_dataset("json", data_files=str(out / "dada.jsonl"), split="train")
    as_parquet = load_dataset("parquet", data_files=str(out / "dada.parquet"), split="train")
    assert as_parquet.to_list() == as_json.to_list() and len(as_parquet) == 75
    assert load_dataset(str(out))["train"].to_list() == as_json.to_list()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["outputs"] == ["dada.jsonl", "dada.parquet", "rejected.jsonl", "review.md", "README.md",
                                "stats.json"]  # backend none: no grades.png
    assert "- `dada.parquet`: the same rows as `dada.jsonl`" in (out / "README.md").read_text()
    assert CliRunner().invoke(dada, args).exit_code == 0
    assert not (out / "dada.parquet").exists() and "dada.parquet" not in (out / "README.md").read_text()
    (out / "dada.parquet").write_text("mine")
    result = CliRunner().invoke(dada, args)
    assert result.exit_code == 1 and "holds files dada did not write (or that changed since): dada.parquet" in result.output
    assert (out / "dada.parquet").read_text() == "mine"
    result = CliRunner().invoke(dada, [*args, "--format", "parquet"])
    assert result.exit_code == 1
    assert "formats: jsonl is always written" in result.output


def test_review_sample_is_seeded_and_shows_rejects(alpaca_path, tmp_path):
    runner = CliRunner()
    args = ["build", str(alpaca_path), "--backend", "none", "--no-progress"]
    assert runner.invoke(dada, [*args, "-o", str(tmp_path / "a"), "--review", "5"]).exit_code == 0
    assert runner.invoke(dada, [*args, "-o", str(tmp_path / "b"), "--review", "5"]).exit_code == 0
    assert runner.invoke(dada, [*args, "-o", str(tmp_path / "c"), "--review", "5", "--review-seed", "1"]).exit_code == 0
    a, b, c = ((tmp_path / d / "review.md").read_text() for d in "abc")
    assert a == b != c
    assert a.startswith("# Review: what the model will learn\n\n5 of the 75 kept pairs, drawn at random (seed 0)")
    assert a.count("**Rewrite (trained)**") == 5
    kept = {json.loads(line)["id"] for line in (tmp_path / "a" / "dada.jsonl").read_text().splitlines()}
    shown = [line[3:].split(" (")[0] for line in a.splitlines() if line.startswith("## ") and "-" in line[3:6]]
    assert len(shown) == 5 and set(shown) <= kept
    assert "## filter: too_long (24)" in a and "## load: nooutput (1)" in a
    assert a.count("### ") == 3 + 1  # the first three too_long, the one nooutput


def test_decompile_refuses_duplicate_keys_and_reads_a_bom(tmp_path):
    src = tmp_path / "seq.jsonl"
    src.write_bytes("\ufeff".encode() + b'{"text": "<s>[INST] q [/INST] a</s>"}\n')
    result = CliRunner().invoke(dada, ["decompile", str(src), "-o", str(tmp_path / "pairs.jsonl")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "pairs.jsonl").read_text()) == {"instruction": "q", "input": "", "output": "a"}
    src.write_text('{"text": "<s>[INST] q [/INST] a</s>", "text": "<s>[INST] q [/INST] b</s>"}\n')
    result = CliRunner().invoke(dada, ["decompile", str(src), "-o", str(tmp_path / "other.jsonl")])
    assert result.exit_code == 1
    assert f"{src}, line 1: malformed JSON: duplicate key 'text'" in result.output
    assert not (tmp_path / "other.jsonl").exists()


def test_a_failed_build_that_paid_nothing_leaves_nothing(alpaca_path, tmp_path):
    """Nothing kept with the offline rewriter: one error, no folder, no ".dada.json", no cache,
    and no advice to rerun for what is missing (nothing was stored)."""
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "heuristic",
                                       "--max-tokens", "8", "--no-progress"])
    assert result.exit_code == 1
    assert "no record was kept" in result.output and "nothing was stored" in result.output
    assert "rerun to ask" not in result.output
    assert not out.exists()
    out.mkdir()  # a folder the user made: left, empty, as it was
    assert CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "heuristic",
                                     "--max-tokens", "8", "--no-progress"]).exit_code == 1
    assert out.is_dir() and list(out.iterdir()) == []
