"""The rewrite prompt: it holds both the question and the original answer, as the seed's did."""

from __future__ import annotations

import re
from pathlib import Path

from dada_plugin.errors import InputError

DEFAULT_PROMPT = """\
Rewrite the answer below the way a toddler would say it: very short sentences, small everyday \
words, no fancy or flowery language, no clichés. Keep it correct: keep every fact, number, name, \
list item and piece of code the question needs. Reply with the rewritten answer only.

Question:
{question}

Answer:
{answer}"""

PLACEHOLDERS = ("{question}", "{answer}")


def load_prompt(path: str | Path | None, default: str, placeholders: tuple[str, ...], what: str) -> str:
    """A prompt template from ``path`` (``default`` when None) holding every placeholder."""
    if path is None:
        return default
    try:
        template = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the {what}: {exc}") from None
    missing = [p for p in placeholders if p not in template]
    if missing:
        raise InputError(path, f"the {what} must contain {' and '.join(missing)}")
    return template


def load_template(path: str | Path | None) -> str:
    return load_prompt(path, DEFAULT_PROMPT, PLACEHOLDERS, "style prompt")


def render(template: str, question: str, answer: str) -> list[dict]:
    """Chat messages for one rewrite. Only the two placeholders are substituted, so braces in
    code answers or in the template itself are left alone."""
    text = template.replace("{question}", "\0Q\0").replace("{answer}", "\0A\0")
    text = text.replace("\0Q\0", question).replace("\0A\0", answer)
    return [{"role": "user", "content": text}]


ECHO_MIN_WORDS = 5
_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")
_LABEL = re.compile(r"^\s*[\w][\w ]{0,30}:\s*$")


def _words(text: str) -> str:
    """Words only, lower case: punctuation and layout do not hide an echo."""
    return " ".join(_WORD.findall(text.casefold()))


def echo_chunks(template: str) -> list[str]:
    """The template's own fixed text (what is left without the question and answer): each of
    its sentences of at least ECHO_MIN_WORDS words, and (prefixed ``label:``) its label lines
    such as ``Question:`` when there are two or more. A reply holding one of those sentences,
    or every label on a line of its own, echoes the prompt."""
    fixed = template.replace("{question}", "\n").replace("{answer}", "\n")
    chunks = [_words(p) for p in _SENTENCE.split(fixed)]
    chunks = [c for c in dict.fromkeys(chunks) if len(c.split()) >= ECHO_MIN_WORDS]
    labels = [line.strip().casefold() for line in fixed.splitlines() if _LABEL.match(line)]
    return chunks + ([f"label:{'|'.join(labels)}"] if len(labels) >= 2 else [])


def is_echo(reply: str, chunks: list[str], question: str, answer: str) -> bool:
    """``reply`` repeats a sentence of the prompt's fixed text that the question and the
    original answer do not hold (so a rewrite that keeps a long quote or code block is not an
    echo), or every one of its label lines."""
    if not chunks:
        return False
    said = _words(reply)
    source = _words(question) + " | " + _words(answer)
    for chunk in chunks:
        if chunk.startswith("label:"):
            lines = {line.strip().casefold() for line in reply.splitlines()}
            labels = chunk[len("label:"):].split("|")
            if all(label in lines for label in labels) and not all(
                    label in {x.strip().casefold() for x in answer.splitlines()} for label in labels):
                return True
        elif chunk in said and chunk not in source:
            return True
    return False
