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
    # words on the slop lists a plain word can stand for
    "towards": "to", "toward": "to", "strategies": "ways", "strategy": "way", "mitigate": "lessen",
    "initiatives": "plans", "initiative": "plan", "prioritize": "put first", "diligently": "hard",
    "unexpected": "surprising", "glistening": "shiny", "twinkling": "shining", "adaptable": "flexible",
    "sustainability": "lasting", "echoes": "sounds", "meticulous": "careful", "pivotal": "key",
    "leverage": "use", "robust": "strong", "seamless": "smooth", "seamlessly": "smoothly",
    "intricate": "detailed", "vibrant": "bright", "bustling": "busy", "realm": "world",
    "myriad": "many", "paramount": "most important", "foster": "grow", "fosters": "grows",
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
# the second try: any clause break (a comma before a linking word, a colon, a dash), then a
# plain comma; each side keeps three words or more
CLAUSE = re.compile(r",\s+(?=(?:and|but|so|while|which|because|as|although|since|where|who|when|"
                    r"such as|including|or|making|allowing|leading)\b)|:\s+|\s+[\u2014\u2013-]\s+|,\s+(?!\d)|"
                    r"\s+(?=(?:because|which|so that|that is|that are|that has|that have|and then|in order to)\b)")
LINKS = re.compile(r"^(?:and|but|so|while|which|because|as|although|since|where|who|when|or)\s+", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
MAX_SENTENCES = 4
FACT = re.compile(r"\d|\"|`|https?://")


def looks_structured(text: str) -> bool:
    """Code, tables and lists are kept as they are: simplifying them would break them."""
    return bool(re.search(r"^\s*([-*]|\d+[.)])\s*\S|^\s{2,}\S|[{};]\s*$|^(def|class|import) ",
                          text, re.M))


def _split_long(sentence: str, limit: int = 10) -> list[str]:
    """A sentence over ``limit`` words cut at its first clause break that leaves three words or
    more on each side; the rest cut again."""
    if len(sentence.split()) <= limit:
        return [sentence]
    for m in [*SPLIT.finditer(sentence), *CLAUSE.finditer(sentence)]:
        first, rest = sentence[:m.start()].rstrip(" ,;:") , LINKS.sub("", sentence[m.end():].strip())
        if len(first.split()) >= 3 and len(rest.split()) >= 3:
            end = "" if first[-1:] in ".!?" else "."
            return [first + end, *_split_long(rest[:1].upper() + rest[1:], limit)]
    return [sentence]


def simplify(answer: str) -> str:
    if looks_structured(answer):
        return answer
    text = answer
    for pattern, repl in CLICHES:
        text = pattern.sub(repl, text)
    text = INTENSIFIERS.sub("", text)
    text = re.sub(r"[A-Za-z]+", _plain_word, text)
    sentences = [part for sentence in SENTENCE.split(text.strip()) for part in _split_long(sentence.strip())]
    # the first few sentences, and any later one that holds a number or a quote (a fact)
    return " ".join(s for i, s in enumerate(sentences) if s and (i < MAX_SENTENCES or FACT.search(s)))


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
        return {"backend": self.name, "version": 2}

    def rewrite_pair(self, question: str, answer: str) -> str:
        return simplify(answer)
