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
