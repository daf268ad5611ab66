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
            known.append((phrase, np.array(tid, dtype=np.int64)))
    starts_out, which_out = [], []
    if known and ids.size:
        first = np.zeros(len(corpus.vocab), dtype=bool)
        first[[t[0] for _, t in known]] = True
        cand = np.flatnonzero(first[ids])
        by_len: dict[int, list[int]] = {}
        for j, (_, tid) in enumerate(known):
            by_len.setdefault(tid.size, []).append(j)
        for n, members in by_len.items():
            pos = cand[cand <= ids.size - n]
            if not pos.size:
                continue
            table = np.stack([known[j][1] for j in members])
            codes = ngram_hash(table.ravel(), n, np.arange(len(members)) * n)
            order = np.argsort(codes)
            codes = codes[order]
            h = ngram_hash(ids, n, pos)
            slot = np.minimum(np.searchsorted(codes, h), codes.size - 1)
            hit = codes[slot] == h
            pos, row = pos[hit], order[slot[hit]]
            ok = np.all(ids[pos[:, None] + np.arange(n)] == table[row], axis=1)
            starts_out.append(pos[ok])
            which_out.append(np.asarray(members)[row[ok]])
    starts = np.concatenate(starts_out) if starts_out else np.zeros(0, np.int64)
    which = np.concatenate(which_out) if which_out else np.zeros(0, np.int64)
    return Matches([p for p, _ in known], starts, which)
