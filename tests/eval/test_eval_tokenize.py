"""Tokens, sentences and syllables, against slop-score's rules worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dada_plugin.text.tokenize import (
    TOKEN, normalise, normalised_tokens, sentence_scan, tokens)


def test_tokens_follow_slop_score_rules():
    text = "Don\u2019t 'quote' me: rock'n'roll, y'all''s ''tis 3D O'Neil's \u00e9clair"
    # curly apostrophe straightened; leading/trailing apostrophes stripped; two inner
    # apostrophes (rock'n'roll, y'all''s, o'neil's) drop the token; digits and accents split words
    assert tokens(text) == ["don't", "quote", "me", "tis", "d", "clair"]


@pytest.mark.parametrize("text", [
    "a''b 'x' ''y'' it's-fine don't' l'l'l mid'dle '' ' end'",
    "'start a' 'a'b' it's' ''' x'", "'", "''a''", "a'b\nc'd", "\u00e9'a b'\u00e9",
    "\u201cQuoted,\u201d she said \u2018twice\u2019.\n\nNext...",
    "",
])
def test_fast_tokenizer_equals_the_reference_regex(text):
    low = normalise(text)
    assert normalised_tokens(low) == TOKEN.findall(low)


def test_fast_tokenizer_on_random_strings():
    rng = np.random.default_rng(0)
    alphabet = list("ab'' .\n\u2019\u00e9Z")
    for _ in range(300):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 30))))
        low = normalise(text)
        assert normalised_tokens(low) == TOKEN.findall(low), text


def test_normalise_lowers_and_straightens_quotes():
    assert normalise("\u201cHI\u201d \u2018x\u2019") == "\"hi\" 'x'"


def test_sentence_scan_counts_pieces_and_words_per_record():
    texts = ["Hi there. How are you? Fine!", "I have 3 cats.", "One two", "three four."]
    joined = "\n\n".join(texts)
    starts = np.array([0, 30, 46, 55])
    assert [joined[s] for s in starts] == ["H", "I", "O", "t"]
    sentences, words, ends = sentence_scan(joined, starts)
    # "One two" and "three four." fuse into one sentence across the blank line
    assert sentences.tolist() == [3, 1, 1, 0]
    assert words.tolist() == [6, 4, 2, 2]
    assert ends is True
    # in two batches, the open sentence carries over the batch boundary
    head, open_end = sentence_scan("\n\n".join(texts[:3]), starts[:3])[::2]
    tail = sentence_scan(texts[3], np.array([0]), open_end)
    assert (head.tolist(), open_end, tail[0].tolist()) == ([3, 1, 1], False, [0])


def test_batched_corpus_equals_one_batch(monkeypatch):
    from dada_plugin.eval import corpus as C
    from dada_plugin.eval.metrics import analyse

    texts = [(None, f"Sample {i} shivers down the spine" + ("." if i % 3 else "")) for i in range(50)]
    whole = analyse(texts)
    monkeypatch.setattr(C, "BATCH", 7)
    assert analyse(texts) == whole


def _js_syllables(word: str) -> int:
    """slop-score's countSyllables, word by word (the reference fk_syllables equals)."""
    import re

    word = word.lower()
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)\Z", "", word, count=1)
    word = re.sub(r"^y", "", word)
    return len(re.findall(r"[aeiouy]{1,2}", word)) or 1


@pytest.mark.parametrize("word,n", [
    ("cat", 1), ("table", 2), ("make", 1), ("beautiful", 4), ("happy", 2), ("free", 1),
    ("the", 1), ("people", 2), ("queue", 2), ("rhythm", 1), ("tapestry", 3), ("bored", 1),
    ("boxes", 1), ("ybes", 1), ("yellowed", 2), ("2024", 1), ("snake_case", 3), ("Queueing", 3)])
def test_fk_syllables_per_word(word, n):
    from dada_plugin.text.tokenize import fk_syllables

    assert _js_syllables(word) == n
    assert fk_syllables(word, 1) == n


def test_fk_syllables_of_a_text_sum_its_ascii_words():
    from dada_plugin.text.tokenize import fk_syllables

    text = "The tapestry's rhythm—beautiful! Café naïve, ybes & 42 queues; y'all BORED?\n\nAgain."
    words = __import__("re").findall(r"[A-Za-z0-9_]+", text)
    assert fk_syllables(text, len(words)) == sum(map(_js_syllables, words)) == 22