import json

import pytest

from dada_plugin.errors import InputError
from dataset_builders.load import JOINER, load, merge_turn, read_raw, record_id


def test_joiner_and_seams():
    assert merge_turn("Summarize this.  \n", "\n  The text.\n\n\n\nMore.  ") == "Summarize this.\n\nThe text.\n\nMore."
    assert merge_turn("Just the instruction. ", "   ") == "Just the instruction."
    assert JOINER == "\n\n"


def test_fixture_load(alpaca_path, alpaca_records):
    result = load(alpaca_path)
    assert len(result.kept) == 99
    [rej] = result.rejected
    assert (rej.stage, rej.reason) == ("load", "nooutput")
    assert rej.id.startswith("8-")
    rec5 = next(r for r in result.kept if r.index == 5)
    assert rec5.question == "Identify the odd one out.\n\nTwitter, Instagram, Telegram"
    assert "Input" not in rec5.question
    # trailing spaces at line ends of the answer are gone
    rec0 = result.kept[0]
    assert " \n" not in rec0.original_answer
    assert rec0.id == record_id(0, alpaca_records[0])
    # ids are stable and unique
    assert load(alpaca_path).kept[0].id == rec0.id
    assert len({r.id for r in result.kept}) == 99


def test_jsonl_input(tmp_path, alpaca_records):
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in alpaca_records[:5]) + "\n\n", encoding="utf-8")
    assert [r.question for r in load(p).kept] == [
        merge_turn(r["instruction"], r["input"]) for r in alpaca_records[:5]]


def test_line_separators_inside_jsonl_strings(tmp_path):
    p = tmp_path / "a.jsonl"
    rows = [{"instruction": "Say hi\u2028twice", "input": "", "output": "Hi\u2028there.\u0085Bye."}]
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows * 2), encoding="utf-8")
    assert [r.original_answer for r in load(p).kept] == ["Hi\u2028there.\u0085Bye."] * 2


def test_empty_instruction_keeps_no_seam():
    assert merge_turn("", "Translate: bonjour") == "Translate: bonjour"


def test_empty_answer_rejected(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps([{"instruction": "q", "input": "", "output": "  "},
                             {"instruction": "q2", "input": "", "output": "a"}]))
    result = load(p)
    assert [r.reason for r in result.rejected] == ["empty_answer"]
    assert len(result.kept) == 1


BAD = [
    ("malformed.json", b'[{"instruction": "a", "input": "", "output": "b"},\n {"instruction": "c" "input": ""}]',
     "record 1"),
    ("top.json", b'{"instruction": "a", "input": "", "output": "b", "x": [1}', "malformed JSON"),
    ("notlist.json", b'"just a string"', "top level must be a list"),
    ("missing.json", b'[{"instruction": "a", "input": "", "output": "b"}, {"instruction": "a", "output": "b"}]',
     "record 1: missing key 'input'"),
    ("nonstring.json", b'[{"instruction": "a", "input": 3, "output": "b"}]', "record 0: 'input' must be a string, not int"),
    ("empty.json", b"  \n", "empty file"),
    ("latin1.json", '[{"instruction": "caf\u00e9", "input": "", "output": "b"}]'.encode("latin-1"), "not UTF-8"),
    ("bad.jsonl", b'{"instruction": "a", "input": "", "output": "b"}\n{"instruction": \n', "record 1, line 2"),
    ("norecords.json", b"[]", "no records"),
    ("missingcomma.json", b'[{"instruction": "a", "input": "", "output": "b"}\n {"instruction": "c", "input": "", '
                          b'"output": "d"}, {"instruction": "e", "input": "", "output": "f"}]', "record 0: malformed JSON"),
    ("trailing.json", b'[{"instruction": "a", "input": "", "output": "b"},]', "record 0: malformed JSON"),
    ("third.json", b'[{"instruction": "a", "input": "", "output": "b"}, {"instruction": "c", "input": "", "output": "d"},'
                   b' {"instruction": "e" "input": ""}]', "record 2: malformed JSON"),
    ("object.json", b'{"instruction": "a", "input": "", "output": "b"}',
     "the top level must be a list of records, not dict"),
    ("lines.json", b'{"instruction": "a", "input": "", "output": "b"}\n{"instruction": "a", "input": "", "output": "b"}',
     "Extra data (line 2) (one object per line is JSONL: name the file .jsonl)"),
    ("surrogate.json", b'[{"instruction": "a\\ud800", "input": "", "output": "b"}]',
     "record 0: 'instruction' holds an unpaired surrogate"),
    ("notobj.json", b'[["a", "b", "c"]]', "record 0: a record must be an object"),
]


@pytest.mark.parametrize("name,content,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_record(tmp_path, name, content, expected):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_raw(p)
    assert str(info.value).startswith(str(p))
    assert expected in str(info.value)
