"""The real Mixtral tokenizer, offline, with batched counts.

Default: mistral-common's ``tokenizer.model.v1`` (the SentencePiece model of Mistral-7B and
Mixtral-8x7B, 32,000 tokens), encoded exactly as mistral-common's v1 instruct encoder does:
``[BOS] + sp("[INST] q [/INST]") + sp(a) + [EOS]`` per turn, but for a whole batch at once.
``mistral-common:v3``, ``:v7`` and ``:tekken`` are the later Mistral tokenizers mistral-common ships
(:class:`MistralCommonTokenizer`); ``--tokenizer PATH`` takes any Hugging Face tokenizer with a
chat template instead.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from itertools import chain
from pathlib import Path

from dada_plugin.errors import ConfigError, InputError, TemplateError
from dataset_builders.formats import FORMATS, ChatFormat, get_format
from dataset_builders.formats import MISTRAL_V1 as MISTRAL_V1_FORMAT
from dataset_builders.template import CHAT_TEMPLATE, Turn, decompile, user_part

MISTRAL_V1 = "mistral-common:v1"
V1_SHA256 = "dadfd56d766715c61d2ef780a525ab43b8e6da4de6865bda3d95fdef5e134055"
BOS_ID, EOS_ID = 1, 2
# A space that does not follow a space: SentencePiece (BPE, split_by_whitespace) never merges a
# piece across it, so a text's tokens are its segments' tokens. A literal "▁" in the text
# is the one exception (SentencePiece treats it as a space): such texts are encoded whole.
_SEGMENT = re.compile(r"(?<! ) ")
INST_TOKENS = 7  # "[INST] " and " [/INST]" around a question: "▁[", "INST", "]" and "▁[", "/", "INST", "]"


def v1_model_path() -> Path:
    """Path of ``tokenizer.model.v1`` inside the installed mistral-common, checked by sha256."""
    from importlib.resources import files

    path = Path(str(files("mistral_common") / "data" / "tokenizer.model.v1"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != V1_SHA256:
        raise InputError(path, f"not the Mixtral v1 tokenizer (sha256 {digest[:12]}...)")
    return path


class MistralV1Tokenizer:
    """Batched SentencePiece encoding that equals mistral-common's v1 instruct encoding."""

    name = MISTRAL_V1
    format = MISTRAL_V1_FORMAT

    def __init__(self):
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(v1_model_path()))

    def encode_batch(self, conversations: list[list[Turn]]) -> list[list[int]]:
        pieces: list[str] = []
        for turns in conversations:
            for q, a in turns:
                pieces.append(user_part(q))
                pieces.append(a)
        encoded = iter(self._sp.encode(pieces, num_threads=2) if pieces else [])
        out = []
        for turns in conversations:
            ids = [BOS_ID]
            for _ in turns:
                ids += next(encoded)
                ids += next(encoded)
                ids.append(EOS_ID)
            out.append(ids)
        return out


    def count_batch(self, conversations: list[list[Turn]], systems: None = None) -> list[int]:
        """Token counts equal to ``len`` of :meth:`encode_batch`, several times faster: each
        distinct space-delimited segment is encoded once (a segment is encoded on its own, its
        dummy prefix standing for the space it was split at)."""
        texts: list[str] = []
        for turns in conversations:
            for q, a in turns:
                texts.append(q)
                texts.append(a)
        split = _SEGMENT.split
        segmented = [split(t) if "  " in t else t.split(" ") for t in texts]
        unique = list(set(chain.from_iterable(segmented)))
        lengths = dict(zip(unique, map(len, self._sp.encode(unique, num_threads=2))))
        lengths[""] = 0
        get = lengths.__getitem__
        counts = [sum(map(get, segs)) for segs in segmented]
        # leading/trailing spaces are the one place segments do not compose: encode those whole
        # (a question is encoded inside "[INST] q [/INST]", so its own edges are checked there)
        odd = [i for i, t in enumerate(texts) if t[:1] == " " or t[-1:] == " " or not t or "\u2581" in t]
        if odd:
            whole = [user_part(texts[i]) if i % 2 == 0 else texts[i] for i in odd]
            for i, n in zip(odd, map(len, self._sp.encode(whole))):
                counts[i] = n - (INST_TOKENS if i % 2 == 0 else 0)
        # per turn: the question's tokens + 7 for [INST] ... [/INST], the answer's, EOS; one BOS
        per_turn = [q + a + INST_TOKENS + 1 for q, a in zip(counts[0::2], counts[1::2])]
        out, pos = [], 0
        for turns in conversations:
            out.append(1 + sum(per_turn[pos:pos + len(turns)]))
            pos += len(turns)
        return out


