"""kill -9 in the middle of a paid rewrite run, rerun, and compare with an uninterrupted run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from dada_plugin.testing import FakeLLMServer

SHARED = ("dada.jsonl", "rejected.jsonl", "README.md")


def dada_build(alpaca_path, out, url):
    return [sys.executable, "-m", "dada_plugin.cli", "build", str(alpaca_path), "-o", str(out),
            "--backend", "openai", "--model", "toddler", "--base-url", url, "--concurrency", "2",
            "--no-progress"]


def stored(out) -> int:
    db = out / "cache" / "rewrites.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_then_rerun_matches_uninterrupted(alpaca_path, tmp_path):
    with FakeLLMServer(latency=0.04, slots=2) as srv:
        reference = tmp_path / "reference"
        subprocess.run(dada_build(alpaca_path, reference, srv.url), check=True, capture_output=True)
        assert srv.answered == 99

        out = tmp_path / "killed"
        proc = subprocess.Popen(dada_build(alpaca_path, out, srv.url), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while stored(out) < 25 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kept_after_kill = stored(out)
        assert 25 <= kept_after_kill < 99
        assert not (out / "dada.jsonl").exists()  # never half an output

        while srv.in_flight:  # let replies to the dead client finish before counting
            time.sleep(0.01)
        before = srv.answered
        rerun = subprocess.run(dada_build(alpaca_path, out, srv.url), check=True, capture_output=True,
                               text=True)
        # only the missing rewrites were asked for: nothing lost, nothing paid twice
        assert srv.answered - before == 99 - kept_after_kill
        assert f"{99 - kept_after_kill} new, {kept_after_kill} from cache" in rerun.stdout
    assert stored(out) == 99
    for name in SHARED:
        assert (out / name).read_text() == (reference / name).read_text(), name
