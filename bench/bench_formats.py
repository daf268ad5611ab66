"""Benchmark: the token count of the build (the ``--max-tokens`` filter) per conversation format,
next to mistral-v1's batched SentencePiece count, on the same records (the fixture replicated,
every question and answer a distinct text), interleaved, best of N.

mistral-v1 counts with mistral-common's v1 SentencePiece model (segment counting, several times
faster than encoding); mistral-v3 / -v7 / -tekken encode each content with mistral-common's own
tokenizer files; the other formats count the ids their Hugging Face tokenizer's chat template
gives (here byte-level BPE tokenizers trained on the fixture, the stand-in the tests use).
Run: .venv/bin/python bench/bench_formats.py [--records 5000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "alpaca_first100.json"
FORMATS = ("chatml", "llama3", "gemma3")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=5_000)
    p.add_argument("--repeat", type=int, default=3, help="best of N for each side (noisy machines)")
    args = p.parse_args()

    from dada_plugin.tiny import build_bpe_tokenizer
    from dataset_builders.tokens import MISTRAL_COMMON, HFChatTokenizer, MistralV1Tokenizer, load_tokenizer

    base = json.loads(FIXTURE.read_text(encoding="utf-8"))
    convs = [[(f"{r['instruction']} ({i})", f"{r['output']} [{i}]")]
             for i in range(args.records // len(base) + 1) for r in base][:args.records]
    with tempfile.TemporaryDirectory() as tmp:
        texts = [r["instruction"] + " " + r["output"] for r in base]
        counters = {"mistral-v1": MistralV1Tokenizer()}
        counters.update({tok.format.name: tok for tok in map(load_tokenizer, sorted(MISTRAL_COMMON))})
        for name in FORMATS:
            counters[name] = HFChatTokenizer(str(build_bpe_tokenizer(Path(tmp) / name, name, texts)))
        best = dict.fromkeys(counters, float("inf"))
        for _ in range(args.repeat):  # interleaved: each round times every format once
            for name, tok in counters.items():
                started = time.perf_counter()
                tok.count_batch(convs)
                best[name] = min(best[name], time.perf_counter() - started)
    print(f"token counts of {len(convs):,} one-turn conversations (best of {args.repeat}):")
    for name, seconds in best.items():
        print(f"  {name:<14} {seconds:7.2f} s  {len(convs) / seconds:>9,.0f} rec/s  "
              f"{seconds / best['mistral-v1']:5.1f}x mistral-v1's time")


if __name__ == "__main__":
    main()
