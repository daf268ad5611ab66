"""Text normalisation, tokens, sentences and syllables, following slop-score's leaderboard code.

* ``normalise``: lower-case, curly quotes to straight.
* ``tokens``: runs of ``[a-z']`` with leading/trailing apostrophes stripped, kept only when they
  match ``^[a-z]+(?:'[a-z]+)?$`` ("don't" is one token, "rock'n'roll" none). One regex does
  all three steps, so no Python loop runs per token.
* sentences: the text split on runs of ``.!?``, non-blank pieces counted; sentence words are
  ASCII ``\\b\\w+\\b`` runs (slop-score's ``avg_sentence_length``; digits count as words).
* paragraphs and slop-score's syllables (its Flesch-Kincaid ``countSyllables``), below.
"""

from __future__ import annotations

import re

import numpy as np

QUOTES = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'))
TOKEN = re.compile(r"(?<![a-z'])'*([a-z]+(?:'[a-z]+)?)'*(?![a-z'])")
KEEP = re.compile(r"[a-z]+(?:'[a-z]+)?")
# every byte but a-z and the apostrophe becomes a space (UTF-8 multi-byte characters too)
LETTERS = bytes(c if (97 <= c <= 122 or c == 39) else 32 for c in range(256))
# JavaScript's String.prototype.trim whitespace (slop-score runs in JavaScript)
JS_SPACE = [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
            0x205F, 0x3000, 0xFEFF]
WORD_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

# The NLTK English stop words as slop-score's contentTokens lists them.
STOPWORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom this that these
those am is are was were be been being have has had having do does did doing a an the and but if
or because as until while of at by for with about against between into through during before after
above below to from up down in out on off over under again further then once here there when where
why how all any both each few more most other some such no nor not only own same so than too very s
t can will just don should now
""".split())


def normalise(text: str) -> str:
    """Lower-case and straighten curly quotes (slop-score's first step)."""
    text = text.lower()
    for curly, straight in QUOTES:
        if curly in text:
            text = text.replace(curly, straight)
    return text


def tokens(text: str) -> list[str]:
    """slop-score's word tokens of ``text`` (normalised here)."""
    return normalised_tokens(normalise(text))


def _strip(word: str) -> str:
    word = word.strip("'")
    return word if KEEP.fullmatch(word) else ""


def normalised_tokens(low: str) -> list[str]:
    """Tokens of text already passed through :func:`normalise`.

    Same result as ``TOKEN.findall(low)``, about three times faster: bytes.translate turns
    everything but ``[a-z']`` into spaces, each run holding an apostrophe is fixed in place
    (stripped, or blanked when it is no token), and str.split does the rest."""
    flat = low.encode("utf-8").translate(LETTERS).decode("ascii")
    i = flat.find("'")
    if i < 0:
        return flat.split()
    pieces, done = [], 0
    while i >= 0:
        start = flat.rfind(" ", 0, i) + 1
        end = flat.find(" ", i)
        end = len(flat) if end < 0 else end
        pieces += (flat[done:start], _strip(flat[start:end]))
        done = end
        i = flat.find("'", end)
    pieces.append(flat[done:])
    return "".join(pieces).split()


# character classes by code point (anything above U+FFFF counts as a visible non-word character)
WORD, END, SPACE = 1, 2, 4
CLASSES = np.zeros(0x10000, dtype=np.uint8)
CLASSES[list(WORD_CHARS)] = WORD
CLASSES[list(b".!?")] = END
CLASSES[JS_SPACE] = SPACE
CLASSES[0xFFFF] = 0


def sentence_scan(joined: str, starts: np.ndarray, after_end: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, bool]:
    """(sentences, sentence words, ends on an end) per record of texts joined into ``joined``;
    record r starts at character ``starts[r]``. ``after_end``: the text before ``joined`` (an
    earlier batch of the same stream, joined by a blank line) ended on a sentence end, or there
    is none; the third value is that flag for the batch after this one.

    slop-score splits the joined text on runs of ``.!?`` and counts the non-blank pieces; a
    piece that spans a join is counted for the record where its first visible character is.
    Sentence words are ASCII ``\\w+`` runs."""
    cp = np.frombuffer((joined + "\n").encode("utf-32-le"), dtype=np.uint32)
    cls = np.take(CLASSES, np.minimum(cp, 0xFFFF))
    word = (cls & WORD).view(bool)
    word_start = word.copy()
    word_start[1:] &= ~word[:-1]
    # a visible character starts a sentence when the last visible-or-end character before it
    # is an end (or there is none)
    events = np.flatnonzero((cls & SPACE) == 0)
    is_end = (cls[events] & END).view(bool)
    first = ~is_end
    first[1:] &= is_end[:-1]
    if first.size:
        first[0] &= after_end
    sentence_start = np.zeros(cp.size, dtype=np.uint8)
    sentence_start[events[first]] = 1
    return (np.add.reduceat(sentence_start, starts, dtype=np.int64).astype(float),
            np.add.reduceat(word_start.view(np.uint8), starts, dtype=np.int64).astype(float),
            bool(is_end[-1]) if is_end.size else after_end)


# slop-score's paragraphs: the text split on a newline, JavaScript whitespace, a newline
_JS_WS = "".join(map(chr, JS_SPACE))
PARAGRAPH_BREAK = re.compile("\n[" + re.escape(_JS_WS) + "]*\n")


def paragraph_count(text: str) -> int:
    """Non-blank pieces of ``text.split(/\\n\\s*\\n/)`` (slop-score's avg_paragraph_length)."""
    if "\n" not in text:
        return 1 if text.strip(_JS_WS) else 0
    return sum(1 for piece in PARAGRAPH_BREAK.split(text) if piece.strip(_JS_WS))


_SHORT = re.compile(rb"\b\w{1,3}\b")
_SUFFIX = re.compile(rb"(?:[^\Wlaeiouy]es|ed|[^\Wlaeiouy]e)\b")
_LEADING_Y = re.compile(rb"\by")
_VOWEL_RUN = re.compile(rb"[aeiouy]+")
_VOWELLED = re.compile(rb"\w*[aeiouy]\w*")


def fk_syllables(text: str, words: int) -> int:
    """slop-score's syllables (its Flesch-Kincaid ``countSyllables``) summed over the ASCII
    ``\\w+`` words of ``text`` (``words`` of them), with whole-text regexes: a word of three
    characters or fewer is one (each becomes "a"); else a final "es"/"e" after a consonant or
    "ed" is dropped, then a leading "y", and the vowel groups of one or two are counted (a run
    of n vowels holds ceil(n / 2)), at least one per word. Bytes keep it ASCII as
    JavaScript's ``\\w`` is (only A-Z are lower-cased)."""
    if not words:
        return 0
    low = _SHORT.sub(b"a", text.encode("utf-8").lower())
    low = _LEADING_Y.sub(b"", _SUFFIX.sub(b"", low))
    groups = sum((len(run) + 1) >> 1 for run in _VOWEL_RUN.findall(low))
    # a word left with no vowel group (or emptied) counts one
    return groups + words - len(_VOWELLED.findall(low))
