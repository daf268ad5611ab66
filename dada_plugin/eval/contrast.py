"""slop-score's "not X but Y" count, as its leaderboard computes it: the ten stage-1 surface
regexes of ``regexes-stage1.js`` run over the joined text (curly quotes straightened, en and em
dashes made '-', case kept), every match widened to the sentences it touches (sentences: runs
ending in ``.!?``), overlapping sentence ranges merged; the count is the number of merged
ranges. Under Node the leaderboard has no POS tagger, so its stage 2 never runs; neither does it
here.

JavaScript's regex dialect is followed where it differs from Python's: ``.`` stops at ``\\r``,
U+2028 and U+2029 too, ``\\s`` is JavaScript's whitespace set, ``\\w``/``\\b`` and case folding are
ASCII (no ``u`` flag), and positions count UTF-16 units (a character beyond U+FFFF is two, so the
``{0,160}`` bounds count as JavaScript does: such characters are split into their surrogates).

Speed: a match always starts in a sentence holding the word "not", "n't" or "no longer" (the
negation every pattern needs lies in the sentence where the match starts), so only those sentences are searched, each
with the following 2,048 characters in view. That bounds nothing in practice (a match reaches at
most a few hundred characters past its sentence, plus unbounded whitespace or word runs: where a
run of 256 such characters is in view, the search sees the whole text instead), and the counts
equal a search of the whole text (tests and ``bench/bench_slop.py`` compare both).
"""

from __future__ import annotations

import re
from bisect import bisect_right

import numpy as np

WS = "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
DOT = "[^\\n\\r\\u2028\\u2029]"
MAXG = 160
PRON = "(?:it|they|this|that)"
BE = "(?:is|are|was|were)"
BE_NEG = f"(?:is{WS}+not|are{WS}+not|was{WS}+not|were{WS}+not|isn't|aren't|wasn't|weren't|ain't)"
START = f"(?:(?<=^)|(?<=[.?!]{WS}))"
REPORTER = ("(?![^.?!]{0,80}\\b(?:knew|know|thought|think|said|says|told|heard|learned)\\b"
            "[^.?!]{0,40}?\\bthat\\b)")
NOT_AFTER_BE = f"\\b(?!{WS}+not\\b)"