MISTRAL_COMMON = {  # built-in tokenizers mistral-common ships offline: its file, the format it encodes
    "mistral-common:v3": ("mistral_instruct_tokenizer_240323.model.v3", "mistral-v3"),
    "mistral-common:v7": ("mistral_instruct_tokenizer_241114.model.v7", "mistral-v7"),
    "mistral-common:tekken": ("tekken_240911.json", "mistral-tekken"),
}


class MistralCommonTokenizer:
    """A later Mistral tokenizer from mistral-common's own files (v3 and v7 SentencePiece,
    Tekken), laid out as its instruct encoder does: ``[BOS]`` (``[SYSTEM_PROMPT] s
    [/SYSTEM_PROMPT]`` in v7), then per turn ``[INST] q [/INST] a [EOS]``, each content encoded
    on its own (the encoder's own rule), batched over a whole set."""

    def __init__(self, spec: str):
        from importlib.resources import files

        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        name, fmt = MISTRAL_COMMON[spec]
        self.name, self.format = spec, get_format(fmt)
        self._raw = MistralTokenizer.from_file(str(files("mistral_common") / "data" / name)).instruct_tokenizer.tokenizer
        special = self._raw.get_special_token
        self._inst, self._end_inst = special("[INST]"), special("[/INST]")
        self._system = (special("[SYSTEM_PROMPT]"), special("[/SYSTEM_PROMPT]")) if fmt == "mistral-v7" else None

    def _encode(self, text: str) -> list[int]:
        return self._raw.encode(text, bos=False, eos=False)

    def encode_batch(self, conversations: list[list[Turn]], systems: list[str | None] | None = None
                     ) -> list[list[int]]:
        out = []
        for turns, system in zip(conversations, systems or [None] * len(conversations)):
            ids = [self._raw.bos_id]
            if system is not None:
                if self._system is None:
                    raise TemplateError(f"the {self.format.name} format has no system role")
                ids += [self._system[0], *self._encode(system), self._system[1]]
            for q, a in turns:
                ids += [self._inst, *self._encode(q), self._end_inst, *self._encode(a), self._raw.eos_id]
            out.append(ids)
        return out

    def count_batch(self, conversations: list[list[Turn]], systems: list[str | None] | None = None) -> list[int]:
        return [len(ids) for ids in self.encode_batch(conversations, systems)]


PROBE = [("Who are you?", "A probe."), ("And now?", "Still one.")]


def _messages(turns: list[Turn], system: str | None = None) -> list[dict]:
    head = [{"role": "system", "content": system}] if system is not None else []
    return head + [{"role": r, "content": c} for q, a in turns for r, c in (("user", q), ("assistant", a))]


def renders_as(fmt: ChatFormat, text: str) -> bool:
    """``text`` (a template's rendering of :data:`PROBE`) is ``fmt``'s layout of it
    (mistral-v1: as its decompiler reads it, spacing variants included)."""
    if fmt is MISTRAL_V1_FORMAT:
        try:
            return decompile(text) == PROBE
        except TemplateError:
            return False
    return text == fmt.render(PROBE)


