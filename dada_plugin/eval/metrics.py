"""Slop and diversity metrics, registered in ``registry.METRICS``.

Counting follows slop-score's leaderboard (see ``tokenize`` and ``lists``): slop words and
trigrams per 1000 tokens of the joined stream, MATTR over every 500-token window of that stream
(plain TTR below 500 tokens), average sentence length over the text split on ``.!?`` runs.
The others are this project's: antislop phrase hits, distinct-n (n-grams inside one text),
Flesch-Kincaid grade, "not X but Y" surface patterns, and the cross-prompt repetition ("semantic
funnel"): the share of content-word trigrams (stop words removed) that recur in the outputs of
at least ``FUNNEL_MIN_PROMPTS`` different prompts.
"""

from __future__ import annotations

import numpy as np

from dada_plugin.eval.bootstrap import intervals
from dada_plugin.eval.corpus import Corpus, build_corpus, content_mask
from dada_plugin.eval.leaderboard import WEIGHTS, rank, rank_text
from dada_plugin.eval.leaderboard import slop_score as composite
from dada_plugin.eval.overused import top_words
from dada_plugin.text.lists import SlopLists, load_lists
from dada_plugin.eval.matching import Matches, find
from dada_plugin.eval.registry import METRICS, metric
from dada_plugin.eval.stats import Distinct, Formula, Funnel, dense, per_1k, ratio

WINDOW = 500
FUNNEL_N = 3
FUNNEL_MIN_PROMPTS = 3
TOP_K = 10


# -- shared pieces -------------------------------------------------------------------------

# the listed token runs each hit metric looks for, from the normalised lists
RUNS = {
    "slop_words": lambda lists: [(w,) for w in sorted(lists.words)],
    # a trigram entry is one string; slop-score compares it with "a b c" of three tokens
    "slop_trigrams": lambda lists: [r for r in (tuple(t.split(" ")) for t in sorted(lists.trigrams))
                                    if len(r) == 3],
    "antislop_phrases": lambda lists: list(lists.phrases),
}


def hits(corpus: Corpus, lists: SlopLists, kind: str) -> Matches:
    """Occurrences of the ``kind`` list in the corpus (cached per normalisation)."""
    return corpus.cached((kind, lists.legacy), lambda: find(corpus, RUNS[kind](lists)))


def hits_per_1k_words(kind: str):
    def fn(corpus, lists):
        return per_1k(corpus.per_record(hits(corpus, lists, kind).starts),
                      corpus.tokens_per_record())
    return fn


WINDOW_BLOCK = 1 << 18  # window starts computed at a time


def window_distinct(ids: np.ndarray, window: int) -> np.ndarray:
    """Distinct tokens in each ``window``-token sliding window (one entry per start), a block
    of starts at a time: within ids[a:b+window-1] a token whose previous occurrence lies before
    a counts as new, which is exact for windows starting at a or later."""
    starts = ids.size - window + 1
    if starts <= WINDOW_BLOCK:
        return _window_distinct(ids, window)
    out = np.empty(starts, dtype=np.int64)
    for a in range(0, starts, WINDOW_BLOCK):
        b = min(starts, a + WINDOW_BLOCK)
        out[a:b] = _window_distinct(ids[a:b + window - 1], window)
    return out


def _window_distinct(ids: np.ndarray, window: int) -> np.ndarray:
    n = ids.size
    starts = n - window + 1
    # previous position of the same token: sort (token, position) pairs packed in one int64
    packed = np.sort(ids * n + np.arange(n))
    tok, order = np.divmod(packed, n)
    prev = np.full(n, -1, dtype=np.int64)
    same = tok[1:] == tok[:-1]
    prev[order[1:][same]] = order[:-1][same]
    # position j is the first of its type in the windows i with
    # max(prev + 1, j - w + 1, 0) <= i <= min(j, n - w)
    j = np.arange(n)
    lo = np.maximum(np.maximum(prev + 1, j - window + 1), 0)
    hi = np.minimum(j, starts - 1)
    ok = lo <= hi
    delta = (np.bincount(lo[ok], minlength=starts + 1)
             - np.bincount(hi[ok] + 1, minlength=starts + 1))
    return np.cumsum(delta[:starts])


def distinct_of(corpus: Corpus, codes: np.ndarray, starts: np.ndarray) -> Distinct:
    """Distinct statistic of item occurrences at token positions ``starts``."""
    rec = corpus.record_of(starts)
    return Distinct(codes, rec, np.bincount(rec, minlength=corpus.n_records).astype(float))


def type_stat(corpus: Corpus) -> Distinct:
    """Distinct tokens: the vocabulary is already the set of types."""
    def build():
        stat = distinct_of(corpus, corpus.ids, np.arange(corpus.n_tokens))
        stat.n_distinct = len(corpus.vocab)
        return stat
    return corpus.cached("types", build)


