"""slop-score's "not X but Y" (stage 1): hand-checked hits, JavaScript's dialect, and the
candidate-sentence search equal to the whole-text search."""

from __future__ import annotations

import random

import pytest

from dada_plugin.eval.contrast import contrast_starts, js_len, js_text


@pytest.mark.parametrize("text,hits", [
    ("It is not a bug, but a feature.", 1),                              # RE_NOT_BUT
    ("It was not a bug; but when it ran it failed.", 0),                 # "but when" is guarded
    ("He didn't walk home. They walked on.", 1),                         # same verb across sentences
    ("This is not a test. It is real.", 1),                              # two patterns, one range
    ("It's not just a game. It's a way of life. Not a bug, but a feature.", 2),
    ("IT IS NOT A BUG, BUT A FEATURE.", 1),                              # case-insensitive
    ("It is not just a bug \u2014 it is a feature.", 1),                 # an em dash counts as '-'
    ("It is not a bug \u2014 it is a feature.", 0),                      # the dash form wants "not just"
    ("It is not a\u2028bug, but a feature.", 0),                         # JS '.' stops at U+2028
    ("It is not a\u00a0bug,\u2028but a feature.", 1),                    # but JS \s takes both
    ("Nothing here is odd. Notes, but fine.", 0),
])
def test_hand_checked_hits(text, hits):
    assert len(contrast_starts(text)) == hits
    assert contrast_starts(text) == contrast_starts(text, everywhere=True)


def test_utf16_units():
    assert js_len("a\U0001F600b") == 4 and len(js_text("a\U0001F600b")) == 4
    assert js_len("caf\u00e9") == 4 and js_text("plain") == "plain"
    # the {1,100} bound counts UTF-16 units: 50 emoji are 100 units, 51 are too many
    assert len(contrast_starts("It is not " + "\U0001F600" * 49 + " x, but a feature.")) == 1
    assert len(contrast_starts("It is not " + "\U0001F600" * 51 + " x, but a feature.")) == 0


def test_candidate_search_equals_whole_text_search_on_odd_text():
    """Long whitespace runs and words (the view widens to the whole text), matches across
    sentences and blank lines, quotes, upper case: the same hits either way."""
    rng = random.Random(7)
    pieces = ["It is not a bug, but a feature.", "They didn't run. They ran.", "This is not it.",
              "It's not just fun. It's work.", '"You\'re not just tired," she said. "You\'re lost."',
              "No longer young; it was old.", "The cat sat.", "Nothing is not here!", "He isn't sad? It is fine.",
              " " * 300, "x" * 300, "\n\n", "IT WAS NOT A TEST - IT WAS REAL.", "We weren't sure. It was late.",
              "that is not all, but", "enough said."]
    text = " ".join(rng.choice(pieces) for _ in range(3000))
    starts = contrast_starts(text)
    assert len(starts) > 300
    assert starts == contrast_starts(text, everywhere=True)
