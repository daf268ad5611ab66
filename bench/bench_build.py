"""Benchmark (b): compile + filter 52,000 records (the fixture replicated), reading and writing
included, against a per-record loop over mistral-common's v1 instruct encoder.

Targets: <= 3 s on a 2-core machine, and >= 4x the per-record loop.
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
    from dataset_builders.tokens import load_tokenizer

    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    # every replica distinct (a numbered instruction), so no two records are the same text
    data = [{**base[i % len(base)],
             "instruction": f"{base[i % len(base)]['instruction']} (#{i})"} for i in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "alpaca.json"
        src.write_text(json.dumps(data), encoding="utf-8")
        load_tokenizer()  # load the model file once, outside the timing (both sides need it)
        ours = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = build(src, Path(tmp) / "out", BuildSettings(backend="none", progress=False))
            ours = min(ours, time.perf_counter() - t0)

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


if __name__ == "__main__":
    main()
