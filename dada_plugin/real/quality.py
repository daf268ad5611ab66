"""The quality guard of ``dada demo --real``: a lower slop score must not come from a broken model.

- Perplexity on held-out human-written answers (Alpaca records training never saw), on the answer
  tokens only (the answer and its end of turn), given the question in the arm's own prompt format,
  computed by llama.cpp on the same GGUF the evaluation serves (in a child process: a llama.cpp
  built for another CPU kills the child, not dada). Interval: bootstrap over the records.
- Degenerate replies: empty, or dominated by a repeated n-gram (:func:`degenerate`).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from dada_plugin.errors import ToolError
from dada_plugin.offline import offline_env

NGRAM = 4             # a reply is degenerate when one word 4-gram
DOMINANT = 0.5        # covers at least half of its words (count x 4 >= 0.5 x words)
MIN_WORDS = 12        # (replies shorter than this are judged only by being empty)

# argv: GGUF, then a JSON list of [prefix, full] texts on stdin; prints [[nll, n_tokens], ...]
PERPLEXITY = r"""
import json, sys
import numpy as np
from llama_cpp import Llama
pairs = json.load(sys.stdin)
llm = Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), logits_all=True, n_threads=2, verbose=False)
out = []
for prefix, full in pairs:
    head = llm.tokenize(prefix.encode(), add_bos=False, special=True)
    ids = llm.tokenize(full.encode(), add_bos=False, special=True)
    if ids[:len(head)] != head or len(ids) <= len(head) or len(ids) > llm.n_ctx():
        out.append(None)  # the prompt's tokens are no prefix of the whole text's: not scored, counted
        continue
    llm.reset()
    llm.eval(ids)
    rows = np.asarray(llm.scores[len(head) - 1:len(ids) - 1], dtype=np.float64)  # row i predicts token i+1
    top = rows.max(axis=1, keepdims=True)
    logz = (top[:, 0] + np.log(np.exp(rows - top).sum(axis=1)))
    target = np.array(ids[len(head):])
    nll = float((logz - rows[np.arange(len(target)), target]).sum())
    out.append([nll, len(target)])
print(json.dumps(out))
"""


def answer_nll(gguf: str | Path, pairs: list[tuple[str, str]], n_ctx: int = 384
               ) -> list[tuple[float, int] | None]:
    """(summed negative log-likelihood, tokens) of each ``full`` text's tokens after its
    ``prefix``, as llama.cpp scores them with ``gguf``; None for a text it could not score (its
    prompt tokenized apart from the whole, or longer than ``n_ctx``: llama.cpp keeps n_ctx x
    vocabulary scores, so the window is kept small)."""
    proc = subprocess.run([sys.executable, "-c", PERPLEXITY, str(gguf), str(n_ctx)], input=json.dumps(pairs),
                          capture_output=True, text=True, env=offline_env())
    if proc.returncode != 0:
        from dada_plugin.llamacpp.serve import crash_message

        raise ToolError(crash_message(f"llama.cpp (scoring {gguf})", proc.returncode, proc.stderr.splitlines()))
    return [None if x is None else (float(x[0]), int(x[1])) for x in json.loads(proc.stdout.strip().splitlines()[-1])]


def perplexity(scored: list[tuple[float, int] | None], *, n_resamples: int = 1000, seed: int = 0,
               level: float = 0.95) -> dict:
    """{"value": exp(total NLL / total tokens), "ci95": [lo, hi] (bootstrap over records),
    "records", "tokens", "unscored"} (records llama.cpp could not score are counted, not used)."""
    unscored = sum(s is None for s in scored)
    scored = [s for s in scored if s is not None]
    if not scored:
        return {"value": None, "ci95": [None, None], "records": 0, "tokens": 0, "unscored": unscored}
    nll = np.array([s[0] for s in scored])
    n = np.array([s[1] for s in scored], dtype=float)
    value = math.exp(nll.sum() / n.sum())
    rng = np.random.default_rng(seed)
    draws = np.empty(n_resamples)
    for b in range(n_resamples):
        w = np.bincount(rng.integers(0, len(n), len(n)), minlength=len(n))
        draws[b] = math.exp((w * nll).sum() / (w * n).sum())
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return {"value": value, "ci95": [float(lo), float(hi)], "records": len(n), "tokens": int(n.sum()),
            "unscored": unscored}


def degenerate(reply: str) -> bool:
    """Empty, or dominated by a repeated n-gram: one word 4-gram whose occurrences cover at
    least half of the reply's words (a reply of 12 words or more)."""
    words = reply.split()
    if not words:
        return True
    if len(words) < MIN_WORDS:
        return False
    grams = Counter(tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1))
    return grams.most_common(1)[0][1] * NGRAM >= DOMINANT * len(words)


DEGENERATE_DEFINITION = (f"a reply is degenerate when it is empty, or (at {MIN_WORDS} words or more) one word "
                         f"{NGRAM}-gram repeats so often that its occurrences cover at least "
                         f"{DOMINANT:.0%} of the reply's words")
