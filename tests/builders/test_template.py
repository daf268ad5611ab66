import pytest

from dada_plugin.errors import TemplateError
from dataset_builders.load import load
from dataset_builders.template import compile_pair, compile_turns, decompile


def test_compile_format():
    assert compile_pair("q?", "a.") == "<s>[INST] q? [/INST] a.</s>"
    assert compile_turns([("q1", "a1"), ("q2", "a2")]) == "<s>[INST] q1 [/INST] a1</s>[INST] q2 [/INST] a2</s>"


def test_round_trip_every_fixture_record(alpaca_path):
    records = load(alpaca_path).kept
    assert len(records) == 99
    for rec in records:
        assert decompile(compile_pair(rec.question, rec.original_answer)) == [(rec.question, rec.original_answer)]


@pytest.mark.parametrize("text", [
    "[INST]q[/INST]a",
    "<s> [INST] q [/INST] a </s>",
    "<s>[INST]  q  [/INST]a</s>",
    "  <s>[INST] q [/INST] a",
    "<s>[INST] q [/INST] a</s>\n",
])
def test_spacing_variants(text):
    assert decompile(text) == [("q", "a")]


def test_multi_turn_variants():
    assert decompile("<s>[INST] q1 [/INST] a1</s> [INST] q2 [/INST] a2") == [("q1", "a1"), ("q2", "a2")]
    assert decompile("<s>[INST] q1 [/INST] a1 [INST] q2 [/INST] a2</s>") == [("q1", "a1"), ("q2", "a2")]
    assert decompile("<s>[INST] q1 [/INST] a1</s><s>[INST] q2 [/INST] a2</s>") == [("q1", "a1"), ("q2", "a2")]


@pytest.mark.parametrize("text", ["hello world", "<s>[INST] q a</s>", "[INST] [/INST] a", "", "<s>"])
def test_not_a_sequence(text):
    with pytest.raises(TemplateError):
        decompile(text)
