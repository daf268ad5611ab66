"""Benchmark (a): rewrite throughput against a local OpenAI-compatible server with a fixed
latency per request and N slots, through dada's rewrite stage (durable store included).

Prints achieved / ideal (ideal = N / latency requests per second; target >= 0.9) and the ratio
to a sequential loop of the same requests.
Run: .venv/bin/python bench/bench_rewrite.py [--latency 0.1] [--slots 8] [--requests 400]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    p.add_argument("--slots", type=int, default=8, help="requests the server runs at once")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--endpoints", type=int, default=1, help="servers (each with --slots slots)")
    args = p.parse_args()

    import httpx

    from dada_plugin.testing import FakeLLMServer
    from dataset_builders.pipeline import rewrite
    from dataset_builders.records import Record
    from dataset_builders.rewrite import BackendOptions, get_backend
    from dataset_builders.rewrite.prompt import DEFAULT_PROMPT
    from dataset_builders.store import CompletionStore

    records = [Record(f"{i}-bench", i, f"Question {i}?", f"Answer number {i}. It is long.")
               for i in range(args.requests)]
    servers = [FakeLLMServer(latency=args.latency, slots=args.slots).__enter__()
               for _ in range(args.endpoints)]
    try:
        backend = get_backend("openai", BackendOptions(
            model="bench", base_urls=[s.url for s in servers], concurrency=args.slots))
        with tempfile.TemporaryDirectory() as tmp:
            store = CompletionStore(Path(tmp) / "rewrites.sqlite")
            t0 = time.perf_counter()
            result, _ = rewrite(records, backend, DEFAULT_PROMPT, store, progress=False)
            elapsed = time.perf_counter() - t0
            assert len(store) == args.requests and len(result.kept) == args.requests
            store.close()

        n_seq = max(10, args.requests // 20)
        body = {"model": "bench", "messages": [{"role": "user", "content": "Answer:\nHi."}]}
        with httpx.Client() as client:
            t0 = time.perf_counter()
            for _ in range(n_seq):
                client.post(f"{servers[0].url}/chat/completions", json=body).raise_for_status()
            seq_rate = n_seq / (time.perf_counter() - t0)
    finally:
        for s in servers:
            s.__exit__(None, None, None)

    achieved = args.requests / elapsed
    ideal = args.endpoints * args.slots / args.latency
    print(f"{args.requests} rewrites, {args.endpoints} endpoint(s) x {args.slots} slots, "
          f"{args.latency * 1000:.0f} ms per request")
    print(f"achieved: {achieved:.1f} req/s   ideal: {ideal:.1f} req/s   "
          f"achieved/ideal: {achieved / ideal:.3f}  (target >= 0.9: {'OK' if achieved / ideal >= 0.9 else 'MISSED'})")
    print(f"sequential loop: {seq_rate:.1f} req/s   speed-up over it: {achieved / seq_rate:.1f}x")


if __name__ == "__main__":
    main()