class HFChatTokenizer:
    """Any Hugging Face tokenizer (a local path; nothing is fetched) in one of dada's formats:
    the one its chat template renders, found by rendering a probe conversation; a tokenizer with
    no template (a base model) takes the format ``chat_format`` names, whose template dada then
    gives it."""

    def __init__(self, path: str, chat_format: str | None = None):
        from transformers import AutoTokenizer

        self.name = str(path)
        try:
            self._tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"cannot load a tokenizer: {exc}") from exc
        named = get_format(chat_format) if chat_format else None
        if not self._tok.chat_template:
            if named is None:
                raise InputError(path, "tokenizer has no chat template (a base model?): name its "
                                       f"conversation format with --chat-format ({', '.join(sorted(FORMATS))})")
            self._tok.chat_template = named.jinja()
            self.format, self._exact = named, True
            return
        self.format = self._check_template(path, named)

    def _check_template(self, path, named: ChatFormat | None) -> ChatFormat:
        """The format the tokenizer's template renders: dada compiles sequences in it, so
        counting tokens with a template dada cannot lay out would measure text never trained."""
        try:
            text = self._tok.apply_chat_template(_messages(PROBE), tokenize=False)
        except Exception:  # noqa: BLE001 - jinja or the template's own raise_exception
            text = ""
        found = next((f for f in ([named] if named else FORMATS.values()) if text and renders_as(f, text)), None)
        # the template renders the format's text exactly: count by tokenizing that text in batches
        self._exact = found is not None and text == found.render(PROBE)
        if found is None:
            shown = repr(text[:80]) if text else "nothing usable"
            wanted = f"the {named.name} format" if named else f"one of dada's formats ({', '.join(sorted(FORMATS))})"
            raise InputError(path, f"the tokenizer's chat template is not {wanted} (it renders {shown}); "
                                   "give a tokenizer whose template dada knows, or one without a template "
                                   "and --chat-format")
        return found

    def encode_batch(self, conversations: list[list[Turn]], systems: list[str | None] | None = None
                     ) -> list[list[int]]:
        """The ids the chat template gives each conversation (what axolotl's chat_template type
        trains on): where the template renders the format's text exactly, that text tokenized
        in one batch (the same ids: the template's text is tokenized without added specials),
        else the template applied per conversation."""
        systems = systems or [None] * len(conversations)
        if self._exact:
            texts = [self.format.render(turns, system=system) for turns, system in zip(conversations, systems)]
            return [list(ids) for ids in self._tok(texts, add_special_tokens=False)["input_ids"]] if texts else []
        out = []
        for turns, system in zip(conversations, systems):
            ids = self._tok.apply_chat_template(_messages(turns, system), tokenize=True, return_dict=False)
            out.append(list(ids["input_ids"] if isinstance(ids, dict) else ids))
        return out

    def count_batch(self, conversations: list[list[Turn]], systems: list[str | None] | None = None) -> list[int]:
        return [len(ids) for ids in self.encode_batch(conversations, systems)]

    def encode_labelled(self, turns: list[Turn], system: str | None = None) -> tuple[list[int], list[int]]:
        """(ids, labels) of one conversation as training sees it: the format's text tokenized
        (no added specials), each token labelled with its id where it overlaps a trained
        piece (an answer and its end of turn, :meth:`ChatFormat.pieces`), else -100: a token that
        reaches into one (SentencePiece's "▁Four" after the template's space) is trained."""
        pieces = self.format.pieces(turns, system)
        spans, pos = [], 0
        for part, trained in pieces:
            if trained:
                spans.append((pos, pos + len(part)))
            pos += len(part)
        text = "".join(part for part, _ in pieces)  # the format's rendering, laid out once
        enc = self._tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        labels = [i if any(a < end and start < b for a, b in spans) else -100  # a token reaching into
                  for i, (start, end) in zip(ids, enc["offset_mapping"])]          # an answer is trained
        return ids, labels


@lru_cache(maxsize=4)
def load_tokenizer(spec: str | None = None, chat_format: str | None = None):
    """``None`` or ``mistral-common:v1`` -> the built-in Mixtral tokenizer (the mistral-v1
    format); ``mistral-common:v3`` / ``:v7`` / ``:tekken`` -> mistral-common's later ones; else an HF path, in the format its template renders (or ``chat_format``)."""
    if spec in (None, "", MISTRAL_V1) or spec in MISTRAL_COMMON:
        tok = MistralCommonTokenizer(spec) if spec in MISTRAL_COMMON else MistralV1Tokenizer()
        if chat_format not in (None, tok.format.name):
            raise ConfigError(f"--chat-format {chat_format} needs --tokenizer: a folder with the model's "
                              f"tokenizer (the built-in {tok.name} is the {tok.format.name} format)")
        return tok
    return HFChatTokenizer(spec, chat_format)


def write_hf_tokenizer(directory: str | Path) -> Path:
    """Write a Hugging Face tokenizer of the real Mixtral v1 model (with the Mixtral chat
    template) into ``directory``; used for tiny stand-in models and axolotl configs."""
    import shutil

    from transformers import LlamaTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(v1_model_path(), directory / "tokenizer.model")
    tok = LlamaTokenizer.from_pretrained(str(directory), legacy=True, add_bos_token=True,
                                         add_eos_token=False)
    tok.chat_template = CHAT_TEMPLATE
    tok.init_kwargs["legacy"] = True  # saved, so AutoTokenizer reloads "<s>[INST]" as 1, 733
    tok.save_pretrained(str(directory))
    return directory
