"""Stage 3, clean: strip what rewriters add (preambles, speaker labels, wrapping quotes, an
echo of the question, commentary about the rewrite or the reader: :mod:`.commentary`),
normalise whitespace, prune emojis; reject refusals, empty answers, answers that would break
the sequence format, replies with several alternative answers and rewrites that lost facts
(:mod:`.facts`), each with a reason."""

from __future__ import annotations

import re

from dataset_builders.commentary import multiple_answers, strip_commentary
from dataset_builders.facts import lost_facts
from dataset_builders.formats import MISTRAL_V1, ChatFormat
from dataset_builders.load import clean_seam
from dataset_builders.records import Record, StageResult
from dataset_builders.style import style_problem

STAGE = "clean"
# A preamble word counts only when punctuation follows it ("Sure! ...", not "Great Britain"),
# and "here is ..." only as "here is/'s the/a/my/your ...:" ("Here is where ..." is an answer).
PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|okay|ok|of course|certainly|absolutely|alright|great)[!,.:]+\s*)?"
    r"(?:here(?:'s| is| you go)(?: (?:the|a|an|my|your)\b[^\n:]{0,60})?:\s*)?", re.I)
LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:toddler|toddler answer|answer|assistant|response|rewritten answer|"
    r"rewrite|simple answer|simplified answer|kid|child)(?:\*\*)?\s*:\s*(?:\*\*)?", re.I)
_PREAMBLE_WORDS = ("sure", "ok", "of course", "certainly", "absolutely", "alright", "great", "here")
QUOTES = {'"': '"', "“": "”", "'": "'", "«": "»"}
# A refusal of the task: "I'm sorry, but I can't help with that", "As an AI ...". Not an apology
# that is the answer ("I am sorry, but I was late") nor "I can not help falling in love".
REFUSAL = re.compile(
    r"^\s*(?:(?:i'?m|i am) sorry,? (?:but )?)?(?:as an ai\b|"
    r"i (?:cannot|can't|can not|won't|will not|am unable to|'m unable to|am not able to|"
    r"'m not able to) (?:help(?: you)?(?: with\b|\s*[.!]|\s*$)|assist\b|provide\b|answer th|"
    r"do th|comply\b|fulfil|rewrite\b|complete th))", re.I)
CLEAN_REASONS = ("empty_answer", "refusal", "template_marker", "multiple_answers", "lost_facts",
                 "not_simplified", "sloppy")
_EMOJI_CANDIDATE = re.compile("[\u00a9\u00ae\u200d\u203c-\u3299\ufe0f\U0001f000-\U0001faff]")
_EMOJI_GAP = re.compile(r"[ \t]*\0+(?=[ \t]*(?:[.,!?;:)]|$))", re.M)
_SPACES = re.compile(r"[ \t\u00a0]{2,}")


def _unquote(text: str) -> str:
    if len(text) >= 2 and QUOTES.get(text[0]) == text[-1] and text.count(text[0]) == (
            2 if text[0] == text[-1] else 1):
        return text[1:-1].strip()
    return text


def _drop_echo(text: str, question: str) -> str:
    """Drop a repeat of the whole question at the start: only where the question ends a
    sentence there ("What is X? It is ..."), never a word the answer begins with."""
    q = question.strip()
    if not q or len(text) <= len(q) or text[:len(q)].lower() != q.lower():
        return text
    after = text[len(q)]
    if q[-1] in ".?!:" and not after.isalnum() or after in "\n:?!":
        rest = text[len(q):].lstrip(" \t\n:-—?.!")
        return rest or text
    return text


def prune_emojis(text: str) -> str:
    if not _EMOJI_CANDIDATE.search(text):  # the emoji package is slow: skip plain text
        return text
    import emoji

    text = emoji.replace_emoji(text, replace="\0")
    return _EMOJI_GAP.sub("", text).replace("\0", "")


def _unless_empty(cut: str, text: str) -> str:
    """A preamble or label is removed only when an answer follows it ("Sure." is an answer)."""
    return cut if any(ch.isalnum() for ch in cut) else text


def clean_answer(text: str, question: str, original: str = "",
                 cuts: list[tuple[str, str]] | None = None) -> str:
    """The cleaned answer (may be empty); the commentary cut is appended to ``cuts`` (None: an
    original answer, not a rewrite: no commentary to look for)."""
    text = prune_emojis(text.replace("\r\n", "\n"))
    text = _drop_echo(text.strip(), question)
    head = text[:48].lower()
    if head.startswith(_PREAMBLE_WORDS):  # the regexes only where they can match
        text = _unless_empty(PREAMBLE.sub("", text, count=1), text)
    if ":" in text[:48]:
        text = _unless_empty(LABEL.sub("", text, count=1), text)
    text = _unquote(text.strip())
    if cuts is not None:
        text, cut = strip_commentary(text, question, original)
        cuts += cut
    if "  " in text or "\t" in text or "\u00a0" in text:
        text = "\n".join(_SPACES.sub(" ", line) if not line.startswith((" ", "\t")) else line
                         for line in text.split("\n"))
    return clean_seam(text)


def clean(records: list[Record], fact_check: str = "lenient", rewritten: bool = True, *,
          style_check: bool = True, min_grade_drop: float = 1.0, max_slop_rate: float = 3.0,
          chat_format: ChatFormat = MISTRAL_V1) -> StageResult:
    """Clean every answer; ``fact_check``: :data:`.facts.MODES`; the style check's margin and
    slop rate (:mod:`.style`); ``chat_format``: whose markers free text may not hold; ``rewritten`` False (backend none: the answers are the
    originals) skips the checks that judge a rewrite."""
    result = StageResult()
    for rec in records:
        cuts: list[tuple[str, str]] = []
        answer = clean_answer(rec.answer or "", rec.question, rec.original_answer, cuts if rewritten else None)
        rec.answer = answer
        marker = chat_format.find_marker(answer) or chat_format.find_marker(rec.question)
        lost = lost_facts(rec.question, rec.original_answer, answer, fact_check) if rewritten else []
        if not answer:
            result.reject(rec, STAGE, "empty_answer")
        elif REFUSAL.match(answer) and not REFUSAL.match(rec.original_answer):
            result.reject(rec, STAGE, "refusal", answer[:80])
        elif marker:
            result.reject(rec, STAGE, "template_marker", f"contains {marker}")
        elif rewritten and multiple_answers(answer, rec.original_answer):
            result.reject(rec, STAGE, "multiple_answers", answer[:80])
        elif lost:
            result.reject(rec, STAGE, "lost_facts", "; ".join(lost))
        elif rewritten and style_check and (style := style_problem(rec.question, rec.original_answer, answer,
                                                   min_grade_drop=min_grade_drop,
                                                   max_slop_rate=max_slop_rate)):
            result.reject(rec, STAGE, *style)
        else:
            result.kept.append(rec)
            result.cuts += [(rec.id, kind, text) for kind, text in cuts]
    return result
