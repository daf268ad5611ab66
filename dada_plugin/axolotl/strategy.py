"""axolotl prompt strategy for ``dada.jsonl``: ``datasets: - type: dada_plugin.axolotl.strategy``.

Each row's raw Mixtral-Instruct ``text`` (``<s>[INST] q [/INST] a</s>``, several turns allowed)
or, when it has no ``text``, its ``messages`` becomes ``input_ids`` / ``attention_mask`` /
``labels`` laid out as mistral-common's v1 instruct encoder does::

    [BOS] + tok("[INST] q [/INST]") + tok(a) + [EOS]   (+ the same per further turn)

with the training tokenizer (the one axolotl loaded for the model). Exactly one BOS, an EOS after
every answer, the ``[INST] ... [/INST]`` parts masked with -100 unless ``train_on_inputs: true``
(then every token is trained). Nothing is truncated: rows longer than ``sequence_len`` come back
whole and axolotl drops them (``excess_length_strategy``, default ``drop``); the DADA plugin
refuses ``truncate`` because it would cut answers.

The ids equal axolotl's ``type: chat_template, chat_template: mistral_v1`` on the rows'
messages (tested on every fixture record). Encoding each part on its own makes the result
independent of the Hugging Face tokenizer's ``legacy`` flag, which changes how ``<s>[INST]``
in one string is split (``1, 28792`` vs ``1, 733``). Where the Hugging Face tokenizer and
mistral-common's SentencePiece encoder disagree inside a text (runs of spaces in code), this
strategy follows the Hugging Face tokenizer; see ``dada_plugin/axolotl/README.md``.
"""

from __future__ import annotations

from typing import Any

from axolotl.prompt_tokenizers import (
    IGNORE_INDEX,
    InvalidDataException,
    PromptTokenizingStrategy,
)

from dada_plugin.errors import TemplateError
from dataset_builders.template import Turn, decompile, user_part


def row_turns(row: dict[str, Any]) -> list[Turn]:
    """The (question, answer) turns of a ``dada.jsonl`` row: from ``text``, else ``messages``."""
    text = row.get("text")
    if text:
        try:
            return decompile(text)
        except TemplateError as exc:
            raise InvalidDataException(f"row {row.get('id', '?')}: {exc}") from exc
    messages = row.get("messages") or []
    roles = [m.get("role") for m in messages]
    if not messages or len(messages) % 2 or roles != ["user", "assistant"] * (len(messages) // 2):
        raise InvalidDataException(
            f"row {row.get('id', '?')}: needs a 'text' or alternating user/assistant 'messages'")
    return [(messages[i]["content"], messages[i + 1]["content"]) for i in range(0, len(messages), 2)]


def encode_turns(tokenizer, turns: list[Turn], train_on_inputs: bool = False) -> dict[str, list[int]]:
    """Token ids and labels of one conversation (no truncation).

    An answer whose first piece is a lone ``▁`` (answers starting with a digit: ``▁`` + ``1``)
    keeps it in ``input_ids`` but masks it: it is the separator space of the template, and
    axolotl's chat_template masks it the same way.
    """
    space = tokenizer.convert_tokens_to_ids("\u2581")
    ids, labels = [tokenizer.bos_token_id], [IGNORE_INDEX]
    for question, answer in turns:
        prompt = tokenizer.encode(user_part(question), add_special_tokens=False)
        reply = tokenizer.encode(answer, add_special_tokens=False) + [tokenizer.eos_token_id]
        ids += prompt + reply
        if train_on_inputs:
            labels += prompt + reply
            continue
        lead = 1 if len(reply) > 2 and reply[0] == space else 0
        labels += [IGNORE_INDEX] * (len(prompt) + lead) + reply[lead:]
    if train_on_inputs:
        labels[0] = ids[0]
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


class DadaStrategy(PromptTokenizingStrategy):
    """Tokenises ``dada.jsonl`` rows (one row at a time)."""

    def tokenize_prompt(self, prompt: dict[str, Any]) -> dict[str, list[int]]:
        return encode_turns(self.tokenizer, row_turns(prompt), bool(self.train_on_inputs))


def load(tokenizer, cfg, ds_cfg=None):
    """Entry point axolotl calls for ``type: dada_plugin.axolotl.strategy``."""
    if tokenizer.bos_token_id is None or tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer needs a BOS and an EOS token for Mixtral-Instruct sequences")
    return DadaStrategy(None, tokenizer, cfg.train_on_inputs or False, cfg.sequence_len or 2048)


def row_lengths(tokenizer, rows: list[dict[str, Any]]) -> list[int]:
    """Token count of each row as :func:`encode_turns` lays it out (batched; for length checks)."""
    turns = [row_turns(row) for row in rows]
    parts = [part for conv in turns for q, a in conv for part in (user_part(q), a)]
    sizes = iter(len(ids) for ids in tokenizer(parts, add_special_tokens=False)["input_ids"]) if parts else iter(())
    return [1 + sum(next(sizes) + next(sizes) + 1 for _ in conv) for conv in turns]
