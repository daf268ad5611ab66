import pytest

from dataset_builders.clean import clean, clean_answer, prune_emojis
from dataset_builders.records import Record

Q = "What are the three primary colors?"


@pytest.mark.parametrize("raw,expected", [
    ('Sure! Here\'s the rewritten answer: "Red, blue, yellow."', "Red, blue, yellow."),
    ("Of course! Red, blue, yellow.", "Red, blue, yellow."),
    ("Here is a simpler answer:\nRed, blue, yellow.", "Red, blue, yellow."),
    ("Toddler: Red, blue, yellow.", "Red, blue, yellow."),
    ("**Answer:** Red, blue, yellow.", "Red, blue, yellow."),
    ("“Red, blue, yellow.”", "Red, blue, yellow."),
    ("What are the three primary colors? Red, blue, yellow.", "Red, blue, yellow."),
    ("Red,  blue,   yellow.\n\n\n\nThe end.", "Red, blue, yellow.\n\nThe end."),
    ("Red 🔴, blue 🔵, yellow 🟡! 🎨", "Red, blue, yellow!"),
    ("def f():\n    return  1", "def f():\n    return  1"),
    ('He said "hi" and "bye".', 'He said "hi" and "bye".'),
    # correct answers are left alone
    ("Great Britain is big.", "Great Britain is big."),
    ("Certainly not all birds fly.", "Certainly not all birds fly."),
    ("Here is where the cat sleeps: on the mat.", "Here is where the cat sleeps: on the mat."),
])
def test_clean_answer(raw, expected):
    assert clean_answer(raw, Q) == expected


@pytest.mark.parametrize("question,raw,expected", [
    ("Photosynthesis", "Photosynthesis is how plants eat.", "Photosynthesis is how plants eat."),
    ("Hi", "Hiking is fun.", "Hiking is fun."),
    ("Name a colour", "Name a colour: red.", "red."),
    ("Name a colour.", "Name a colour. Red.", "Red."),
])
def test_echo_only_on_a_sentence_boundary(question, raw, expected):
    assert clean_answer(raw, question) == expected


def test_prune_emojis_keeps_text():
    assert prune_emojis("I ❤️ cats 🐱.") == "I  cats."


def test_rejections_with_reasons():
    recs = [Record(f"{i}-x", i, Q, "orig", answer=a) for i, a in enumerate([
        "Red, blue, yellow.", "I'm sorry, but I can't help with that.", "😀", "As an AI, I think red.",
        "Use [INST] tags.", "I'm sorry that you're not happy with it. We will refund you."])]
    result = clean(recs)
    assert [r.id for r in result.kept] == ["0-x", "5-x"]
    assert [(r.id, r.reason) for r in result.rejected] == [
        ("1-x", "refusal"), ("2-x", "empty_answer"), ("3-x", "refusal"), ("4-x", "template_marker")]


@pytest.mark.parametrize("answer", ["Sure.", "Absolutely!", "OK.", "Certainly.", "Answer:"])
def test_a_preamble_word_alone_is_the_answer(answer):
    assert clean_answer(answer, "Can you do it?") == answer


def test_only_refusals_of_the_task_are_refused():
    answers = ["I can not help falling in love with you.", "I am sorry, but I was late.",
               "I'm sorry, but I cannot answer that.", "I cannot help.", "I can't assist with this."]
    recs = [Record(f"{i}-x", i, "Write a line.", "orig", answer=a) for i, a in enumerate(answers)]
    result = clean(recs)
    assert [r.id for r in result.kept] == ["0-x", "1-x"]
    assert [r.reason for r in result.rejected] == ["refusal"] * 3
    # the original answer says it too: an apology the question asked for, not a refusal
    same = Record("9-x", 9, "Say you cannot help.", "I cannot help.", answer="I cannot help.")
    assert clean([same]).kept == [same]
