"""``dada slop`` and ``dada eval`` through click's CliRunner, with exact expectations."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada

CLICHE = "She felt shivers down her spine. It was a testament to the tapestry of night!"

TABLE = """\
| metric | better | text |
| --- | --- | ---: |
| samples |  | 1 |
| words |  | 15 |
| Slop Score (leaderboard composite) | lower | 61.2 |
| slop words / 1k words | lower | 133.3 |
| slop trigrams / 1k words | lower | 0 |
| cliché phrases / 1k words | lower | 200 |
| 'not X but Y' / 1k chars | lower | 0 |
| MATTR-500 | higher | 1 |
| type-token ratio | higher | 1 |
| distinct-1 | higher | 1 |
| distinct-2 | higher | 1 |
| distinct-3 | higher | 1 |
| avg sentence length (words) |  | 7.5 |
| vocab level (Flesch-Kincaid grade) |  | 3.068 |
| avg paragraph length (words) |  | 15 |
| dialogue (quote pairs / 1k chars) |  | 0 |
| cross-prompt repetition (funnel) | lower | 0 |

Slop Score, text: 61.20, would rank 18th of 24, between z-ai/glm-4.5 and qwen/qwen3-4b

top offenders, text:
- slop words: shivers (1), tapestry (1)
- slop trigrams: none
- antislop phrases: shivers down (1), tapestry (1), testament to (1)
- cross prompt trigrams: none
- over-represented words (vs wordfreq): none
"""


def leaderboard_score(words: float, contrast: float, trigrams: float) -> float:
    """The leaderboard page's formula, from the published table read here on its own."""
    from dada_plugin.text.lists import read_data

    published = [r["metrics"] for r in read_data("leaderboard_results.json")["results"]]
    total = 0.0
    for key, value, weight in (("slop_list_matches_per_1k_words", words, 0.6),
                               ("not_x_but_y_per_1k_chars", contrast, 0.25),
                               ("slop_trigram_matches_per_1k_words", trigrams, 0.15)):
        lo, hi = min(m[key] for m in published), max(m[key] for m in published)
        lo, hi = lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)
        total += min(1.0, max(0.0, (value - lo) / (hi - lo))) * weight
    return total * 100


def run(*args):
    return CliRunner().invoke(dada, list(args), catch_exceptions=False)


