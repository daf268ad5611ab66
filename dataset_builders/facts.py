"""The fact check: did the rewrite keep what the question needs? Deterministic and offline.

Compared between the original and the rewritten answer:

* numbers: digit runs (``1,000`` and ``1000`` are one number, ``3.5`` keeps its point) and the
  number words that map to them (``three`` = 3, ``twenty`` = 20; "one" only in the rewrite,
  where it may stand for 1: in an original it is mostly a pronoun); every number of the
  original must be in the rewrite (``strict``), or only where the question is about numbers
  ("how many", "what year", "calculate", a number in the question: ``lenient``); a number the
  question itself states ("the square root of 144") need not be repeated;
* code: fenced blocks and inline code, byte-identical;
* URLs;
* quoted strings ("..." or “...”), case-insensitive;
* a count the question names ("Name three ...", "List 5 ...", "Give two examples"): the
  rewrite must hold as many items as the original (list lines, or comma-separated items).

``strict`` checks all of it; ``lenient`` the numbers only for a question about numbers
(toddler diction drops a year or a population where the question did not ask for it); ``off``
nothing. A rewrite that lost
something is rejected as ``lost_facts`` with the list of what went missing.
"""

from __future__ import annotations

import re

MODES = ("strict", "lenient", "off")
_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
WORDS = {**{w: i for i, w in enumerate(_SMALL)}, **_TENS, "hundred": 100, "thousand": 1000,
         "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12, "half": 0.5}
_WORD_RE = re.compile(r"\b(" + "|".join(sorted(WORDS, key=len, reverse=True)) + r")(?:-(" +
                      "|".join(_SMALL[1:10]) + r"))?\b", re.I | re.A)
_STEM = re.compile("zero|one|two|thr|four|five|six|seven|eight|nine|ten|eleven|twel|fif|twen|thirt|fort|"
                   "hundred|thousand|million|billion|dozen|half", re.I | re.A)
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])-?\d+(?:\.\d+)?")
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_QUOTED = re.compile(r"\"([^\"\n]{2,80})\"|“([^”\n]{2,80})”")
_COUNT = re.compile(r"\b(?:name|list|give|provide|suggest|write|generate|identify|mention|describe|"
                    r"state|come up with|think of|create|find)\b(?:\s+(?:me|us))?\s+(?:a\s+list\s+of\s+)?"
                    r"(?:at\s+least\s+)?(\d{1,2}|" + "|".join(_SMALL[2:13]) + r")\b", re.I | re.A)
SHORT_ITEM_WORDS = 3  # a sentence this short in a run of them is a list item ("Red! Blue! Yellow!")
_FRAGMENT = re.compile(r"([^.!?;:\n]*)([.!?;:\n]|$)")
_ITEM_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.M)


_NUMERIC_QUESTION = re.compile(
    r"\d|\b(?:how (?:many|much|long|far|old|tall|big|often|fast|heavy)|what (?:year|percentage|percent|"
    r"number|is the (?:sum|product|difference|total|average|value|area|perimeter|volume|speed|distance))|"
    r"when (?:did|was|were|is)|calculate|compute|convert|solve|add|subtract|multiply|divide|count|"
    r"estimate|date|year|age|population|temperature|price|cost|speed|height|weight|distance|length|"
    r"size|boiling|melting|freezing|score|rate|percentage)\b", re.I)


def numeric_question(question: str) -> bool:
    return bool(_NUMERIC_QUESTION.search(question))


def numbers(text: str, *, pronoun_one: bool = False) -> set[str]:
    """Every number in ``text``, as a canonical string ("1000", "3.5", "20"); ``pronoun_one``:
    "one" may be a pronoun here, so it does not count."""
    found = {n.replace(",", "").lstrip("-").rstrip("0").rstrip(".") if "." in n
             else n.replace(",", "").lstrip("-") for n in _NUMBER.findall(text)}
    if not _STEM.search(text):  # the word regex only where a number word can stand
        return {n for n in found if n}
    for m in _WORD_RE.finditer(text):
        word = m.group(1).lower()
        if pronoun_one and word == "one" and not m.group(2):
            continue
        value = WORDS[word] + (WORDS[m.group(2).lower()] if m.group(2) else 0)
        found.add(str(value) if value != 0.5 else "0.5")
    return {n for n in found if n}


def code(text: str) -> list[str]:
    blocks = [b.strip("\n") for b in _FENCE.findall(text)]
    rest = _FENCE.sub(" ", text)
    return blocks + _INLINE.findall(rest)


def urls(text: str) -> set[str]:
    return {u.rstrip(".,;:!?") for u in _URL.findall(text)}


def quoted(text: str) -> set[str]:
    return {(a or b).strip().lower() for a, b in _QUOTED.findall(text) if (a or b).strip()}


def asked_count(question: str) -> int | None:
    """The number of items the question asks for ("Name three ..."), or None."""
    m = _COUNT.search(question)
    if not m:
        return None
    word = m.group(1).lower()
    return int(word) if word.isdigit() else WORDS[word]


def items(text: str, anchors: frozenset[str] | None = None) -> int:
    """Items of an answer: its list lines, or else the parts of its longest comma/"and" series,
    or its longest run of short exclamations or sentences ("Red! Blue! Yellow!": three). With
    ``anchors`` (the words the original's answer adds to the question), a short sentence is an
    item only when it holds one: "Yay! Fun!" is filler, not items."""
    lines = len(_ITEM_LINE.findall(text))
    if lines:
        return lines
    best = 1
    run = 0
    for m in _FRAGMENT.finditer(text):
        sentence, end = m.group(1), m.group(2)
        if not sentence.strip():
            continue
        parts = [p for p in re.split(r",|\band\b|\bor\b", sentence) if p.strip()]
        # a short sentence in a run is an item; a lead-in ("Here are three:") is not
        short = len(sentence.split()) <= SHORT_ITEM_WORDS and end != ":"
        run = run + 1 if short and (anchors is None or anchors & _words(sentence)) else 0
        best = max(best, len(parts), run)
    return best


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def lost_facts(question: str, original: str, rewrite: str, mode: str = "strict") -> list[str]:
    """What the rewrite lost, one short line each ([] when it kept everything checked)."""
    if mode == "off":
        return []
    lost = []
    if mode == "strict" or numeric_question(question):
        missing = numbers(original, pronoun_one=True)
        missing = missing and missing - numbers(rewrite) - numbers(question)
        lost += [f"number {n}" for n in sorted(missing, key=lambda s: (len(s), s))]
    rewrite_code = rewrite
    lost += [f"code `{c[:40]}`" for c in code(original) if c not in rewrite_code]
    lost += [f"url {u}" for u in sorted(urls(original)) if u not in rewrite]
    low = rewrite.lower().replace("“", '"').replace("”", '"')
    lost += [f'quote "{q[:40]}"' for q in sorted(quoted(original)) if q not in low]
    want = asked_count(question)
    if want is not None:
        anchors = frozenset(_words(original) - _words(question))
        have_items, had_items = items(rewrite, anchors), items(original)
        if have_items < min(want, had_items):
            lost.append(f"list items: the question asks for {want}, the original has {had_items}, "
                        f"the rewrite {have_items}")
    return lost
