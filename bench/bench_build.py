"""Benchmark (b): compile + filter 52,000 records (the fixture replicated, every question and
answer a distinct text), reading and writing included, against a per-record loop over
mistral-common's v1 instruct encoder; and the rewrite checks (fact and style, on the heuristic
rewriter's output) against the same offline build without them.

Targets: <= 3 s on a 2-core machine, >= 4x the per-record loop; the checks add at most half of
the offline build's time.
Run: .venv/bin/python bench/bench_build.py [--records 52000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "alpaca_first100.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=52_000)
    p.add_argument("--repeat", type=int, default=3, help="best of N for each side (noisy machines)")
    args = p.parse_args()

    from mistral_common.protocol.instruct.messages import AssistantMessage, UserMessage
    from mistral_common.protocol.instruct.request import InstructRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    from dataset_builders.pipeline import build
    from dataset_builders.settings import BuildSettings
    from dataset_builders.style import _hits, measure
    from dataset_builders.tokens import load_tokenizer

    import random

    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    rng = random.Random(0)
    pool = sorted({w for r in base for w in r["output"].split() if w.isalpha() and len(w) > 3})

    seen: set[str] = set()

    def distinct(text: str, n: int) -> str:
        """``text`` with ``n`` words of the fixture's vocabulary added, drawn until the result is
        new: no two texts are the same, so no cache can make the work lighter (and no number is
        added, which would make every question one about numbers)."""
        while True:
            out = f"{text} Also {' '.join(rng.choice(pool).lower() for _ in range(n))}."
            if out not in seen:
                seen.add(out)
                return out

    data = [{**base[i % len(base)], "instruction": distinct(base[i % len(base)]["instruction"], 2),
             "output": distinct(base[i % len(base)]["output"], 6)} for i in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "alpaca.json"
        src.write_text(json.dumps(data), encoding="utf-8")
        load_tokenizer()  # load the model file once, outside the timing (both sides need it)
        ours = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = build(src, Path(tmp) / "out", BuildSettings(backend="none", progress=False))
            ours = min(ours, time.perf_counter() - t0)

        timed = {"with checks": float("inf"), "without": float("inf")}
        for _ in range(args.repeat):  # interleaved, best of N each
            for label, extra in (("with checks", {}), ("without", {"fact_check": "off", "style_check": False})):
                measure.cache_clear()  # each run measures its texts afresh
                _hits.cache_clear()
                t0 = time.perf_counter()
                build(src, Path(tmp) / label, BuildSettings(backend="heuristic", progress=False, **extra))
                timed[label] = min(timed[label], time.perf_counter() - t0)

        mt = MistralTokenizer.v1()
        loaded = [(r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""), r["output"])
                  for r in data]
        loop = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for q, a in loaded:
                mt.instruct_tokenizer.encode_instruct(
                    InstructRequest(messages=[UserMessage(content=q), AssistantMessage(content=a)]))
            loop = min(loop, time.perf_counter() - t0)

    n = args.records
    print(f"records: {n}  kept: {len(result.kept)}  (best of {args.repeat} runs each)")
    print(f"dada build (none backend, read+clean+compile+count+filter+write): {ours:.2f} s, "
          f"{n / ours:,.0f} records/s  (target <= 3 s: {'OK' if ours <= 3 else 'MISSED'})")
    print(f"per-record mistral-common loop (encoding only): {loop:.2f} s, {n / loop:,.0f} records/s")
    print(f"speed-up over the loop: {loop / ours:.2f}x  (target >= 4x: {'OK' if loop / ours >= 4 else 'MISSED'})")
    added = timed["with checks"] / timed["without"] - 1
    print(f"heuristic build with the fact and style checks: {timed['with checks']:.2f} s, without: "
          f"{timed['without']:.2f} s: the checks add {added:.0%} (target <= 50 %: "
          f"{'OK' if added <= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