STAGE1 = {
    "RE_NOT_BUT":
        f"\\b(?:(?:{BE_NEG})|not(?!{WS}+(?:that|only)\\b)){WS}+(?:(?!\\bbut\\b|[.?!]){DOT}){{1,100}}?"
        f"[,;:]{WS}*but{WS}+(?!when\\b|while\\b|which\\b|who\\b|whom\\b|whose\\b|where\\b|if\\b|that\\b|"
        f"as\\b|because\\b|although\\b|though\\b|till\\b|until\\b|unless\\b|here\\b|there\\b|then\\b|"
        f"my\\b|we\\b|I\\b|you\\b|it{WS}+seems\\b|it{WS}+appears\\b|it{WS}+felt\\b|it{WS}+looks?\\b|"
        f"anything\\b)",
    "RE_NOT_DASH":
        f"\\b(?:\\w+n't|not){WS}+(?:just|only|merely)?{WS}+(?:(?![.?!]){DOT}){{1,{MAXG}}}?"
        f"(?:-|{WS}-{WS}|[\\u2014\\u2013]){WS}*{PRON}{WS}+(?:(?:'re|are|'s|is|were|was)\\b|"
        f"(?!'re|are|'s|is|were|was)[*_~]*[a-z]\\w*)",
    "RE_PRON_BE_NOT_SEP_BE":
        f"{START}{WS}*[\"\"']?(?:(?:{PRON}{WS}+{BE}{WS}+not)|(?:{PRON}{WS}+{BE}n't)|"
        f"(?:it's|they're|that's){WS}+not)\\b[^.?!]{{0,{MAXG}}}[.;:?!]{WS}*[\"\"']?"
        f"{PRON}{WS}+(?:{BE}|(?:'s|'re)){NOT_AFTER_BE}",
    "RE_NP_BE_NOT_SEP_THEY_BE":
        f"{START}{WS}*{REPORTER}(?!{WS}*not{WS}+without\\b)(?![^.?!]{{0,50}}\\bnot{WS}+put\\b)"
        f"[^.?!]{{0,{MAXG}}}?\\b(?:{BE_NEG})\\b[^.?!]{{0,{MAXG}}}[.;:?!]{WS}*"
        f"[\"\"']?{PRON}\\b(?:'re|{WS}+(?:are|were|is|was)){NOT_AFTER_BE}",
    "RE_NO_LONGER":
        f"{START}{WS}*[^.?!]{{0,{MAXG}}}\\bno{WS}+longer\\b[^.;:?!]{{0,{MAXG}}}"
        f"[.;:?!]{WS}*(?:it|they|this|that){WS}+(?:is|are|was|were){NOT_AFTER_BE}",
    "RE_NOT_JUST_SEP":
        f"{START}{WS}*[\"\"']?{PRON}\\b(?:'s|'re|{WS}+(?:is|are|was|were))?{WS}+not{WS}+just\\b"
        f"[^.?!]{{0,{MAXG}}}[.?!]{WS}*[\"\"']?{PRON}\\b(?:'s|'re|{WS}+(?:is|are|was|were)){NOT_AFTER_BE}",
    "RE_NOT_PERIOD_SAMEVERB":
        f"{START}[^.?!]*?\\b(?:do|does|did)n't\\b{WS}+(?:(?:\\w+{WS}+){{0,2}})([a-z]{{3,}})\\b"
        f"[^.?!]*[.?!]{WS}*{PRON}{WS}+\\1(?:ed|es|s|ing)?\\b",
    "RE_SIMPLE_BE_NOT_IT_BE":
        f"{START}{WS}*[\"\"']?(?!he\\b|she\\b|i\\b|you\\b|we\\b){REPORTER}"
        f"[^.?!]{{0,{MAXG}}}?\\b{BE_NEG}\\b[^.?!]{{0,{MAXG}}}[.;:?!]{WS}*"
        f"[\"\"']?it(?:'s|{WS}+(?:is|are|was|were))\\b",
    "RE_EMBEDDED_NOT_JUST_SEP":
        f"{START}[^.?!]{{0,80}}?\\b(?:(?:it|they){WS}+(?:is|are)|(?:it's|they're)){WS}+not{WS}+just\\b"
        f"[^.?!]{{0,{MAXG}}}[.?!]{WS}*(?:(?:it|they){WS}+(?:is|are)|(?:it's|they're))\\b",
    "RE_DIALOGUE_NOT_JUST":
        f"[\"\"']?{PRON}(?:'re|'s|{WS}+(?:are|is|was|were)){WS}+not{WS}+just\\b[^\"\"']{{0,{MAXG}}}"
        f"[\"\"']?{WS}*(?:[^.?!]{{0,80}}\\b(?:said|asked|whispered|muttered|replied|added|shouted|"
        f"cried)\\b[^.?!]{{0,80}}[.?!]{WS}*)?[\"\"']?{PRON}(?:'re|'s|{WS}+(?:are|is|was|were)){WS}+"
        f"[*_~]?[a-z]\\w*",
}
PATTERNS = {name: re.compile(src, re.ASCII | re.IGNORECASE) for name, src in STAGE1.items()}
# where each pattern can start: its own opening up to the negation, as a lookahead (a
# necessary condition, its guards left out); only there is the pattern tried
STARTS = {
    "RE_NOT_BUT": f"\\b(?=(?:{BE_NEG})|not{WS})",
    "RE_NOT_DASH": f"\\b(?=(?:\\w+n't|not){WS})",
    "RE_PRON_BE_NOT_SEP_BE": f"{START}(?={WS}*[\"\"']?(?:(?:{PRON}{WS}+{BE}{WS}+not)|(?:{PRON}{WS}+{BE}n't)|"
                             f"(?:it's|they're|that's){WS}+not)\\b)",
    "RE_NP_BE_NOT_SEP_THEY_BE": f"{START}(?={WS}*[^.?!]{{0,{MAXG}}}?\\b(?:{BE_NEG})\\b)",
    "RE_NO_LONGER": f"{START}(?={WS}*[^.?!]{{0,{MAXG}}}\\bno{WS}+longer\\b)",
    "RE_NOT_JUST_SEP": f"{START}(?={WS}*[\"\"']?{PRON}\\b(?:'s|'re|{WS}+(?:is|are|was|were))?{WS}+not{WS}+just\\b)",
    "RE_NOT_PERIOD_SAMEVERB": f"{START}(?=[^.?!]*?\\b(?:do|does|did)n't\\b)",
    "RE_SIMPLE_BE_NOT_IT_BE": f"{START}(?={WS}*[\"\"']?[^.?!]{{0,{MAXG}}}?\\b{BE_NEG}\\b)",
    "RE_EMBEDDED_NOT_JUST_SEP": f"{START}(?=[^.?!]{{0,80}}?\\b(?:(?:it|they){WS}+(?:is|are)|(?:it's|they're))"
                                f"{WS}+not{WS}+just\\b)",
    "RE_DIALOGUE_NOT_JUST": f"(?=[\"\"']?{PRON}(?:'re|'s|{WS}+(?:are|is|was|were)){WS}+not{WS}+just\\b)",
}
FINDERS = {name: re.compile(src, re.ASCII | re.IGNORECASE) for name, src in STARTS.items()}
NEGATION = re.compile(f"\\bnot\\b|n't|\\bno{WS}+longer\\b", re.ASCII | re.IGNORECASE)
TERMINATORS = np.array([ord("."), ord("!"), ord("?")], dtype=np.uint16)
VIEW = 1024          # characters in view past a candidate sentence
EDGE = 256           # a match ending this near the view's edge is searched again, unbounded
GAP = 64            # candidate sentences this close are searched as one region
LONG_RUN = re.compile(f"{WS}{{64,}}|\\w{{64,}}", re.ASCII)
_NORMAL = (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"), ("\u2014", "-"),
           ("\u2013", "-"))
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def _surrogates(m: re.Match) -> str:
    c = ord(m.group()) - 0x10000
    return chr(0xD800 + (c >> 10)) + chr(0xDC00 + (c & 0x3FF))


