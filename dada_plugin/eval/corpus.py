"""A set of texts turned into arrays once, so that every metric (and every bootstrap resample)
is numpy work on integers rather than Python work on strings.

The token stream is the concatenation of each text's tokens, which is exactly slop-score's
stream of the texts joined with a blank line (no token spans the blank line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, count
from typing import Iterable, Sequence

import numpy as np

from dada_plugin.eval import Sample
from dada_plugin.eval.contrast import contrast_starts, hits_per_record, js_len
from dada_plugin.text.tokenize import (
    STOPWORDS,
    fk_syllables,
    normalise,
    normalised_tokens,
    paragraph_count,
    sentence_scan,
)

HASH_MULT = np.uint64(0x9E3779B97F4A7C15)

@dataclass
class Corpus:
    """Texts as arrays. Per-record arrays have one entry per text, in input order."""

    prompts: list[str | None]       # None: a prompt of its own
    vocab: list[str]                 # token id -> token
    index: dict[str, int]            # token -> token id
    ids: np.ndarray                  # int64 token ids of the joined stream
    bounds: np.ndarray               # token offsets: record r is ids[bounds[r]:bounds[r+1]]
    chars: np.ndarray                # characters per record (UTF-16 units, as JavaScript counts)
    sentences: np.ndarray            # sentences per record (fused across open joins)
    sentence_words: np.ndarray       # ASCII \w+ words per record
    syllables: np.ndarray            # slop-score's syllables of those words, per record
    paragraphs: np.ndarray           # paragraphs per record (split on blank lines)
    quotes: np.ndarray               # double quotes per record (straight and curly)
    contrasts: np.ndarray            # slop-score's "not X but Y" hits per record
    groups: np.ndarray               # prompt group id per record (same prompt, same group)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_records(self) -> int:
        return len(self.bounds) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.ids.size)

    @property
    def joined_chars(self) -> int:
        """Length of the texts joined with a blank line (slop-score's character count)."""
        return int(self.chars.sum()) + 2 * max(self.n_records - 1, 0)

    @property
    def token_record(self) -> np.ndarray:
        """Record index of every token position."""
        return self.cached("token_record", lambda: np.repeat(
            np.arange(self.n_records, dtype=np.int32 if self.n_records < 2**31 else np.int64),
            np.diff(self.bounds)))

    def record_of(self, positions: np.ndarray) -> np.ndarray:
        """Record index of each token position."""
        return self.token_record[positions]

    def per_record(self, positions: np.ndarray) -> np.ndarray:
        """Number of the given token positions in each record."""
        return np.bincount(self.record_of(positions), minlength=self.n_records).astype(float)

    def segment_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of a per-token array within each record."""
        cs = np.concatenate(([0.0], np.cumsum(values, dtype=float)))
        return cs[self.bounds[1:]] - cs[self.bounds[:-1]]

    def tokens_per_record(self) -> np.ndarray:
        return np.diff(self.bounds).astype(float)

    def membership(self, words) -> np.ndarray:
        """A boolean array over the vocabulary: is token id i one of ``words``?"""
        arr = np.zeros(len(self.vocab), dtype=bool)
        arr[[i for i in map(self.index.get, words) if i is not None]] = True
        return arr

    def cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def ngram_codes(self, n: int, ids: np.ndarray | None = None,
                    bounds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(64-bit hash code, start position) of every n-gram inside one record (of the token
        stream, or of ``ids`` cut by ``bounds``). Distinct n-grams are counted by their codes: a
        64-bit collision among a corpus's n-grams is possible in principle, negligible in
        practice."""
        ids = self.ids if ids is None else ids
        bounds = self.bounds if bounds is None else bounds
        size = ids.size - n + 1
        if size <= 0:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        codes = ngram_hash(ids, n)
        if n == 1:
            return codes, np.arange(size)
        rec = (self.token_record if ids is self.ids else
               np.repeat(np.arange(bounds.size - 1, dtype=np.int32), np.diff(bounds)))
        starts = np.flatnonzero(rec[:size] == rec[n - 1:])  # n-grams inside one record
        return codes[starts], starts


def ngram_hash(ids: np.ndarray, n: int, starts: np.ndarray | None = None) -> np.ndarray:
    """Polynomial 64-bit hash of ids[p:p+n] for every start p (or the given starts)."""
    u = ids.astype(np.uint64, copy=False)
    if starts is None:
        size = u.size - n + 1
        h = u[:size].copy()
        for i in range(1, n):
            h = h * HASH_MULT + u[i:i + size]
    else:
        h = u[starts].copy()
        for i in range(1, n):
            h = h * HASH_MULT + u[starts + i]
    return h


class Interner:
    """Token ids numbered by first occurrence, fed a batch of records at a time (so a large
    input never holds every token as a Python string at once). One C-level pass per batch:
    setdefault stores each new token's stream position; ``finish`` renumbers to 0..V-1."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self._position = count()
        self._firsts: list[np.ndarray] = []

    def add(self, per_record: list[list[str]]) -> None:
        n = sum(map(len, per_record))
        self._firsts.append(np.fromiter(map(self.index.setdefault, chain.from_iterable(per_record),
                                            self._position), dtype=np.int64, count=n))

    def finish(self) -> tuple[np.ndarray, dict[str, int]]:
        first = np.concatenate(self._firsts) if self._firsts else np.zeros(0, np.int64)
        positions = np.fromiter(self.index.values(), dtype=np.int64, count=len(self.index))
        renumber = np.zeros(first.size, dtype=np.int64)
        renumber[positions] = np.arange(positions.size)
        for i, tok in enumerate(self.index):
            self.index[tok] = i
        return renumber[first], self.index


BATCH = 2048  # records tokenised at a time


def _starts(lengths) -> np.ndarray:
    """Offsets of texts of these lengths joined with a blank line."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(lengths.size, dtype=np.int64)
    if lengths.size:
        np.cumsum(lengths[:-1] + 2, out=out[1:])
    return out


def build_corpus(samples: Sequence[Sample] | Iterable[Sample]) -> Corpus:
    """Tokenise each (prompt, output) once and keep what every metric needs. Records are
    tokenised a batch at a time: memory grows with the token ids, not with token strings."""
    samples = samples if isinstance(samples, list) else list(samples)
    prompts = [p for p, _ in samples]
    texts = [t or "" for _, t in samples]
    n = len(texts)
    interner = Interner()
    lengths = np.zeros(n, dtype=np.int64)
    points = np.array([len(t) for t in texts], dtype=np.int64)
    chars = np.array([js_len(t) for t in texts], dtype=float)
    sentences, sentence_words = np.zeros(n), np.zeros(n)
    after_end = True  # sentences run on across the blank line between batches, as in one stream
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        sentences[lo:hi], sentence_words[lo:hi], after_end = sentence_scan(
            "\n\n".join(texts[lo:hi]), _starts(points[lo:hi]), after_end)
        lows = [normalise(t) for t in texts[lo:lo + BATCH]]
        per_record = [normalised_tokens(low) for low in lows]
        interner.add(per_record)
        lengths[lo:lo + len(lows)] = [len(t) for t in per_record]
        del lows, per_record
    syllables = np.array([fk_syllables(t, int(w)) for t, w in zip(texts, sentence_words)], dtype=float)
    paragraphs = np.array([paragraph_count(t) for t in texts], dtype=float)
    quotes = np.array([t.count('"') + t.count("\u201c") + t.count("\u201d") for t in texts], dtype=float)
    # the contrasts of the joined text (a match may reach across the blank line between texts)
    contrasts = hits_per_record(contrast_starts("\n\n".join(texts)), list(_starts(chars.astype(np.int64))), n)
    ids, index = interner.finish()
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    group_index: dict = {}
    groups = np.array([group_index.setdefault(p if p is not None else (r,), len(group_index))
                       for r, p in enumerate(prompts)], dtype=np.int64)
    return Corpus(prompts=prompts, vocab=list(index), index=index, ids=ids, bounds=bounds,
                  chars=chars, sentences=sentences, sentence_words=sentence_words, syllables=syllables,
                  paragraphs=paragraphs, quotes=quotes, contrasts=contrasts, groups=groups)


def content_mask(corpus: Corpus) -> np.ndarray:
    """True for token positions that are not stop words."""
    stop = corpus.cached("stop", lambda: corpus.membership(STOPWORDS))
    return ~stop[corpus.ids]