def test_slop_prints_a_table_per_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(CLICHE, encoding="utf-8")
    result = run("slop", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == f"## {path} (text)\n\n" + TABLE


def test_slop_json_uses_slop_score_names(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(CLICHE, encoding="utf-8")
    result = run("slop", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {str(path): {"format": "text", "columns": {"text": {
        "sample_count": 1,
        "total_chars": 77,
        "metrics": {
            "slop_score": pytest.approx(leaderboard_score(2 / 15 * 1000, 0, 0), rel=1e-12),
            "slop_list_matches_per_1k_words": 2 / 15 * 1000,
            "slop_trigram_matches_per_1k_words": 0.0,
            "antislop_phrase_matches_per_1k_words": 200.0,
            "not_x_but_y_per_1k_chars": 0.0,
            "lexical_diversity": {"mattr_500": 1.0, "type_token_ratio": 1.0,
                                  "unique_words": 15, "total_words": 15},
            "distinct_1": 1.0, "distinct_2": 1.0, "distinct_3": 1.0,
            "avg_sentence_length": 7.5,
            # 15 words, 20 syllables by slop-score's rule (shivers 2, testament 3, tapestry 3)
            "vocab_level": pytest.approx(0.39 * 7.5 + 11.8 * 20 / 15 - 15.59, rel=1e-12),
            "avg_paragraph_length": 15.0,
            "dialogue_frequency": 0.0,
            "cross_prompt_repetition": 0.0},
        "leaderboard": {"rank": 18, "of": 24, "better": "z-ai/glm-4.5", "worse": "qwen/qwen3-4b",
                        "text": "would rank 18th of 24, between z-ai/glm-4.5 and qwen/qwen3-4b"},
        "top_over_represented": {"words": []},
        "top_offenders": {
            "slop_words": [["shivers", 1], ["tapestry", 1]],
            "slop_trigrams": [],
            "antislop_phrases": [["shivers down", 1], ["tapestry", 1], ["testament to", 1]],
            "cross_prompt_trigrams": []}}}}}


def test_slop_dada_jsonl_reports_both_columns(dada_jsonl):
    result = run("slop", str(dada_jsonl), "--json")
    assert result.exit_code == 0, result.output
    cols = json.loads(result.output)[str(dada_jsonl)]["columns"]
    assert list(cols) == ["original_answer", "answer"]
    orig, new = cols["original_answer"]["metrics"], cols["answer"]["metrics"]
    # originals: 13 + 10 + 11 + 9 = 43 words, slop words tapestry x2 and shivers; rewrites: none
    assert orig["lexical_diversity"]["total_words"] == 43
    assert orig["slop_list_matches_per_1k_words"] == 3 / 43 * 1000
    assert new["slop_list_matches_per_1k_words"] == 0.0
    assert new["avg_sentence_length"] < orig["avg_sentence_length"]


def test_slop_legacy_flag(tmp_path):
    path = tmp_path / "k.txt"
    path.write_text("Plan k: k'tharr came in today's fast paced world.", encoding="utf-8")
    fixed = json.loads(run("slop", str(path), "--json").output)[str(path)]["columns"]["text"]
    legacy = json.loads(run("slop", str(path), "--json", "--legacy-normalization").output)
    legacy = legacy[str(path)]["columns"]["text"]
    assert fixed["top_offenders"]["slop_trigrams"] == [["today's fast paced", 1]]
    assert legacy["top_offenders"]["slop_trigrams"] == []


def test_slop_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"output": "fine"}\n{oops\n', encoding="utf-8")
    result = CliRunner().invoke(dada, ["slop", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}, record 1, line 2: malformed JSON")
    missing = CliRunner().invoke(dada, ["slop", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1
    assert missing.output == f"Error: {tmp_path / 'nope.txt'}: no such file\n"


def test_eval_dataset_mode_writes_the_report(dada_jsonl, tmp_path):
    out = tmp_path / "report"
    result = run("eval", "--dataset", str(dada_jsonl), "-o", str(out), "--bootstrap", "20",
                 "--no-charts")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out / 'report.md'}\nwrote {out / 'report.json'}\n"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(report["models"]) == ["original_answer", "answer"]
    assert report["settings"]["bootstrap_resamples"] == 20
    assert not (out / "charts").exists()


def test_help_lists_the_commands():
    result = run("--help")
    assert "slop" in result.output and "eval" in result.output
    assert "Example usage:" in run("eval", "--help").output


def test_slop_chart_ranks_the_inputs(tmp_path):
    import matplotlib.image as mpimg

    path = tmp_path / "tiny.txt"
    path.write_text(CLICHE, encoding="utf-8")
    chart = tmp_path / "rank.png"
    result = run("slop", str(path), "--chart", str(chart))
    assert result.exit_code == 0, result.output
    assert mpimg.imread(chart).shape[0] > 300  # 24 bars
    before = chart.read_bytes()
    result = CliRunner().invoke(dada, ["slop", str(path), "--chart", str(chart)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {chart}: exists and dada did not write it (or it was changed "
                             "since); pass --force to replace it\n")
    assert chart.read_bytes() == before
    assert run("slop", str(path), "--chart", str(chart), "--force").exit_code == 0


def test_eval_reads_a_bom_and_refuses_empty_prompts_and_twice_named_models(dada_jsonl, tmp_path):
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes("\ufeff".encode() + dada_jsonl.read_bytes())
    result = run("eval", "--dataset", str(bom), "-o", str(tmp_path / "r"), "--bootstrap", "5", "--no-charts")
    assert result.exit_code == 0, result.output
    empty = tmp_path / "prompts.txt"
    empty.write_text("\n  \n")
    out = tmp_path / "models"
    result = run("eval", "-o", str(out), "--model", "a=http://127.0.0.1:9/v1", "--prompts", str(empty))
    assert result.exit_code == 1
    assert f"{empty}: no prompts" in result.output
    assert not out.exists()  # no stray .dada.json
    result = run("eval", "-o", str(out), "--model", "base=http://127.0.0.1:9/v1", "--model", "base=x.gguf")
    assert result.exit_code == 2 and "'base' is given twice; names must be distinct" in result.output
    assert not out.exists()


def test_a_folder_that_is_no_model_is_named_before_anything_is_written(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    result = run("eval", "-o", str(out), "--model", f"m={empty}", "--n-prompts", "2")
    assert result.exit_code == 1
    assert f"Error: {empty}: not a model folder (no config.json)" in result.output
    assert not out.exists()
