"""Input formats and the errors that name the file and line/record."""

from __future__ import annotations

import json

import pytest

from dada_plugin.errors import InputError
from dada_plugin.eval.sources import read_source


def test_dada_jsonl_gives_original_and_rewritten_columns(dada_jsonl):
    src = read_source(dada_jsonl)
    assert src.format == "dada"
    assert list(src.columns) == ["original_answer", "answer"]
    assert src.columns["answer"][1] == ("Describe fear.", "Me scared. Me hide.")
    assert len(src.columns["original_answer"]) == 4


def test_jsonl_takes_the_first_text_field_and_prompt(tmp_path):
    path = tmp_path / "gen.jsonl"
    path.write_text('{"instruction": "Q", "input": "ctx", "output": "A."}\n\n'
                    '{"prompt": "P", "output": null}\n{"output": "B."}\n', encoding="utf-8")
    src = read_source(path)
    assert (src.format, src.columns) == ("jsonl", {"output": [("Q\n\nctx", "A."), (None, "B.")]})


def test_json_list_of_alpaca_records(alpaca_path):
    src = read_source(alpaca_path)
    assert src.format == "json" and list(src.columns) == ["output"]
    assert len(src.columns["output"]) == 100


def test_slop_score_results_keep_outputs_over_300_chars(tmp_path):
    data = {"m": {"samples": [{"prompt": "p1", "output": "x" * 301},
                              {"prompt": "p2", "output": "y" * 300}, {"prompt": "p3"}]}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    src = read_source(path)
    assert src.format == "slop-score" and src.columns == {"m": [("p1", "x" * 301)]}
    assert len(read_source(path, min_chars=0).columns["m"]) == 2


def test_plain_text_is_split_into_paragraphs(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("First para.\nStill first.\n\n  \n\nSecond.\n", encoding="utf-8")
    src = read_source(path)
    assert src.format == "text"
    assert src.columns == {"text": [(None, "First para.\nStill first."), (None, "Second.\n")]}


@pytest.mark.parametrize("content,message", [
    ('{"output": "a"}\nnot json\n', "bad.jsonl, record 1, line 2: malformed JSON: Expecting value"),
    ('{"output": "a"}\n[1]\n', "bad.jsonl, line 2: expected a JSON object, got list"),
    ('{"answer": "a", "original_answer": "b"}\n{"answer": "c"}\n',
     "bad.jsonl, line 2: missing field 'original_answer'"),
    ('{"output": 3}\n', "bad.jsonl, line 1: field 'output' is int, not text"),
    ('{"title": "x"}\n', "bad.jsonl, line 1: no 'text', 'output' or 'answer' field"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_source(path)
    assert str(err.value).endswith(message)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.txt: no such file"):
        read_source(tmp_path / "nope.txt")


def test_no_texts_is_an_error(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty.jsonl: no texts to measure"):
        read_source(empty)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"m": {"samples": [{"output": "tiny"}]}}), encoding="utf-8")
    with pytest.raises(InputError, match="short.json: no texts longer than 300 characters"):
        read_source(short)
