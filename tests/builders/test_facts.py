"""The fact check: unit cases, and precision and recall on two hand-labelled sets.

tests/data/facts_labelled.jsonl (64 pairs) and tests/data/facts_heldout.jsonl (20 pairs) were
written by hand: Alpaca-style questions, an adult original answer, and a toddler rewrite that
either keeps what the question needs or loses it (a result, a count, code, a URL, a quote),
labelled by what a reader would call a wrong answer, not by the checker's rules. The first set
was used while writing the rules (two were added after reading its errors: numbers the question
states need not be repeated, more number-question words), so its figures are optimistic; the
held-out set was written afterwards and not tuned on.

Measured (lost = positive):
  labelled, lenient: precision 23/24 = 0.958, recall 23/24 = 0.958; strict: 24/30 = 0.80, 1.00
  held-out, lenient: precision 8/8 = 1.00, recall 8/9 = 0.889; strict: 9/11 = 0.818, 1.00
Lenient (the default) misses a dropped number where the question is not about numbers ("Tell
me about the heart": "four chambers" lost); strict catches it and also flags incidental years
and sizes the question did not ask for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataset_builders.facts import asked_count, items, lost_facts, numbers

DATA = Path(__file__).resolve().parent.parent / "data"


def scores(name: str, mode: str) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        flagged = bool(lost_facts(row["question"], row["original"], row["rewrite"], mode))
        tp += flagged and row["lost"]
        fp += flagged and not row["lost"]
        fn += row["lost"] and not flagged
    return tp, fp, fn


@pytest.mark.parametrize("name, mode, expected", [
    ("facts_labelled.jsonl", "lenient", (23, 1, 1)), ("facts_labelled.jsonl", "strict", (24, 6, 0)),
    ("facts_heldout.jsonl", "lenient", (8, 0, 1)), ("facts_heldout.jsonl", "strict", (9, 2, 0)),
])
def test_precision_and_recall_on_the_labelled_sets(name, mode, expected):
    tp, fp, fn = scores(name, mode)
    assert (tp, fp, fn) == expected
    print(f"{name} {mode}: precision {tp / (tp + fp):.3f}, recall {tp / (tp + fn):.3f}")
    assert tp / (tp + fp) >= (0.95 if mode == "lenient" else 0.8) and tp / (tp + fn) >= 0.88


def test_numbers_digits_and_words():
    assert numbers("It costs 1,000 dollars, 3.50 each, twenty-one of them, one by one.", pronoun_one=True) == \
        {"1000", "3.5", "21"}
    assert numbers("one apple") == {"1"} and numbers("H2O and mp3") == set()


def test_counts_and_items():
    assert asked_count("Name three fruits.") == 3 and asked_count("Generate a list of 5 adjectives") == 5
    assert asked_count("Give me two reasons") == 2 and asked_count("Describe a cat.") is None
    assert items("- a\n- b\n* c") == 3 and items("apples, pears and plums") == 3 and items("Yes.") == 1


def test_items_listed_as_exclamations_count():
    """Toddler lists: "Red! Blue! Yellow!" is three items, and keeps a "Name three" answer."""
    assert items("Red! Blue! Yellow!") == 3 and items("Here are three: Red! Blue! Yellow!") == 3
    assert items("Dogs bark. Cats purr. Cows moo.") == 3
    assert items("Sky is blue because air bounces light around!") == 1
    q, orig = "Name three primary colors.", "The three primary colors are red, blue, and yellow."
    assert lost_facts(q, orig, "Red! Blue! Yellow!") == []
    assert lost_facts(q, orig, "Colors are fun to see!") == [
        "list items: the question asks for 3, the original has 3, the rewrite 1"]
    # filler is no list: short sentences count as items only when they hold the answer's words
    assert lost_facts(q, orig, "Red! Yay! Fun!") == [
        "list items: the question asks for 3, the original has 3, the rewrite 1"]
    assert lost_facts("List 5 fruits.", "Apple, banana, cherry, mango and orange.",
                      "Apple! Yum! So good! I love it! Yay!", "lenient") != []


def test_what_went_missing_is_listed():
    q, orig = "Write the Python command and the URL to learn more.", (
        'Run `pip install dada` and read https://example.org/docs. The flag is "--fast".')
    assert lost_facts(q, orig, "Type the command. Read the page!") == [
        "code `pip install dada`", "url https://example.org/docs", 'quote "--fast"']
    assert lost_facts(q, orig, 'Type `pip install dada`! Read https://example.org/docs. Use "--FAST".') == []
    assert lost_facts("What is 7 times 8?", "7 times 8 is 56.", "It is fifty-six!") == []
    assert lost_facts("What is 7 times 8?", "7 times 8 is 56.", "It is big!") == ["number 56"]
    assert lost_facts("What is 7 times 8?", "7 times 8 is 56.", "It is big!", "off") == []


def test_letters_that_fold_to_ascii_are_no_number_words():
    """"ſix" (long s) or "fİve" would match a case-insensitive Unicode regex without being a key
    of the number words: ASCII matching keeps them out (no crash, no number)."""
    assert numbers("An insect has ſix legs and FİVE eyes, a thouſand times.") == set()
    assert asked_count("Name ſix animals") is None
    assert lost_facts("How many legs?", "An insect has ſix legs.", "Six legs!") == []
