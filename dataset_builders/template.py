"""Mixtral-Instruct raw sequences: the one place that knows the format.

``compile_pair("q", "a") == "<s>[INST] q [/INST] a</s>"``; several turns continue with
``[INST] q2 [/INST] a2</s>`` (one BOS per sequence, one EOS per answer), as Mixtral-Instruct's
chat template and mistral-common's v1 encoder lay them out. ``decompile`` is the inverse and
tolerates the spacing variants seen in the wild (``[INST]q[/INST]a``, ``<s> [INST] ...``, a
missing final ``</s>``).
"""

from __future__ import annotations

import re

from dada_plugin.errors import TemplateError

BOS, EOS, INST, END_INST = "<s>", "</s>", "[INST]", "[/INST]"
MARKERS = (BOS, EOS, INST, END_INST)

# The Hugging Face chat template of Mixtral-8x7B-Instruct-v0.1 (no system role), with the
# spacing of axolotl's ``mistral_v1`` (a space before ``[INST]`` and before each answer): with a
# legacy SentencePiece tokenizer this reproduces mistral-common's v1 ids, where the older
# template's ``[/INST]answer`` drops the answer's leading "▁".
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}"
    "{% endfor %}"
)

_TURN = re.compile(
    r"\s*(?:<s>\s*)?\[INST\]\s*(?P<q>.*?)\s*\[/INST\]\s*(?P<a>.*?)\s*(?:</s>|(?=(?:<s>\s*)?\[INST\])|\Z)",
    re.S
)

Turn = tuple[str, str]


def user_part(question: str) -> str:
    """The user turn as mistral-common v1 encodes it (without BOS)."""
    return f"{INST} {question} {END_INST}"


def compile_turns(turns: list[Turn]) -> str:
    """Turns ``[(question, answer), ...]`` -> one raw Mixtral-Instruct sequence."""
    if not turns:
        raise TemplateError("a sequence needs at least one (question, answer) turn")
    return BOS + "".join(f"{user_part(q)} {a}{EOS}" for q, a in turns)


def compile_pair(question: str, answer: str) -> str:
    return compile_turns([(question, answer)])


def decompile(text: str) -> list[Turn]:
    """A raw sequence -> its turns. Raises :class:`TemplateError` when it is not one."""
    s = text.strip()
    if s.startswith(BOS):
        s = s[len(BOS):]
    turns: list[Turn] = []
    pos = 0
    while pos < len(s):
        m = _TURN.match(s, pos)
        if m is None or m.end() == pos:
            snippet = s[pos:pos + 40].strip()
            raise TemplateError(f"not a Mixtral-Instruct sequence near {snippet!r}")
        if not m["q"]:
            raise TemplateError("empty [INST] ... [/INST] turn")
        turns.append((m["q"], m["a"]))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    if not turns:
        raise TemplateError("no [INST] ... [/INST] turn found")
    return turns
