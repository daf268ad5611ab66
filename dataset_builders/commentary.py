"""What instruction models wrap around a rewrite, found at either end of the answer and cut:

* ``praise``: "Great question!", "What a fun question!" at the start;
* ``opener``: "Sure thing!", "Absolutely!" ... only when an answer follows;
* ``note``: a closing "Note: ..." or "(Note: ...)" paragraph or sentence;
* ``self_description``: a closing parenthetical about the rewrite ("(This explanation uses
  toddler-like language as requested.)", "(I kept the answer correct but used simple words.)");
* ``separator_meta``: a closing ``---`` (or ``***``, ``___``) line and the remark after it;
* ``sign_off``: "I hope this helps!", "Happy learning!";
* ``offer``: "Let me know if you want more tips!", "Feel free to ask ...", "Would you like ...?".

Nothing is cut that belongs to the answer: when the question asks for a note, a letter, an
e-mail, a message, a card or a sign-off, notes, sign-offs and offers stay; and a cut whose text
the original answer also holds stays. Several alternative versions in one reply ("Version 1:
... Version 2: ...") are found by :func:`multiple_answers` (the stage rejects them).
"""

from __future__ import annotations

import re

from dataset_builders.style import profile

KINDS = ("praise", "opener", "note", "self_description", "separator_meta", "sign_off", "offer")
WRITING_TASK = re.compile(r"\b(?:note|letter|e-?mail|message|card|memo|postcard|sign[- ]?off|"
                          r"closing|greeting|invitation|speech|toast|reply|text to)\b", re.I)
ABOUT_REWRITE = re.compile(
    r"\b(?:this (?:answer|explanation|version|response|rewrite|reply)|i(?:'ve| have)? (?:kept|used|made|"
    r"tried|rewrote|simplified|wrote|changed|added|removed|rephrased)|as (?:you )?requested|rewritten|"
    r"the original answer|toddler[- ](?:like|style|friendly|speak|language|words|talk)|for a toddler)\b", re.I)
_PRAISE = re.compile(r"^\s*(?:(?:what|that's|that is|such) an? )?(?:(?:really|very|super) )?"
                     r"(?:great|good|excellent|wonderful|fantastic|fun|interesting|awesome|nice|cool|"
                     r"lovely) question(?: indeed)?[!.]+\s*", re.I)
_OPENER = re.compile(r"^\s*(?:sure thing|sure|okay|ok|of course|certainly|absolutely|alright|"
                     r"happy to help|i'd love to|glad you asked|yay|ooh|oh boy)[!.]+\s*", re.I)
_NOTE_HEAD = (r"(?:\(|\*\*|\*|_)?\s*(?:(?:please|technical|important|grown-?ups?'?|parents?'?) )?note\b"
              r"(?:\s+(?:for|to)\s+(?:the\s+)?(?:grown-?ups|adults|parents|readers?|teachers?))?\s*(?:\*\*)?\s*[:\-—]|"
              r"(?:\(|\*\*|\*|_)?\s*for (?:the )?(?:grown-?ups|adults|parents)\s*(?:\*\*)?\s*:")
_NOTE = re.compile(r"^\s*" + _NOTE_HEAD, re.I)
# where a note may start inside a closing paragraph: a line, or a sentence after the answer's
_NOTE_INSIDE = re.compile(r"(?:\n|(?<=[.!?)])[ \t]+)\s*(?=" + _NOTE_HEAD + ")", re.I)
_SEPARATOR = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,}|={3,})\s*$", re.M)
# whole closing sentences only: "Enjoy the cake with friends!" or "Have a drink every hour!" is
# advice, "Enjoy!" or "Have fun!" a sign-off
_SIGN_OFF = re.compile(r"^(?:i )?hope (?:this|that|it|these) (?:helps?|makes sense|was helpful)\b|"
                       r"^happy (?:learning|reading|exploring|coding|cooking|baking|writing)[.!]*$|"
                       r"^have (?:fun|a (?:great|good|nice|wonderful) (?:day|time))[.!]*$|"
                       r"^(?:good luck|cheers|enjoy)[.!]*$", re.I)
# offers of more help, not advice that starts the same way ("If you have a fever, see a doctor",
# "Just ask a grown-up")
_OFFER = re.compile(r"^(?:let me know\b|feel free to (?:ask|reach out|let me know|contact)\b|"
                    r"if you (?:have|want|need|'d like|would like) (?:any )?(?:more|other|further)?\s*"
                    r"(?:questions|help|tips|info|information|details|examples|ideas)\b|"
                    r"would you like (?:me to|more|to (?:know|learn|hear))\b|do you want (?:me to|more)\b|"
                    r"want me to\b|i(?:'m| am) (?:here|happy) to help\b|just ask(?: me)?[.!]*$|ask me\b)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[\"')\]]*|$)")
_VERSIONS = re.compile(r"^\s*(?:\*\*|#+\s*)?(?:version|option|rewrite|variant|alternative|answer|take)"
                       r"\s*(?:#\s*)?(\d+|one|two|three|a|b|c)\b\s*(?:\*\*)?\s*[:.)\-]", re.I | re.M)


# cheap looks at either end before the full scan: most answers carry no commentary at all
_HEAD_HINT = re.compile(r"question|sure|okay|ok\b|of course|certainly|absolutely|alright|happy|"
                        r"love|glad|yay|ooh|oh\b", re.I)