def funnel_parts(corpus: Corpus):
    """Content-word trigrams inside each record: (the Funnel statistic, for each distinct
    trigram one start position in the content-word stream, that stream's ids)."""
    def build():
        mask = content_mask(corpus)
        cids = corpus.ids[mask]
        cbounds = np.concatenate(([0], np.cumsum(corpus.segment_sum(mask)))).astype(np.int64)
        codes, starts = corpus.ngram_codes(FUNNEL_N, ids=cids, bounds=cbounds)
        items = dense(codes)
        rec = np.searchsorted(cbounds, starts, side="right") - 1
        n_items = int(items.max()) + 1 if items.size else 1
        pair = np.sort(rec * n_items + items)
        first = np.concatenate(([True], pair[1:] != pair[:-1])) if pair.size else pair.astype(bool)
        counts = np.diff(np.concatenate((np.flatnonzero(first), [pair.size])))
        upair = pair[first]
        stat = Funnel(upair // n_items, upair % n_items, counts.astype(float), corpus.groups,
                      FUNNEL_MIN_PROMPTS)
        where = np.zeros(n_items, dtype=np.int64)
        where[items[::-1]] = starts[::-1]
        return stat, where, cids
    return corpus.cached("funnel", build)


# -- the metrics ---------------------------------------------------------------------------

@metric("slop_score", "Slop Score (leaderboard composite)", better="lower")
def slop_score(corpus, lists):
    """The leaderboard's composite of slop words, "not X but Y" and slop trigrams (see
    :mod:`.leaderboard`), resampled through its parts."""
    parts = {}
    for key, _ in WEIGHTS:
        rate = METRICS[key].fn(corpus, lists)
        parts[key + "/num"], parts[key + "/den"] = rate.parts["num"], rate.parts["den"]
    return Formula(parts, lambda s: composite({key: ratio(s[key + "/num"], s[key + "/den"], 1000.0)
                                               for key, _ in WEIGHTS}), (0.0, 100.0))


metric("slop_list_matches_per_1k_words", "slop words / 1k words",
       better="lower")(hits_per_1k_words("slop_words"))
metric("slop_trigram_matches_per_1k_words", "slop trigrams / 1k words",
       better="lower")(hits_per_1k_words("slop_trigrams"))
metric("antislop_phrase_matches_per_1k_words", "cliché phrases / 1k words",
       better="lower")(hits_per_1k_words("antislop_phrases"))


def joined_chars(corpus) -> np.ndarray:
    """Characters per record in the joined text (UTF-16 units): each text and the blank line
    that joins it to the previous one."""
    chars = corpus.chars + 2.0
    if chars.size:
        chars[0] -= 2.0
    return chars


@metric("not_x_but_y_per_1k_chars", "'not X but Y' / 1k chars", better="lower")
def not_x_but_y(corpus, lists):
    return per_1k(corpus.contrasts, joined_chars(corpus))


def mattr(ids: np.ndarray, window: int = WINDOW) -> float:
    """slop-score's MATTR: the mean type-token ratio of every ``window``-token window of the
    stream; the plain type-token ratio of a shorter stream."""
    if ids.size < window:
        return ratio(np.unique(ids).size, ids.size)
    per_window = window_distinct(ids, window) / window
    return float(per_window.sum() / per_window.size)


class Mattr:
    """MATTR whose bootstrap recomputes the windows: a resample is the stream of the drawn
    records (each as often as drawn, in record order), its windows counted afresh."""

    limits = (0.0, 1.0)

    def __init__(self, ids: np.ndarray, bounds: np.ndarray):
        self.ids, self.bounds = ids, bounds

    def value(self) -> float:
        return mattr(self.ids)

    def resample(self, weights: np.ndarray) -> float:
        order = np.repeat(np.arange(weights.size), weights.astype(np.int64))
        starts, lengths = self.bounds[:-1][order], np.diff(self.bounds)[order]
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return mattr(self.ids[offsets + np.arange(offsets.size)])


@metric("mattr_500", "MATTR-500", path=("lexical_diversity", "mattr_500"), better="higher")
def mattr_500(corpus, lists):
    return Mattr(corpus.ids, corpus.bounds)


@metric("type_token_ratio", "type-token ratio", path=("lexical_diversity", "type_token_ratio"),
        better="higher")
def type_token_ratio(corpus, lists):
    return type_stat(corpus)


@metric("distinct_1", "distinct-1", better="higher")
def distinct_1(corpus, lists):
    return type_stat(corpus)


def distinct_n(n: int):
    def fn(corpus, lists):
        codes, starts = corpus.ngram_codes(n)
        return distinct_of(corpus, codes, starts)
    return fn


metric("distinct_2", "distinct-2", better="higher")(distinct_n(2))
metric("distinct_3", "distinct-3", better="higher")(distinct_n(3))


