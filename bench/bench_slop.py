"""Throughput of the slop/diversity metrics on slop-score's reference outputs.

Prints MB/s of output text (UTF-8 bytes) through ``analyse`` (tokenising, every registered
metric and the top offenders), against the 10 MB/s target. Reading the JSON files is not
timed. Best of N runs, by wall clock and by this process's CPU time (the machine's cores are
shared, so the wall-clock figure drops when other work runs; single-threaded code makes the
CPU figure the machine's speed). Run: ``.venv/bin/python bench/bench_slop.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dada_plugin.eval.lists import load_lists
from dada_plugin.eval.metrics import analyse
from dada_plugin.eval.sources import read_source

TARGET_MB_S = 10.0
DATA = Path(__file__).resolve().parent.parent / "tests" / "eval" / "data"
FILES = ("mistral-nemo.json", "gemma-3-4b-it.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is kept")
    parser.add_argument("--legacy", action="store_true", help="legacy list normalisation")
    args = parser.parse_args()
    columns = {}
    for name in FILES:
        columns.update(read_source(DATA / name).columns)
    megabytes = sum(len(text.encode("utf-8")) for samples in columns.values()
                    for _, text in samples) / 1e6
    load_lists(args.legacy)  # list loading is a one-off, not throughput
    wall = cpu = float("inf")
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for samples in columns.values():
            analyse(samples, legacy=args.legacy)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    for label, seconds in (("wall clock", wall), ("CPU time", cpu)):
        rate = megabytes / seconds
        print(f"{label}: {megabytes:.2f} MB of text in {seconds:.3f} s: {rate:.1f} MB/s "
              f"({rate / TARGET_MB_S:.2f}x the {TARGET_MB_S:.0f} MB/s target)")


if __name__ == "__main__":
    main()
