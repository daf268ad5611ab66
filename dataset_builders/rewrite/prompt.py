"""The rewrite prompt: it holds both the question and the original answer, as the seed's did."""

from __future__ import annotations

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


def load_template(path: str | Path | None) -> str:
    if path is None:
        return DEFAULT_PROMPT
    path = Path(path)
    try:
        template = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the style prompt: {exc}") from None
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise InputError(path, f"the style prompt must contain {' and '.join(missing)}")
    return template


def render(template: str, question: str, answer: str) -> list[dict]:
    """Chat messages for one rewrite. Only the two placeholders are substituted, so braces in
    code answers or in the template itself are left alone."""
    text = template.replace("{question}", "\0Q\0").replace("{answer}", "\0A\0")
    text = text.replace("\0Q\0", question).replace("\0A\0", answer)
    return [{"role": "user", "content": text}]


ECHO_MIN_CHARS = 30


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def echo_chunks(template: str) -> list[str]:
    """The template's own fixed text (what is left without the question and answer), cut into
    lines of at least ECHO_MIN_CHARS characters: a reply holding one of them echoes the prompt."""
    fixed = template.replace("{question}", "\n").replace("{answer}", "\n")
    chunks = [_squash(line) for line in fixed.splitlines()]
    return [c for c in dict.fromkeys(chunks) if len(c) >= ECHO_MIN_CHARS]


def is_echo(reply: str, chunks: list[str], question: str, answer: str) -> bool:
    """``reply`` repeats a chunk of the prompt's fixed text that the question and the original
    answer do not hold (so a rewrite that keeps a long quote or code block is not an echo)."""
    if not chunks:
        return False
    said = _squash(reply)
    source = _squash(question) + "\n" + _squash(answer)
    return any(c in said and c not in source for c in chunks)