@metric("avg_sentence_length", "avg sentence length (words)")
def avg_sentence_length(corpus, lists):
    return Formula({"words": corpus.sentence_words, "sentences": corpus.sentences},
                   lambda s: ratio(s["words"], s["sentences"]), (0.0, np.inf))


def vocab_grade(s) -> float:
    """slop-score's vocab_level: the Flesch-Kincaid grade 0.39 words/sentence + 11.8
    syllables/word - 15.59 over ASCII \\w+ words, at least 0."""
    if not s["words"] or not s["sentences"]:
        return 0.0
    return max(0.0, 0.39 * s["words"] / s["sentences"] + 11.8 * s["syllables"] / s["words"] - 15.59)


@metric("vocab_level", "vocab level (Flesch-Kincaid grade)")
def vocab_level(corpus, lists):
    return Formula({"words": corpus.sentence_words, "sentences": corpus.sentences,
                    "syllables": corpus.syllables}, vocab_grade)


@metric("avg_paragraph_length", "avg paragraph length (words)")
def avg_paragraph_length(corpus, lists):
    return Formula({"words": corpus.sentence_words, "paragraphs": corpus.paragraphs},
                   lambda s: ratio(s["words"], s["paragraphs"]), (0.0, np.inf))


@metric("dialogue_frequency", "dialogue (quote pairs / 1k chars)")
def dialogue_frequency(corpus, lists):
    return Formula({"quotes": corpus.quotes, "chars": joined_chars(corpus)},
                   lambda s: ratio(s["quotes"] / 2 * 1000, s["chars"]), (0.0, np.inf))


@metric("cross_prompt_repetition", "cross-prompt repetition (funnel)", better="lower")
def cross_prompt_repetition(corpus, lists):
    return funnel_parts(corpus)[0]


# -- putting it together -------------------------------------------------------------------

def funnel_top(corpus: Corpus, k: int = TOP_K) -> list[list]:
    """[[trigram, prompts using it], ...] for trigrams used by at least FUNNEL_MIN_PROMPTS."""
    stat, where, cids = funnel_parts(corpus)
    spread = stat.spread()
    occ = np.bincount(stat.item, weights=stat.count, minlength=spread.size)
    wide = np.flatnonzero(spread >= FUNNEL_MIN_PROMPTS)
    rows = [(" ".join(corpus.vocab[t] for t in cids[where[i]:where[i] + FUNNEL_N]),
             int(spread[i]), int(occ[i])) for i in wide]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return [[text, n] for text, n, _ in rows[:k]]


def statistics(corpus: Corpus, lists: SlopLists) -> dict:
    """name -> statistic for every registered metric."""
    return {name: spec.fn(corpus, lists) for name, spec in METRICS.items()}


def layout(values: dict[str, float], corpus: Corpus) -> dict:
    """Flat metric values placed in slop-score's nesting, with the lexical counts."""
    out: dict = {}
    for name, spec in METRICS.items():
        node = out
        for key in spec.path[:-1]:
            node = node.setdefault(key, {})
        node[spec.path[-1]] = values[name]
    lex = out.setdefault("lexical_diversity", {})
    lex["unique_words"] = type_stat(corpus).distinct() if corpus.n_tokens else 0
    lex["total_words"] = corpus.n_tokens
    return out


def top_offenders(corpus: Corpus, lists: SlopLists, k: int = TOP_K) -> dict:
    top = {kind: hits(corpus, lists, kind).top(k) for kind in RUNS}
    top["cross_prompt_trigrams"] = funnel_top(corpus, k)
    return top


def analyse(samples, *, legacy: bool = False, corpus: Corpus | None = None,
            n_resamples: int | None = None, seed: int = 0) -> dict:
    """Metrics of ``samples`` [(prompt, output), ...]: {"sample_count", "total_chars",
    "metrics" (slop-score's layout), "top_offenders"}; with ``n_resamples`` given also
    "values" (flat) and "ci" (flat name -> [low, high], bootstrap over prompts; 0 resamples
    gives [value, value])."""
    corpus = corpus or build_corpus(samples)
    lists = load_lists(legacy)
    if n_resamples is None:  # values only: each statistic is dropped once it gave its value
        values = {name: spec.fn(corpus, lists).value() for name, spec in METRICS.items()}
    else:
        stats = statistics(corpus, lists)
        values = {name: stat.value() for name, stat in stats.items()}
    score = values["slop_score"]
    out = {
        "sample_count": corpus.n_records,
        "total_chars": corpus.joined_chars,
        "metrics": layout(values, corpus),
        "leaderboard": {**rank(score), "text": rank_text(score)},
        "top_over_represented": {"words": top_words(corpus)},
        "top_offenders": top_offenders(corpus, lists),
    }
    if n_resamples is not None:

        out["values"] = values
        out["ci"] = intervals(stats, corpus.groups, n_resamples=n_resamples, seed=seed)
    return out