def js_text(text: str) -> str:
    """``text`` as JavaScript sees it: one character per UTF-16 unit."""
    return text if text.isascii() or not _ASTRAL.search(text) else _ASTRAL.sub(_surrogates, text)


def js_len(text: str) -> int:
    """``text.length`` in JavaScript (UTF-16 units)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def normalize(text: str) -> str:
    """slop-score's ``normalizeText``: curly quotes straight, en and em dashes '-'."""
    if not text.isascii():
        for curly, plain in _NORMAL:
            text = text.replace(curly, plain)
    return text


class Sentences:
    """slop-score's sentence spans of a text (runs ending in ``.!?``, then the rest), as
    positions of the terminators: span i ends just after terminator i."""

    def __init__(self, text: str):
        units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        self.ends = np.flatnonzero(np.isin(units, TERMINATORS)) + 1  # exclusive span ends
        self.size = len(text)

    def bounds(self) -> np.ndarray:
        """Span starts followed by the text's end: span i is [b[i], b[i+1])."""
        starts = np.concatenate(([0], self.ends))
        return starts if starts[-1] == self.size else np.concatenate((starts, [self.size]))

    def covered(self, start: int, end: int) -> tuple[int, int]:
        """contrast-detector's coveredSentenceRange of a non-empty match: (first, last) span."""
        return (int(np.searchsorted(self.ends, start, side="right")),
                int(np.searchsorted(self.ends, end, side="left")))


def candidate_regions(text: str, sentences: Sentences) -> list[tuple[int, int, int]]:
    """(start, end, view end) of the text to search: sentence spans holding "not", "n't" or "no
    longer" (case-insensitive), those less than GAP apart joined; the view reaches VIEW past a
    region, or the whole text where a whitespace or word run of 64 is in view (the one way a
    match could reach further)."""
    hits = np.fromiter((m.start() for m in NEGATION.finditer(text)), dtype=np.int64)
    if not hits.size:
        return []
    bounds = sentences.bounds()
    span = np.unique(np.searchsorted(bounds, hits, side="right") - 1)
    a, b = bounds[span], bounds[span + 1]
    first = np.concatenate(([True], a[1:] - b[:-1] >= GAP))
    a, b = a[first], b[np.concatenate((np.flatnonzero(first)[1:] - 1, [b.size - 1]))]
    view = np.minimum(b + VIEW, len(text))
    runs = np.array([(m.start(), m.end()) for m in LONG_RUN.finditer(text)], dtype=np.int64).reshape(-1, 2)
    if runs.size:
        k = np.searchsorted(runs[:, 0], view, side="right") - 1  # the last run starting in view
        view[np.where(k >= 0, runs[np.maximum(k, 0), 1], -1) > b] = len(text)
    return list(zip(a.tolist(), b.tolist(), view.tolist()))


def _matches(name: str, text: str, regions: list[tuple[int, int, int]] | None):
    """(start, end) of pattern ``name``'s matches as JavaScript's matchAll finds them;
    ``regions``: tried only at its possible starts there (None: searched everywhere)."""
    rx = PATTERNS[name]
    if regions is None:
        for m in rx.finditer(text):
            yield m.start(), m.end()
        return
    pos = 0
    for a, b, view in regions:
        # a finder reads only its own sentence (its opening holds no terminator), so the region
        # is all it needs to see
        for q in FINDERS[name].finditer(text, max(a, pos), b):
            q = q.start()
            if q < pos:
                continue
            m = rx.match(text, q, view)
            if m is not None and view < len(text) and m.end() > view - EDGE:
                m = rx.match(text, q)  # near the edge of the view: as the whole text says
            if m is not None:
                yield m.start(), m.end()
                pos = max(m.end(), q + 1)


def contrast_starts(text: str, *, everywhere: bool = False) -> list[int]:
    """slop-score's "not X but Y" hits in ``text`` (the joined samples, as given: normalised
    and split into UTF-16 units here): for each merged sentence range, the start of its first
    match. ``everywhere``: search the whole text (the reference the candidate search equals)."""
    text = normalize(js_text(text))
    sentences = Sentences(text)
    regions = None if everywhere else candidate_regions(text, sentences)
    items = []
    for name in PATTERNS:
        for start, end in _matches(name, text, regions):
            lo, hi = sentences.covered(start, end)
            items.append((lo, hi, start))
    items.sort()
    starts, top = [], -1
    for lo, hi, start in items:
        if starts and lo <= top:
            top = max(top, hi)
        else:
            starts.append(start)
            top = hi
    return starts


def hits_per_record(starts: list[int], record_starts: list[int], n: int) -> np.ndarray:
    """Hits per record, each at the record its start lies in."""
    out = np.zeros(n)
    for s in starts:
        out[bisect_right(record_starts, s) - 1] += 1
    return out
