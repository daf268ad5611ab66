"""Conversation formats: how a conversation (an optional system prompt, then question/answer
turns) is laid out as the text a chat model is trained on. A registry of declarative entries
(a dict plus a decorator, as the rewrite backends are registered); one place to choose.

Each format knows its layout (the text before the first turn, a system turn or None when the
format has no system role, the user and assistant turns around their content), whether the
content is trimmed (as the official templates do), its markers (special strings that free text
must not hold: such a text cannot be decompiled), the axolotl ``chat_template`` name that
renders the same text, and the end-of-turn tokens axolotl must train.

Built in: ``mistral-v1`` (Mixtral-Instruct, the seed's: :mod:`dataset_builders.template`
renders it, exactly mistral-common's v1 layout), the later Mistral layouts ``mistral-v3``,
``mistral-v7`` (a system role) and ``mistral-tekken`` (Nemo: no spaces around the markers;
each checked against mistral-common's own encoder), ``chatml`` (Qwen 2.5 / 3 without their
default system prompt), ``llama3`` and ``gemma3``. Each built-in layout renders what axolotl's own
template of that name renders (tests/builders/test_formats.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dada_plugin.errors import ConfigError, TemplateError
from dataset_builders import template as mixtral

FORMATS: dict[str, "ChatFormat"] = {}
Turn = tuple[str, str]


def register(fmt: "ChatFormat") -> "ChatFormat":
    FORMATS[fmt.name] = fmt
    return fmt


@dataclass(frozen=True)
class ChatFormat:
    name: str
    start: str                 # before the first turn (the BOS token's text, or "")
    user: str                  # a user turn, "{content}" where the question goes
    assistant: str             # an assistant turn, end of turn (or EOS) included
    system: str | None         # a system turn, or None: the format has no system role
    markers: tuple[str, ...]   # special strings free text may not hold
    axolotl: str | None        # axolotl's chat_template that renders the same text (None: none
    #                            does; dada gives axolotl this format's own Jinja)
    eot_tokens: tuple[str, ...]  # what ends an answer, trained with it
    trim: bool = False         # the template strips each content
    system_in_user: bool = False  # the system prompt opens the first user turn (Gemma)

    def _content(self, text: str) -> str:
        return text.strip() if self.trim else text

    def render(self, turns: list[Turn], system: str | None = None) -> str:
        """The conversation as the text the model is trained on."""
        return "".join(text for text, _ in self.pieces(turns, system))

    def pieces(self, turns: list[Turn], system: str | None = None) -> list[tuple[str, bool]]:
        """The rendered text in pieces, each with whether training learns it: an answer and
        the end-of-turn token after it (what axolotl's chat_template type trains with
        ``roles_to_train: [assistant]``, ``train_on_eos: turn``); the rest is masked."""
        if not turns:
            raise TemplateError("a sequence needs at least one (question, answer) turn")
        if system is not None and self.system is None and not self.system_in_user:
            raise TemplateError(f"the {self.name} format has no system role")
        out = [(self.start, False)]
        if system is not None and not self.system_in_user:
            out.append((self.system.format(content=self._content(system)), False))
        head, tail = self.assistant.split("{content}")
        eot = next((t for t in self.eot_tokens if tail.startswith(t)), "")
        for i, (q, a) in enumerate(turns):
            question = self._content(q)
            if i == 0 and system is not None and self.system_in_user:
                question = f"{system}\n\n{question}"
            out += [(self.user.format(content=question) + head, False), (self._content(a) + eot, True),
                    (tail[len(eot):], False)]
        return [(text, trained) for text, trained in out if text]

    def jinja(self) -> str:
        """A Hugging Face chat template (Jinja) that renders this layout (what dada writes into
        a tokenizer that has none, for axolotl and llama.cpp)."""
        def lit(text: str) -> str:
            return "{{ " + json.dumps(text) + " }}"

        def turn(layout: str, prefix: str = "") -> str:
            head, tail = layout.split("{content}")
            return (lit(head) + prefix + "{{ message['content']" + (" | trim" if self.trim else "") + " }}"
                    + lit(tail))

        if self.system_in_user:  # the system prompt opens the first user turn
            user = turn(self.user, "{{ ns.prefix }}") + "{% set ns.prefix = '' %}"
            system = "{% set ns.prefix = message['content'] + '\\n\\n' %}"
        else:
            user = turn(self.user)
            system = turn(self.system) if self.system else "{{ raise_exception('no system role') }}"
        return ("{% set ns = namespace(prefix='') %}" + lit(self.start)
                + "{% for message in messages %}{% if message['role'] == 'system' %}" + system
                + "{% elif message['role'] == 'user' %}" + user
                + "{% elif message['role'] == 'assistant' %}" + turn(self.assistant)
                + "{% else %}{{ raise_exception('Only system, user and assistant roles are supported') }}"
                + "{% endif %}{% endfor %}{% if add_generation_prompt %}"
                + lit(self.assistant.split("{content}")[0]) + "{% endif %}")

    def find_marker(self, text: str) -> str | None:
        """The first of this format's markers inside free text (it could not round-trip)."""
        return next((m for m in self.markers if m in text), None)

    def decompile(self, text: str) -> tuple[str | None, list[Turn]]:
        """(system prompt or None, turns) of a rendered conversation; TemplateError when the
        text is not one (the system prompt of a ``system_in_user`` format cannot be told from
        the question: it comes back inside the first question)."""
        pattern = _turn_pattern(self)
        s = text[len(self.start):] if self.start and text.startswith(self.start) else text
        system = None
        if self.system is not None:
            head, tail = self.system.split("{content}")
            if s.startswith(head):
                end = s.find(tail, len(head))
                if end < 0:
                    raise TemplateError(f"an unterminated {self.name} system turn")
                system, s = s[len(head):end], s[end + len(tail):]
        turns: list[Turn] = []
        pos = 0
        while pos < len(s):
            m = pattern.match(s, pos)
            if m is None or m.end() == pos:
                raise TemplateError(f"not a {self.name} conversation near {s[pos:pos + 40]!r}")
            turns.append((m["q"], m["a"]))
            pos = m.end()
        if not turns:
            raise TemplateError(f"no {self.name} turn found")
        return system, turns


