"""slop-score's ``top_over_represented`` words: content words (slop-score tokens that are not
stop words) of the first 150 samples, a plural/possessive "'s" folded into its word (not in
"it's", "let's" and the like), each word's share of them against its frequency in English
(wordfreq's large English list, as slop-score's port reads it: frequency 10^(zipf - 9), zipf
from the word's bin); words used at least twice and more than 1.5 times as often as in English,
most over-represented first, 100 at most. As slop-score does, only the first 150 samples count.

Word frequencies come from the ``wordfreq`` package (its data: CC BY-SA 4.0, Robyn Speer,
https://doi.org/10.5281/zenodo.7199437), read at run time, not bundled.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dada_plugin.eval.corpus import Corpus, content_mask

FIRST_SAMPLES = 150
MIN_RATIO, MIN_COUNT, TOP = 1.5, 2, 100
CONTRACTIONS_S = frozenset(("it's", "that's", "what's", "who's", "he's", "she's", "there's", "here's",
                            "where's", "when's", "why's", "how's", "let's"))


@lru_cache(maxsize=1)
def zipf_table() -> dict[str, float]:
    """word -> zipf, bin by bin (a word listed twice keeps its last bin, as slop-score's map)."""
    import wordfreq

    table = {}
    for i, words in enumerate(wordfreq.get_frequency_list("en", "large")):
        zipf = (-i + 900) / 100.0
        for word in words:
            table[word] = zipf
    return table


def frequency(word: str) -> float:
    """slop-score's ``lookupFrequency``: the word's share of English text, 0 when unknown."""
    zipf = zipf_table().get(word, 0.0)
    return 10 ** (zipf - 9) if zipf > 0 else 0.0


def merge_possessives(counts: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for word, n in counts.items():
        if word.endswith("'s") and word not in CONTRACTIONS_S and word[:-2]:
            word = word[:-2]
        merged[word] = merged.get(word, 0) + n
    return merged


def top_words(corpus: Corpus) -> list[dict]:
    """[{"word", "ratio", "count"}, ...] as slop-score's top_over_represented.words."""
    end = int(corpus.bounds[min(FIRST_SAMPLES, corpus.n_records)])
    ids = corpus.ids[:end][content_mask(corpus)[:end]]
    found, first, n = np.unique(ids, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # slop-score counts in a Map: first-seen order
    counts = merge_possessives({corpus.vocab[found[i]]: int(n[i]) for i in order})
    total = sum(counts.values())
    rows = []
    for word, count in counts.items():
        base = frequency(word)
        if not base:
            continue
        ratio = count / total / base
        if ratio > MIN_RATIO and count >= MIN_COUNT:
            rows.append({"word": word, "ratio": ratio, "count": count})
    rows.sort(key=lambda r: -r["ratio"])  # stable, as JavaScript's sort
    return rows[:TOP]
