"""Offline backends: ``none`` keeps the original answers; ``heuristic`` is a deterministic,
rule-based simplifier (short sentences, plain words, no intensifiers). ``heuristic`` is the
embedded default for the demo and the tests; it is NOT a substitute for an LLM rewrite."""

from __future__ import annotations

import re

from dataset_builders.rewrite.registry import Backend, Completion, register

PLAIN_WORDS = {
    "utilize": "use", "utilizes": "uses", "utilized": "used", "utilizing": "using",
    "approximately": "about", "additionally": "also", "furthermore": "also", "moreover": "also",
    "however": "but", "therefore": "so", "thus": "so", "consequently": "so",
    "individuals": "people", "individual": "person", "numerous": "many", "various": "many",
"assist": "help", "assistance": "help", "obtain": "get",
    "demonstrate": "show", "demonstrates": "shows", "commence": "start", "commences": "starts",
    "sufficient": "enough", "require": "need", "requires": "needs", "required": "needed",
    "significant": "big", "significantly": "a lot", "regarding": "about", "prior": "before",
    "subsequently": "then", "facilitate": "help", "facilitates": "helps", "ensure": "make sure",
    "ensures": "makes sure", "essential": "needed", "crucial": "important", "vital": "important",
    "enhance": "improve", "enhances": "improves", "comprehensive": "full", "optimal": "best",
    "beneficial": "good", "diverse": "different", "innovative": "new",
}
INTENSIFIERS = re.compile(
    r"\b(very|really|extremely|incredibly|absolutely|truly|highly|deeply|greatly|"
    r"remarkably|exceptionally|undeniably|profoundly)\s+", re.I)
CLICHES = [
    (re.compile(r"\b(is|are|was|were|stands as) (a|an) testament to\b", re.I), r"\1 proof of"),
    (re.compile(r"\b(a|an) testament to\b", re.I), "proof of"),
    (re.compile(r"\bsend(s)? shivers down (\w+) spine\b", re.I), r"scare\1 \2"),
    (re.compile(r"\bin (today's|the modern) (fast-paced )?world,?\s*", re.I), ""),
    (re.compile(r"\ba (rich )?tapestry of\b", re.I), "a mix of"),
    (re.compile(r"\bdelve(s)? into\b", re.I), r"look\1 at"),
]
SPLIT = re.compile(r",\s+(?:and|but|so|while)\s+(?=(?:I|we|you|he|she|it|they|this|that|these|"
                   r"there|the|a|an|his|her|their|our|its)\b)|;\s+")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
MAX_SENTENCES = 4


def looks_structured(text: str) -> bool:
    """Code, tables and lists are kept as they are: simplifying them would break them."""
    return bool(re.search(r"^\s*([-*]|\d+[.)])\s*\S|^\s{2,}\S|[{};]\s*$|^(def|class|import) ",
                          text, re.M))


def _split_long(sentence: str) -> list[str]:
    if len(sentence.split()) <= 14:
        return [sentence]
    parts = SPLIT.split(sentence, maxsplit=1)
    if len(parts) == 1:
        return [sentence]
    first, rest = parts[0].rstrip(",") + ".", parts[1]
    return [first, *(_split_long(rest[:1].upper() + rest[1:]))]


def simplify(answer: str) -> str:
    if looks_structured(answer):
        return answer
    text = answer
    for pattern, repl in CLICHES:
        text = pattern.sub(repl, text)
    text = INTENSIFIERS.sub("", text)
    text = re.sub(r"[A-Za-z]+", _plain_word, text)
    sentences = [part for sentence in SENTENCE.split(text.strip()) for part in _split_long(sentence.strip())]
    return " ".join(s for s in sentences[:MAX_SENTENCES] if s)


def _plain_word(m: re.Match) -> str:
    word = m.group(0)
    repl = PLAIN_WORDS.get(word.lower())
    if repl is None:
        return word
    return repl[:1].upper() + repl[1:] if word[:1].isupper() else repl


class OfflineRewrite(Backend):
    """A backend that rewrites one pair at a time, in-process: nothing to cache or resume."""

    cacheable = False

    def rewrite_pair(self, question: str, answer: str) -> str:
        raise NotImplementedError

    def complete(self, jobs, on_result):
        for job in jobs:
            on_result(job, Completion(self.rewrite_pair(*job.pair)))


@register("none")
class NoRewrite(OfflineRewrite):
    def identity(self) -> dict:
        return {"backend": self.name}

    def rewrite_pair(self, question: str, answer: str) -> str:
        return answer


@register("heuristic")
class HeuristicRewrite(OfflineRewrite):
    def identity(self) -> dict:
        return {"backend": self.name, "version": 1}

    def rewrite_pair(self, question: str, answer: str) -> str:
        return simplify(answer)
