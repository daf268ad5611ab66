"""The bundled slop lists (``data/``), normalised the way slop-score's ``loadSlopSets`` does.

Each list entry is lower-cased and reduced to its first match of a normalisation pattern:

* ``fixed`` (the default; slop-score since 2025-11-23) keeps apostrophes inside words, so
  "today's fast paced" stays a trigram;
* ``legacy`` (the rule in force when the published leaderboard was computed) stops at an
  apostrophe, so "today's fast paced" became "today" and "k'tharr" became "k".

With ``legacy`` the published figures are reproduced exactly (tests/eval, calibration). The
fixed rule moves them on the reference outputs by: mistral-nemo slop words -0.65 %, trigrams
+0.38 %; gemma-3-4b-it slop words +0.13 %, trigrams 0. Nothing else depends on the lists.

The antislop phrases are split into tokens with the same tokenizer as the texts (punctuation
dropped: "maybe, just maybe" is the token run ``maybe just maybe``); phrases with characters the
tokenizer cannot see (digits, accented letters) are left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from dada_plugin.text.tokenize import tokens

LEGACY_ENTRY = re.compile(r"[a-z]+(?:\s+[a-z]+)*")
FIXED_ENTRY = re.compile(r"[a-z]+(?:'[a-z]+)?(?:\s+[a-z]+(?:'[a-z]+)?)*")
PHRASE_CHARS = re.compile(r"[a-z' ,.\-]+")

DATA_PACKAGE = "dada_plugin.text.data"


def read_data(name: str):
    """Parse one bundled JSON file."""
    return json.loads(resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8"))


def normalise_entries(entries, legacy: bool) -> frozenset[str]:
    """slop-score's entry normalisation: first match of the pattern, lower-cased."""
    pattern = LEGACY_ENTRY if legacy else FIXED_ENTRY
    out = set()
    for item in entries:
        if not item:
            continue
        found = pattern.findall(str(item[0]).lower())
        if found:
            out.add(found[0])
    return frozenset(out)


@dataclass(frozen=True)
class SlopLists:
    """Normalised lists: words (1-token strings), trigrams ("a b c") and antislop phrases."""

    words: frozenset[str]
    trigrams: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    legacy: bool


def antislop_phrases() -> tuple[tuple[str, ...], ...]:
    """Distinct token runs of the antislop phrase list, in list order."""
    seen: dict[tuple[str, ...], None] = {}
    for phrase, _multiplier in read_data("antislop_phrase_adjustments.json"):
        low = str(phrase).lower()
        if not PHRASE_CHARS.fullmatch(low):
            continue
        run = tuple(tokens(low))
        if run:
            seen.setdefault(run, None)
    return tuple(seen)


@lru_cache(maxsize=2)
def load_lists(legacy: bool = False) -> SlopLists:
    """The bundled lists, normalised with the legacy or the fixed rule (cached)."""
    return SlopLists(
        words=normalise_entries(read_data("slop_list.json"), legacy),
        trigrams=normalise_entries(read_data("slop_list_trigrams.json"), legacy),
        phrases=antislop_phrases(),
        legacy=legacy,
    )


def benchmark_prompts() -> list[str]:
    """slop-score's 300 benchmark prompts (creative writing and essays), in file order."""
    return [str(p) for p in read_data("prompts.json")]
