"""The style check: did the diction change? Per record, the original and the rewrite are
measured on their prose (code blocks, inline code, list lines and lines that look like code
left out: those are judged by the fact check): slop-score's Flesch-Kincaid grade (the eval's ``vocab_level`` formula), mean word
length, words per sentence, and the rewrite's slop: slop-list words and antislop phrases (dada's
own lists) per 100 words, words of the question not counted (a question about tapestries may
say "tapestry").

* ``not_simplified``: the rewrite's grade is not at least ``min_grade_drop`` below the
  original's. Originals with under ``MIN_PROSE_WORDS`` (12) words of prose are exempt: "1",
  "Telegram", "The median of the given data is 7." or a code answer has nothing to simplify.
* ``sloppy``: more than ``max_slop_rate`` hits per 100 words of the rewrite.

Both judge rewrites: with ``--backend none`` they never reject. The dataset's shift (medians
before and after, slop per 1,000 words) goes into stats.json and the card.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from functools import lru_cache

from dada_plugin.text.lists import load_lists
from dada_plugin.text.tokenize import fk_syllables, tokens

MIN_PROSE_WORDS = 12
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_INLINE = re.compile(r"`[^`\n]*`")
_LIST_LINE = re.compile(r"^(?:\s*(?:[-*•]|\d{1,2}[.)])\s*\S|\s{2,}\S|(?:def|class|import|from|for|if|return)\b"
                        r"|.*[{};]\s*$).*$", re.M)
_WORD = re.compile(r"[A-Za-z0-9_]+")
_SENTENCE_END = re.compile(r"[.!?]+")


@dataclass(frozen=True)
class Profile:
    words: int
    grade: float
    word_length: float
    sentence_length: float


def prose(text: str) -> str:
    return _LIST_LINE.sub(" ", _INLINE.sub(" ", _FENCE.sub(" ", text)))


@lru_cache(maxsize=1 << 18)
def measure(text: str) -> "Profile":
    """:func:`profile` of the prose of ``text``, remembered (the check and the dataset shift
    measure the same texts)."""
    return profile(prose(text))


def profile(text: str) -> Profile:
    """The prose of ``text`` measured: words, grade, mean word length, words per sentence."""
    words = _WORD.findall(text)
    if not words:
        return Profile(0, 0.0, 0.0, 0.0)
    sentences = max(1, sum(1 for piece in _SENTENCE_END.split(text) if piece.strip()))
    syllables = fk_syllables(text, len(words))
    grade = max(0.0, 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59)
    return Profile(len(words), grade, sum(map(len, words)) / len(words), len(words) / sentences)


@lru_cache(maxsize=1)
def _slop_index() -> tuple[frozenset[str], dict[str, tuple[tuple[str, ...], ...]]]:
    lists = load_lists(False)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for phrase in lists.phrases:
        by_first.setdefault(phrase[0], []).append(phrase)
    return lists.words, {k: tuple(v) for k, v in by_first.items()}


@lru_cache(maxsize=1 << 18)
def _hits(text: str) -> tuple[str, ...]:
    words, phrases = _slop_index()
    toks = tokens(text)
    hits = [t for t in toks if t in words]
    if phrases.keys() & set(toks):  # the phrase scan only where a phrase can start
        for i, tok in enumerate(toks):
            for phrase in phrases.get(tok, ()):
                if tuple(toks[i:i + len(phrase)]) == phrase:
                    hits.append(" ".join(phrase))
    return tuple(hits)


def slop_hits(text: str, exempt: frozenset[str] = frozenset()) -> list[str]:
    """Slop-list words and antislop phrases in ``text`` (tokens in ``exempt`` do not count)."""
    return [h for h in _hits(text) if not exempt or not set(h.split(" ")) <= exempt]


def style_problem(question: str, original: str, rewrite: str, *, min_grade_drop: float,
                  max_slop_rate: float) -> tuple[str, str] | None:
    """(reason, detail) when the rewrite is not simpler or is sloppy, else None."""
    before, after = measure(original), measure(rewrite)
    if not after.words:  # prose turned into a list (or code): judged on the whole text
        after = profile(rewrite)
    if before.words >= MIN_PROSE_WORDS and after.grade > before.grade - min_grade_drop:
        return "not_simplified", f"grade {before.grade:.1f} -> {after.grade:.1f}"
    hits = slop_hits(rewrite, frozenset(tokens(question)))
    words = len(_WORD.findall(rewrite))  # slop counts over every word, lists and all
    if words and len(hits) * 100 / words > max_slop_rate:
        return "sloppy", ", ".join(dict.fromkeys(hits))
    return None


def dataset_shift(pairs: list[tuple[str, str]]) -> dict:
    """Medians of grade, word length and sentence length, original vs rewrite, and slop per
    1,000 words, over (original, rewrite) pairs."""
    if not pairs:
        return {}
    before = [measure(o) for o, _ in pairs]
    after = [measure(r) for _, r in pairs]
    out = {key: {"before": round(statistics.median(getattr(p, key) for p in before), 3),
                 "after": round(statistics.median(getattr(p, key) for p in after), 3)}
           for key in ("grade", "word_length", "sentence_length")}
    words_b, words_a = sum(p.words for p in before) or 1, sum(p.words for p in after) or 1
    out["slop_per_1k_words"] = {"before": round(sum(len(slop_hits(o)) for o, _ in pairs) * 1000 / words_b, 3),
                                "after": round(sum(len(slop_hits(r)) for _, r in pairs) * 1000 / words_a, 3)}
    out["grades"] = {"before": [round(p.grade, 2) for p in before], "after": [round(p.grade, 2) for p in after]}
    return out


def histogram_available() -> bool:
    """matplotlib (the 'eval' extra) is installed: only then is grades.png drawn."""
    from importlib.util import find_spec

    return find_spec("matplotlib") is not None


def grade_histogram(grades: dict[str, list[float]], fh) -> None:
    """A PNG of the reading grades, original answers and kept rewrites, into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    top = max([*grades["before"], *grades["after"], 1.0])
    bins = [i * top / 20 for i in range(21)]
    ax.hist(grades["before"], bins=bins, alpha=0.55, label="original answers")
    ax.hist(grades["after"], bins=bins, alpha=0.55, label="rewrites (kept)")
    ax.set_xlabel("reading grade (Flesch-Kincaid, prose only)")
    ax.set_ylabel("records")
    ax.legend()
    fig.tight_layout()
    fig.savefig(fh, format="png")
    plt.close(fig)
