"""Throughput of ``dada slop``'s metrics on slop-score's reference outputs, and, where ``node``
is on the PATH, the ratio to slop-score's own JavaScript on the same files.

dada: ``analyse`` (tokenising, every registered metric, the over-represented words, the Slop
Score, the top offenders), timed in this process; reading the JSON files is not timed.

slop-score: its ``generate-leaderboard.mjs`` (every metric of the published table, stage-1
contrasts as under Node), run as it ships on the same two files in a scratch folder laid out as
its repository: its JS from ../shared/data/slop/slop-score-js (read there, never part of dada),
the wordfreq list from the ``wordfreq`` package, dada's bundled slop lists, an empty human
writing profile (slop-score's is not available; its bigram/trigram ranking then runs against
an empty profile, work dada does not do), ``@msgpack/msgpack`` from npm (installed once into
~/.cache/dada-bench-node). Its time is the node process's minus that of the same run with no
result files (start-up, loading wordfreq). Runs are interleaved, best of N each. The metrics it
writes are compared with dada's (default normalisation, as this slop-score version uses).

Run: ``.venv/bin/python bench/bench_slop.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dada_plugin.text.lists import DATA_PACKAGE, load_lists
from dada_plugin.eval.metrics import analyse
from dada_plugin.eval.sources import read_source

TARGET_RATIO = 5.0
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "eval" / "data"
FILES = ("mistral-nemo.json", "gemma-3-4b-it.json")
SLOP_SCORE_JS = ROOT.parent / "shared" / "data" / "slop" / "slop-score-js"
NODE_CACHE = Path.home() / ".cache" / "dada-bench-node"
COMPARED = ("slop_list_matches_per_1k_words", "slop_trigram_matches_per_1k_words", "not_x_but_y_per_1k_chars",
            "vocab_level", "avg_sentence_length", "avg_paragraph_length", "dialogue_frequency")


def node_harness() -> Path | None:
    """A scratch folder laid out as slop-score's repository, or None (no node, no JS, no npm)."""
    if not shutil.which("node") or not (SLOP_SCORE_JS / "generate-leaderboard.mjs").is_file():
        return None
    if not (NODE_CACHE / "node_modules" / "@msgpack" / "msgpack").is_dir():
        if not shutil.which("npm"):
            return None
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        if subprocess.call(["npm", "install", "--silent", "--prefix", str(NODE_CACHE), "@msgpack/msgpack@3"],
                           stdout=subprocess.DEVNULL) != 0:
            return None
    import wordfreq
    from importlib import resources

    work = Path(tempfile.mkdtemp(prefix="dada-bench-slop-"))
    (work / "js").mkdir()
    for js in SLOP_SCORE_JS.glob("*.js"):
        shutil.copy(js, work / "js" / js.name)
    shutil.copy(SLOP_SCORE_JS / "generate-leaderboard.mjs", work)
    (work / "node_modules").symlink_to(NODE_CACHE / "node_modules")
    data = work / "data"
    data.mkdir()
    shutil.copy(Path(wordfreq.__file__).parent / "data" / "large_en.msgpack.gz", data)
    for name in ("slop_list.json", "slop_list_bigrams.json", "slop_list_trigrams.json"):
        (data / name).write_bytes(resources.files(DATA_PACKAGE).joinpath(name).read_bytes())
    (data / "human_writing_profile.json").write_text('{"human-authored": {"top_bigrams": [], "top_trigrams": []}}')
    (work / "human_writing_samples").mkdir()
    (work / "results").mkdir()
    return work


def node_seconds(work: Path, with_files: bool) -> float:
    results = work / "results"
    for f in results.iterdir():
        f.unlink()
    if with_files:
        for name in FILES:
            shutil.copy(DATA / name, results / name)
    (work / "data" / "leaderboard_results.json").unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(["node", "generate-leaderboard.mjs", "--force"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best is kept")
    args = parser.parse_args()
    columns = {}
    for name in FILES:
        columns.update(read_source(DATA / name).columns)
    megabytes = sum(len(text.encode("utf-8")) for samples in columns.values() for _, text in samples) / 1e6
    load_lists(False)
    analyse([(None, "warm up: wordfreq and the lists load once.")])
    work = node_harness()
    ours = js = idle = float("inf")
    results = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        results = {model: analyse(samples) for model, samples in columns.items()}
        ours = min(ours, time.perf_counter() - start)
        if work is not None:
            js = min(js, node_seconds(work, True))
            idle = min(idle, node_seconds(work, False))
    print(f"dada: {megabytes:.2f} MB of text in {ours:.3f} s: {megabytes / ours:.1f} MB/s")
    if work is None:
        print("slop-score's JavaScript: not run (needs node, npm once, and ../shared/data/slop/slop-score-js)")
        return
    node_only = js - idle
    node_seconds(work, True)
    board = {r["model"]: r["metrics"] for r in json.loads((work / "data" / "leaderboard_results.json").read_text())["results"]}
    worst = max(abs(results[m]["metrics"][k] / board[m][k] - 1) for m in results for k in COMPARED if board[m][k])
    shutil.rmtree(work, ignore_errors=True)
    print(f"slop-score (node): {node_only:.3f} s of metrics ({js:.3f} s in all, {idle:.3f} s start-up); "
          f"dada is {node_only / ours:.1f}x faster (target {TARGET_RATIO:.0f}x), {js / ours:.1f}x counting node's start-up")
    print(f"largest relative difference of the {len(COMPARED)} shared metrics, dada vs slop-score's own run: {worst:.2e}")


if __name__ == "__main__":
    main()
