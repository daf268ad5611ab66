"""Every metric on tiny texts, with the expected values worked out by hand in the comments."""

from __future__ import annotations

import itertools
import string

import numpy as np
import pytest

from dada_plugin.eval.corpus import build_corpus
from dada_plugin.text.lists import load_lists
from dada_plugin.eval.metrics import METRICS, analyse, statistics, window_distinct

CLICHE = "She felt shivers down her spine. It was a testament to the tapestry of night!"


def metrics_of(*texts, legacy=False, prompts=None):
    prompts = prompts or [None] * len(texts)
    return analyse(list(zip(prompts, texts)), legacy=legacy)["metrics"]


def test_registry_has_every_metric_of_the_issue():
    assert list(METRICS) == [
        "slop_score", "slop_list_matches_per_1k_words", "slop_trigram_matches_per_1k_words",
        "antislop_phrase_matches_per_1k_words", "not_x_but_y_per_1k_chars", "mattr_500",
        "type_token_ratio", "distinct_1", "distinct_2", "distinct_3", "avg_sentence_length",
        "vocab_level", "avg_paragraph_length", "dialogue_frequency", "cross_prompt_repetition"]


def test_slop_words_phrases_sentences_and_grade_on_one_cliche():
    result = analyse([(None, CLICHE)])
    m = result["metrics"]
    # 15 tokens: she felt shivers down her spine it was a testament to the tapestry of night
    assert m["lexical_diversity"] == {"mattr_500": 1.0, "type_token_ratio": 1.0,
                                      "unique_words": 15, "total_words": 15}
    # slop words: shivers, tapestry -> 2 / 15 * 1000
    assert m["slop_list_matches_per_1k_words"] == pytest.approx(2 / 15 * 1000)
    # antislop phrases: "shivers down", "testament to", "tapestry" -> 3 / 15 * 1000
    assert m["antislop_phrase_matches_per_1k_words"] == pytest.approx(200.0)
    assert m["slop_trigram_matches_per_1k_words"] == 0.0
    # 2 sentences, 15 words
    assert m["avg_sentence_length"] == 7.5
    # syllables 1+1+2+1+1+1+1+1+1+3+1+1+3+1+1 = 20: 0.39*7.5 + 11.8*20/15 - 15.59
    assert m["vocab_level"] == pytest.approx(0.39 * 7.5 + 11.8 * 20 / 15 - 15.59)
    assert result["top_offenders"]["slop_words"] == [["shivers", 1], ["tapestry", 1]]
    assert result["top_offenders"]["antislop_phrases"] == [
        ["shivers down", 1], ["tapestry", 1], ["testament to", 1]]
    assert result["sample_count"] == 1 and result["total_chars"] == len(CLICHE) == 77


def test_slop_trigrams_count_raw_token_triples():
    # 8 tokens; "took deep breath" at tokens 1 and 5; "took a deep breath" is no hit
    # (slop-score does not remove stop words from the text)
    m = metrics_of("She took deep breath and took deep breath.", "He took a deep breath.")
    assert m["lexical_diversity"]["total_words"] == 13
    assert m["slop_trigram_matches_per_1k_words"] == pytest.approx(2 / 13 * 1000)


def test_trigrams_span_texts_like_the_joined_stream():
    # slop-score joins the texts: "took | deep breath" across two texts is one hit
    m = metrics_of("I took", "deep breath")
    assert m["slop_trigram_matches_per_1k_words"] == pytest.approx(1 / 4 * 1000)


def test_legacy_normalization_cuts_entries_at_the_apostrophe():
    # fixed: "k'tharr" is a slop word, "today's fast paced" a trigram;
    # legacy: the entries became "k" and "today" (a one-word "trigram" never matches)
    text = "Plan k: k'tharr came in today's fast paced world."
    fixed, legacy = metrics_of(text), metrics_of(text, legacy=True)
    assert fixed["lexical_diversity"]["total_words"] == 9
    assert fixed["slop_list_matches_per_1k_words"] == pytest.approx(1 / 9 * 1000)
    assert legacy["slop_list_matches_per_1k_words"] == pytest.approx(1 / 9 * 1000)
    assert fixed["slop_trigram_matches_per_1k_words"] == pytest.approx(1 / 9 * 1000)
    assert legacy["slop_trigram_matches_per_1k_words"] == 0.0
    words = lambda legacy: analyse([(None, text)], legacy=legacy)["top_offenders"]["slop_words"]
    assert words(False) == [["k'tharr", 1]] and words(True) == [["k", 1]]


def test_not_x_but_y_per_1k_chars():
    text = ("It is not a bug, but a feature. I do not know, but fine. "
            "This isn't a game; it's a war. It's not just luck but skill.")
    # hits: "not a bug, but", "isn't a game; it's", "not just luck but";
    # "do not know, but" is a negated verb, not a contrast
    assert len(text) == 117
    assert metrics_of(text)["not_x_but_y_per_1k_chars"] == pytest.approx(3 / 117 * 1000)


def test_characters_include_the_joining_blank_lines():
    # 2 texts of 24 and 3 characters joined by "\n\n": 29 characters, 1 contrast
    m = analyse([(None, "Not a bug, but a feature"), (None, "Ok.")])
    assert m["total_chars"] == 29
    assert m["metrics"]["not_x_but_y_per_1k_chars"] == pytest.approx(1 / 29 * 1000)


