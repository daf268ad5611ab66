import json

import pytest

from dada_plugin.errors import InputError
from dataset_builders.load import JOINER, load, merge_turn, record_id


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
    ("dupkey.json", b'[{"instruction": "a", "input": "", "output": "b"}, {"instruction": "c", "input": "", '
                    b'"output": "right", "output": "wrong"}]', "record 1: malformed JSON: duplicate key 'output'"),
    ("dupkey.jsonl", b'{"instruction": "a", "input": "", "output": "b"}\n{"instruction": "c", "instruction": "d", '
                     b'"input": "", "output": "e"}\n', "record 1, line 2: malformed JSON: duplicate key 'instruction'"),
]


@pytest.mark.parametrize("name,content,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_record(tmp_path, name, content, expected):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError) as info:
        load(p)
    assert str(info.value).startswith(str(p))
    assert expected in str(info.value)


# -- other formats: Parquet and save_to_disk folders through datasets' own engines ----------

def _alpaca_dataset(records):
    import datasets

    return datasets.Dataset.from_list(records)


def test_parquet_equals_json(tmp_path, alpaca_path, alpaca_records):
    p = tmp_path / "alpaca.parquet"
    _alpaca_dataset(alpaca_records).to_parquet(str(p))
    want, got = load(alpaca_path), load(p)
    assert [(r.id, r.question, r.original_answer) for r in got.kept] == \
        [(r.id, r.question, r.original_answer) for r in want.kept]
    assert got.rejected == want.rejected


def test_parquet_without_suffix_and_null_input(tmp_path):
    p = tmp_path / "data"
    _alpaca_dataset([{"instruction": "Say hi.", "input": None, "output": "Hi."}]).to_parquet(str(p))
    [rec] = load(p).kept
    assert (rec.question, rec.original_answer) == ("Say hi.", "Hi.")


def test_saved_dataset_and_dataset_dict(tmp_path, alpaca_records):
    import datasets

    ds = _alpaca_dataset(alpaca_records[:6])
    ds.save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict({"train": ds, "test": _alpaca_dataset(alpaca_records[6:8])}).save_to_disk(
        str(tmp_path / "dict"))
    datasets.DatasetDict({"test": ds, "dev": ds}).save_to_disk(str(tmp_path / "nosplit"))
    want = [merge_turn(r["instruction"], r["input"]) for r in alpaca_records[:6]]
    assert [r.question for r in load(tmp_path / "one").kept] == want
    assert [r.question for r in load(tmp_path / "dict").kept] == want  # the train split
    with pytest.raises(InputError, match=r"nosplit: a DatasetDict without a train split \(splits: test, dev\)"):
        load(tmp_path / "nosplit")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="plain: a folder, but not one datasets' save_to_disk wrote"):
        load(tmp_path / "plain")


def test_bad_parquet_is_one_error(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"x.parquet: not a readable Parquet file"):
        load(p)


def test_parquet_bad_record_named(tmp_path):
    p = tmp_path / "x.parquet"
    _alpaca_dataset([{"instruction": "a", "input": "", "output": "b"},
                     {"instruction": "c", "input": "", "output": None}]).to_parquet(str(p))
    with pytest.raises(InputError, match=r"x.parquet, record 1: 'output' must be a string, not NoneType"):
        load(p)


# -- column mapping and chat rows -------------------------------------------------------------

def test_column_mapping(tmp_path):
    from dataset_builders.load import Fields

    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"prompt": "Add 2 and 2.", "response": "4", "ctx": "x"}) + "\n")
    [rec] = load(p, Fields("prompt", None, "response")).kept
    assert (rec.question, rec.original_answer) == ("Add 2 and 2.", "4")
    [rec] = load(p, Fields("prompt", "ctx", "response")).kept
    assert rec.question == "Add 2 and 2.\n\nx"
    with pytest.raises(InputError, match=r"record 0: missing key 'instruction' \(its keys: prompt, response, "
                                         r"ctx; name yours with --instruction-field"):
        load(p)
    with pytest.raises(InputError, match=r"record 0: missing key 'answer'"):
        load(p, Fields("prompt", None, "answer"))


def test_messages_and_sharegpt_rows(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "Name a colour."},
                      {"role": "assistant", "content": "Red."},
                      {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Blue."}]},
        {"conversations": [{"from": "human", "value": "Say yes."}, {"from": "gpt", "value": "Yes."}]},
        {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hi."}]},
        {"messages": [{"role": "assistant", "content": "Hello!"}]},
        {"messages": [{"role": "user", "content": "Only a question"}]},
    ]
    p = tmp_path / "chat.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    result = load(p)
    assert [(r.index, r.question, r.original_answer) for r in result.kept] == [
        (0, "Name a colour.", "Red."), (1, "Say yes.", "Yes.")]
    assert [(r.id.split("-")[0], r.reason) for r in result.rejected] == [
        ("2", "system_prompt"), ("3", "no_pair"), ("4", "no_pair")]
    assert result.kept[1].id == record_id(1, {"instruction": "Say yes.", "input": "", "output": "Yes."})
    p.write_text(json.dumps({"messages": [{"role": "user"}]}))
    with pytest.raises(InputError, match=r"record 0: a turn of 'messages' must be an object with 'role' "
                                         r"and 'content'"):
        load(p)


def test_chat_rows_with_a_role_that_is_no_string(tmp_path):
    p = tmp_path / "chat.jsonl"
    p.write_text(json.dumps({"messages": [{"role": ["user"], "content": "hi"}, {"role": "assistant", "content": "yo"}]}))
    with pytest.raises(InputError, match=r"chat.jsonl, record 0: the 'role' of a turn of 'messages' must be a "
                                         r"string, not list"):
        load(p)


def test_damaged_saved_dataset_metadata_is_one_error(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"instruction": "a", "input": "", "output": "b"}]).save_to_disk(str(tmp_path / "d"))
    (tmp_path / "d" / "state.json").write_text("{}")
    with pytest.raises(InputError, match=r"d: not a dataset folder that datasets can load \(KeyError"):
        load(tmp_path / "d")


def test_sharegpt_rows_with_an_input_field_option_are_still_chats(tmp_path):
    """--input-field '' means nothing to a chat row: it is read as a chat; an instruction field
    it lacks is named, with why it was not read as a chat."""
    from dataset_builders.load import Fields

    src = tmp_path / "sg.json"
    src.write_text(json.dumps([{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}]))
    kept = load(src, Fields(input=None)).kept
    assert [(r.question, r.original_answer) for r in kept] == [("hi", "yo")]
    with pytest.raises(InputError, match="a conversations row is read as a chat only without"):
        load(src, Fields(instruction="q"))