_TAIL_HINT = re.compile(r"note|grown|adult|parent|hope|let me|feel free|if you|would you|want|happy|have (?:a|fun)|good luck|"
                        r"cheers|enjoy|ask|here to|\)", re.I)
TAIL = 400  # characters of the end looked at first


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _sentences(paragraph: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(paragraph)) if s]


def multiple_answers(text: str, original: str) -> bool:
    """Two or more numbered alternatives ("Version 1: ... Version 2: ...") the original lacks."""
    labels = {m.group(1).lower() for m in _VERSIONS.finditer(text)}
    return len(labels) >= 2 and len({m.group(1).lower() for m in _VERSIONS.finditer(original)}) < 2


def _restates(note: str, original: str, rest: str) -> bool:
    """A note that says the original answer again in adult prose: most of its words are the
    original's, or it holds most of the original's words (a paraphrase), and it reads at least
    two grades harder than the answer it follows."""
    words = set(_plain(note).split()) - _SHORT_WORDS
    theirs = set(_plain(original).split()) - _SHORT_WORDS
    shared = len(words & theirs)
    # most of one is in the other, and the note adds little of its own (advice the original
    # lacks, "see a doctor if it keeps bleeding", is content, not a restatement)
    if shared < 3 or shared < 0.6 * min(len(words), len(theirs)) or len(words - theirs) > 0.5 * len(words):
        return False
    return profile(note).grade >= profile(rest).grade + 2


_SHORT_WORDS = frozenset("a an the is are was were of to in on and or it this that note".split())


def _tail_kind(piece: str, original: str = "", rest: str = "") -> str | None:
    """The kind of commentary a closing paragraph or sentence is, or None. A note is commentary
    when it is about the rewrite or restates the original; a safety note stays."""
    stripped = piece.strip().strip("*_").strip()
    if _NOTE.match(piece):
        return "note" if ABOUT_REWRITE.search(piece) or _restates(piece, original, rest) else None
    if stripped.startswith("(") and stripped.endswith(")") and ABOUT_REWRITE.search(stripped):
        return "self_description"
    if _SIGN_OFF.search(stripped):
        return "sign_off"
    if _OFFER.search(stripped):
        return "offer"
    return None


def strip_commentary(text: str, question: str, original: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` without the commentary at its ends, and the cuts as (kind, removed text)."""
    cuts: list[tuple[str, str]] = []
    writing = bool(WRITING_TASK.search(question))
    kept_by_original = _plain(original)

    def allowed(kind: str, removed: str) -> bool:
        if writing and kind in ("note", "sign_off", "offer"):
            return False
        plain = _plain(removed)
        return bool(plain) and plain not in kept_by_original

    # the start: praise of the question, then an opener, each only when an answer follows
    for kind, rx in (("praise", _PRAISE), ("opener", _OPENER)) if _HEAD_HINT.search(text, 0, 60) else ():
        m = rx.match(text)
        if m and any(ch.isalnum() for ch in text[m.end():]) and allowed(kind, m.group(0)):
            cuts.append((kind, m.group(0).strip()))
            text = text[m.end():]
    # the end: a separator and the remark after it, then closing paragraphs and sentences
    last_paragraph = text.rfind("\n\n") + 2 if "\n\n" in text else 0
    if not (_TAIL_HINT.search(text, max(0, len(text) - TAIL)) or _NOTE.match(text[last_paragraph:last_paragraph + 40])
            or any(sep in text for sep in ("---", "***", "___", "==="))):
        return text.strip(), cuts
    sep = list(_SEPARATOR.finditer(text))
    if sep:
        after = text[sep[-1].end():]
        before = text[:sep[-1].start()]
        if (ABOUT_REWRITE.search(after) or _tail_kind(after.strip(), original, before)) \
                and len(after.split()) <= 100 and any(c.isalnum() for c in before) \
                and allowed("separator_meta", after):
            cuts.append(("separator_meta", text[sep[-1].start():].strip()))
            text = before
    changed = True
    while changed:
        changed = False
        paragraphs = re.split(r"\n\s*\n", text.strip())
        last = paragraphs[-1]
        kind = _tail_kind(last, original, "\n\n".join(paragraphs[:-1]))
        if kind and len(paragraphs) > 1 and allowed(kind, last):
            cuts.append((kind, last.strip()))
            text = "\n\n".join(paragraphs[:-1])
            changed = True
            continue
        # a note that starts on a line or after a sentence of the last paragraph, several
        # sentences long ("Plants eat light!\nNote: Photosynthesis is the process ... . It ...")
        start = next((m.end() for m in _NOTE_INSIDE.finditer(last)
                      if any(c.isalnum() for c in last[:m.start()])), None)
        if start is not None:
            note, before = last[start:], last[:start].rstrip()
            if _tail_kind(note, original, before) == "note" and allowed("note", note):
                cuts.append(("note", note.strip()))
                text = "\n\n".join([*paragraphs[:-1], before])
                changed = True
                continue
        sentences = _sentences(last)
        if len(sentences) > 1 or len(paragraphs) > 1:
            kind = _tail_kind(sentences[-1], original, last[:last.rfind(sentences[-1])]) if sentences else None
            if kind and allowed(kind, sentences[-1]):
                cut = last.rstrip()
                idx = cut.rfind(sentences[-1])
                if idx > 0 or len(paragraphs) > 1:
                    cuts.append((kind, sentences[-1]))
                    paragraphs[-1] = cut[:idx].rstrip() if idx >= 0 else ""
                    text = "\n\n".join(p for p in paragraphs if p.strip())
                    changed = True
    return text.strip(), cuts