def _turn_pattern(fmt: ChatFormat) -> re.Pattern:
    uh, ut = (re.escape(p) for p in fmt.user.split("{content}"))
    ah, at = (re.escape(p) for p in fmt.assistant.split("{content}"))
    return re.compile(rf"{uh}(?P<q>.*?){ut}{ah}(?P<a>.*?){at}", re.S)


class _MistralV1(ChatFormat):
    """Mixtral-Instruct v1: rendered and decompiled by :mod:`dataset_builders.template` (the
    seed's exact layout, tolerant of the spacing variants seen in the wild)."""

    def render(self, turns: list[Turn], system: str | None = None) -> str:
        if system is not None:
            raise TemplateError("the mistral-v1 format has no system role")
        return mixtral.compile_turns(turns)

    def decompile(self, text: str) -> tuple[str | None, list[Turn]]:
        return None, mixtral.decompile(text)

    def jinja(self) -> str:
        return mixtral.CHAT_TEMPLATE


MISTRAL_V1 = register(_MistralV1(
    name="mistral-v1", start=mixtral.BOS, user=f"{mixtral.INST} {{content}} {mixtral.END_INST}",
    assistant=f" {{content}}{mixtral.EOS}", system=None, markers=mixtral.MARKERS,
    axolotl="mistral_v1", eot_tokens=(mixtral.EOS,)))

# the later Mistral layouts, as mistral-common's own instruct encoders lay them out (SentencePiece v3
# and v7 put a space before each content, Tekken none; [INST], [/INST] and the system markers are
# control tokens); axolotl's template of the same text where it has one, else dada's own
_MISTRAL_MARKERS = ("<s>", "</s>", "[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]")
register(ChatFormat(
    name="mistral-v3", start="<s>", system=None, user="[INST] {content}[/INST]", assistant=" {content}</s>",
    markers=_MISTRAL_MARKERS, axolotl="mistral_v2v3", eot_tokens=("</s>",)))
register(ChatFormat(
    name="mistral-v7", start="<s>", system="[SYSTEM_PROMPT] {content}[/SYSTEM_PROMPT]",
    user="[INST] {content}[/INST]", assistant=" {content}</s>", markers=_MISTRAL_MARKERS, axolotl=None,
    eot_tokens=("</s>",)))
register(ChatFormat(
    name="mistral-tekken", start="<s>", system=None, user="[INST]{content}[/INST]", assistant="{content}</s>",
    markers=_MISTRAL_MARKERS, axolotl="mistral_v3_tekken", eot_tokens=("</s>",)))

register(ChatFormat(
    name="chatml", start="", system="<|im_start|>system\n{content}<|im_end|>\n",
    user="<|im_start|>user\n{content}<|im_end|>\n", assistant="<|im_start|>assistant\n{content}<|im_end|>\n",
    markers=("<|im_start|>", "<|im_end|>"), axolotl="chatml", eot_tokens=("<|im_end|>",)))

register(ChatFormat(
    name="llama3", start="<|begin_of_text|>",
    system="<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>",
    user="<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>",
    assistant="<|start_header_id|>assistant<|end_header_id|>\n\n{content}<|eot_id|>",
    markers=("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    axolotl="llama3", eot_tokens=("<|eot_id|>",), trim=True))

register(ChatFormat(
    name="gemma3", start="<bos>", system=None, system_in_user=True,
    user="<start_of_turn>user\n{content}<end_of_turn>\n", assistant="<start_of_turn>model\n{content}<end_of_turn>\n",
    markers=("<start_of_turn>", "<end_of_turn>"), axolotl="gemma3", eot_tokens=("<end_of_turn>",), trim=True))


def get_format(name: str | None) -> ChatFormat:
    """The format called ``name`` (None: mistral-v1, the seed's); ConfigError naming the known."""
    if name is None:
        return MISTRAL_V1
    if name not in FORMATS:
        raise ConfigError(f"unknown chat format {name!r}; choose one of: {', '.join(sorted(FORMATS))}")
    return FORMATS[name]
