"""Find listed token runs (slop words, slop trigrams, antislop phrases) in a corpus's id stream.

Only positions whose token starts some phrase are hashed; hash hits are then checked token by
token, so a hash collision can never count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dada_plugin.eval.corpus import Corpus, ngram_hash


@dataclass
class Matches:
    """Every hit: its start position and which phrase (index into ``phrases``) it is."""

    phrases: list[tuple[str, ...]]
    starts: np.ndarray
    which: np.ndarray

    def counts(self) -> np.ndarray:
        return np.bincount(self.which, minlength=len(self.phrases))

    def top(self, k: int = 10) -> list[list]:
        """[[phrase, count], ...], most frequent first, ties by phrase."""
        counts = self.counts()
        rows = [(" ".join(self.phrases[i]), int(c)) for i, c in enumerate(counts) if c]
        rows.sort(key=lambda row: (-row[1], row[0]))
        return [list(row) for row in rows[:k]]


def find(corpus: Corpus, phrases, ids: np.ndarray | None = None) -> Matches:
    """All (possibly overlapping) occurrences of ``phrases`` (token tuples) in the stream."""
    ids = corpus.ids if ids is None else ids
    known = []
    for phrase in dict.fromkeys(phrases):
        tid = [corpus.index.get(t) for t in phrase]
        if phrase and None not in tid:
            known.append((phrase, tid))
    by_len: dict[int, list[int]] = {}
    for j, (phrase, _) in enumerate(known):
        by_len.setdefault(len(phrase), []).append(j)
    starts_out, which_out = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for n, members in by_len.items():
        table = np.array([known[j][1] for j in members], dtype=np.int64)
        starts, row = find_runs(ids, table, len(corpus.vocab))
        starts_out.append(starts)
        which_out.append(np.asarray(members, dtype=np.int64)[row])
    return Matches([p for p, _ in known], np.concatenate(starts_out), np.concatenate(which_out))


def find_runs(ids: np.ndarray, table: np.ndarray, vocab_size: int):
    """(start, table row) of every occurrence of a row of ``table`` (runs of equal length)."""
    n = table.shape[1]
    first = np.zeros(vocab_size, dtype=bool)
    first[table[:, 0]] = True
    pos = np.flatnonzero(first[ids[:max(ids.size - n + 1, 0)]])
    if not pos.size:
        return pos, pos
    codes = ngram_hash(table.ravel(), n, np.arange(table.shape[0]) * n)
    order = np.argsort(codes)
    codes = codes[order]
    h = ngram_hash(ids, n, pos)
    slot = np.minimum(np.searchsorted(codes, h), codes.size - 1)
    hit = codes[slot] == h
    pos, row = pos[hit], order[slot[hit]]
    ok = np.all(ids[pos[:, None] + np.arange(n)] == table[row], axis=1)
    return pos[ok], row[ok]