def test_type_token_ratio_and_distinct_n():
    # "a b a b" + "a b": 6 tokens, 2 types; bigrams inside texts: ab ba ab | ab -> 2 of 4;
    # trigrams: aba bab | (none) -> 2 of 2
    m = metrics_of("a b a b", "a b")
    assert m["lexical_diversity"]["type_token_ratio"] == pytest.approx(2 / 6)
    assert m["distinct_1"] == pytest.approx(2 / 6)
    assert m["distinct_2"] == 0.5
    assert m["distinct_3"] == 1.0
    assert m["lexical_diversity"]["mattr_500"] == pytest.approx(2 / 6)  # < 500 tokens: TTR


def words500():
    return ["w" + a + b for a, b in itertools.product(string.ascii_lowercase, repeat=2)][:500]


def test_mattr_500_over_sliding_windows():
    # 500 distinct words then 100 x "x": window i (0..100) holds 500 - i distinct words plus
    # "x" once i >= 1 -> 500 + sum_{i=1..100} (501 - i) = 45550 over 101 windows of 500
    text = " ".join(words500() + ["x"] * 100)
    m = metrics_of(text)
    assert m["lexical_diversity"]["mattr_500"] == pytest.approx(45550 / (101 * 500))
    assert m["lexical_diversity"]["unique_words"] == 501


def test_window_distinct_matches_brute_force():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 12, 60)
    expected = [len(set(ids[i:i + 20])) for i in range(41)]
    assert window_distinct(ids, 20).tolist() == expected


def test_sentence_length_fuses_open_sentences_across_texts():
    # joined "One two\n\nthree four." is one sentence of four words
    assert metrics_of("One two", "three four.")["avg_sentence_length"] == 4.0
    assert metrics_of("One two.", "three four.")["avg_sentence_length"] == 2.0


def test_vocab_level_is_never_below_zero():
    # 6 words, 2 sentences, 6 syllables: 0.39*3 + 11.8*1 - 15.59 < 0, so slop-score reports 0
    assert metrics_of("The cat sat. The dog ran.")["vocab_level"] == 0.0
    # 8 words (2024 is one), 1 sentence, 15 syllables: beautiful 4, tapestry 3, wonderful 3,
    # the five short words and 2024 one each
    m = metrics_of("A beautiful tapestry, the wonderful sea of 2024")
    assert m["vocab_level"] == pytest.approx(0.39 * 8 + 11.8 * 15 / 8 - 15.59)


def test_paragraphs_and_dialogue():
    # paragraphs: split on a newline, any whitespace, a newline; blank pieces do not count
    text = 'He said "hi."\n \t\nShe said \u201cno\u201d.\n\n\n  \n\nEnd'
    m = metrics_of(text)
    assert m["avg_paragraph_length"] == pytest.approx(7 / 3)  # 7 words, 3 paragraphs
    # 4 double quotes (straight and curly) = 2 pairs over the UTF-16 length
    assert m["dialogue_frequency"] == pytest.approx(2 / len(text) * 1000)
    # a character beyond U+FFFF is two units, as JavaScript counts
    m = metrics_of('"Ok" \U0001F600')
    assert m["dialogue_frequency"] == pytest.approx(1 / 7 * 1000)


FUNNEL = [("p1", "Her heart pounding chest."), ("p2", "Heart pounding chest today"),
          ("p3", "My heart pounding chest"), ("p4", "Calm quiet blue sea")]


def test_cross_prompt_repetition():
    # content trigrams: [hpc] [hpc, pca] [hpc] [cqb, qbs] = 6; "heart pounding chest" is
    # used by 3 prompts (the threshold) -> 3 of 6 occurrences
    result = analyse(FUNNEL)
    assert result["metrics"]["cross_prompt_repetition"] == 0.5
    assert result["top_offenders"]["cross_prompt_trigrams"] == [["heart pounding chest", 3]]


def test_cross_prompt_repetition_counts_prompts_not_outputs():
    # the same prompt twice: the phrase reaches only 2 prompts
    same = [("p1", t) if p == "p3" else (p, t) for p, t in FUNNEL]
    assert analyse(same)["metrics"]["cross_prompt_repetition"] == 0.0


def test_empty_input_gives_zeros():
    m = analyse([])["metrics"]
    assert m["slop_list_matches_per_1k_words"] == 0.0
    assert m["lexical_diversity"] == {"mattr_500": 0.0, "type_token_ratio": 0.0,
                                      "unique_words": 0, "total_words": 0}
    from dada_plugin.eval.leaderboard import slop_score

    assert m["vocab_level"] == 0.0 and m["slop_score"] == pytest.approx(slop_score({}))


def test_resample_with_all_weights_one_is_the_value():
    corpus = build_corpus(FUNNEL + [(None, CLICHE), (None, " ".join(words500()))])
    for name, stat in statistics(corpus, load_lists(False)).items():
        assert stat.resample(np.ones(corpus.n_records)) == pytest.approx(stat.value()), name


def test_resample_dropping_prompts_equals_measuring_the_rest():
    # TTR, distinct-n and the funnel only look inside texts: a resample that draws some
    # prompts once and drops the others is the same as measuring those texts alone
    samples = FUNNEL + [("p5", "heart pounding chest"), ("p6", "quiet blue sea calm")]
    keep = [0, 1, 4, 5]
    stats = statistics(build_corpus(samples), load_lists(False))
    weights = np.zeros(len(samples))
    weights[keep] = 1
    alone = statistics(build_corpus([samples[i] for i in keep]), load_lists(False))
    for name in ("type_token_ratio", "distinct_2", "distinct_3", "cross_prompt_repetition"):
        assert stats[name].resample(weights) == pytest.approx(alone[name].value()), name
    assert alone["cross_prompt_repetition"].value() == pytest.approx(3 / 6)
