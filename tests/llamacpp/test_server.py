"""A real inference engine in the chain: llama.cpp (llama-cpp-python's OpenAI-compatible server)
serving a tiny GGUF whose replies end ("Yes", then EOS), its chat template applied by the
server. dada build rewrites through it (kill -9 mid-build, then a resume that asks only for what
was not stored), and dada eval serves a GGUF itself and measures it."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.offline import offline_env

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
pytestmark = pytest.mark.llamacpp


@pytest.fixture(scope="module")
def answering_gguf(tmp_path_factory):
    from dada_plugin.llamacpp.export import export_gguf
    from dada_plugin.tiny import build_tiny_mixtral

    root = tmp_path_factory.mktemp("answering")
    build_tiny_mixtral(root / "model", seed=0, answers=True)
    return export_gguf(root / "model", root / "tiny-answers.gguf")


@pytest.fixture(scope="module")
def server(answering_gguf):
    from dada_plugin.llamacpp.serve import serve_gguf

    with serve_gguf(answering_gguf, alias="tiny") as served:
        yield served.url


def build_args(src, out, url):
    return ["build", str(src), "-o", str(out), "--backend", "openai", "--model", "tiny", "--base-url", url,
            "--max-new-tokens", "8", "--no-progress"]


def stored(out) -> int:
    try:
        with sqlite3.connect(out / "cache" / "rewrites.sqlite") as db:
            return db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_build_through_llama_cpp_keeps_rows(server, alpaca_path, tmp_path):
    result = CliRunner().invoke(dada, build_args(alpaca_path, tmp_path / "out", server) + ["--limit", "20"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "dada.jsonl").read_text().splitlines()]
    assert len(rows) >= 15 and {r["answer"] for r in rows} == {"Yes"}
    assert rows[0]["text"] == f"<s>[INST] {rows[0]['question']} [/INST] Yes</s>"


def test_kill_9_mid_build_then_resume_asks_only_for_the_rest(server, alpaca_path, tmp_path):
    whole = tmp_path / "whole"
    assert CliRunner().invoke(dada, build_args(alpaca_path, whole, server)).exit_code == 0
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "dada_plugin.cli", *build_args(alpaca_path, out, server),
                             "--concurrency", "1"], env=offline_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while stored(out) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = stored(out)
    assert 10 <= before < 99, before
    result = CliRunner().invoke(dada, build_args(alpaca_path, out, server))
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["rewrite"]["cached"], stats["rewrite"]["requested"]) == (before, 99 - before)
    assert (out / "dada.jsonl").read_text() == (whole / "dada.jsonl").read_text()


def test_eval_serves_a_gguf_and_measures_it(answering_gguf, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(f"Tell me about lamp {i}." for i in range(5)))
    out = tmp_path / "eval"
    result = CliRunner().invoke(dada, ["eval", "-o", str(out), "--model", f"tiny={answering_gguf}",
                                       "--prompts", str(prompts), "--max-new-tokens", "8", "--no-charts",
                                       "--no-progress", "--bootstrap", "5"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["models"]["tiny"]["sample_count"] == 5
    rows = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    assert {r["output"].strip() for r in rows} == {"Yes"}


def test_a_judge_served_by_llama_cpp_that_gives_no_verdict(server, alpaca_path, tmp_path):
    """The judge through the real engine: the tiny model's "Yes" is no JSON verdict, so each
    record is asked three times, then rejected as judge_error; nothing kept is an error (exit 1)."""
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--limit", "3", "--no-progress",
                                       "--judge-model", "tiny", "--judge-base-url", server])
    assert result.exit_code == 1
    assert "no record was kept (of 100 read; rejected: judge_error 3, nooutput 1)" in result.output
    with sqlite3.connect(out / "cache" / "rewrites.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM retired").fetchone()[0] == 6  # two retries each
        assert {row[0].strip() for row in db.execute("SELECT text FROM completions")} == {"Yes"}


@pytest.fixture
def crashing_serve(monkeypatch):
    """dada eval's llama.cpp server, killed with SIGILL (what an AMX kernel on the wrong CPU
    does) once it answers: the real server dying for real."""
    import os
    from contextlib import contextmanager

    from dada_plugin.eval import generate
    from dada_plugin.llamacpp.serve import serve_gguf

    @contextmanager
    def dying(*args, **kwargs):
        with serve_gguf(*args, **kwargs) as served:
            os.kill(served.pid, signal.SIGILL)
            yield served

    monkeypatch.setattr(generate, "serve_gguf", dying)


def test_a_llama_cpp_server_that_dies_is_named_with_its_signal(answering_gguf, crashing_serve, tmp_path):
    out = tmp_path / "eval"
    started = time.monotonic()
    result = CliRunner().invoke(dada, ["eval", "-o", str(out), "--model", f"tiny={answering_gguf}",
                                       "--n-prompts", "4", "--max-new-tokens", "8", "--no-charts",
                                       "--no-progress"])
    took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert f"llama.cpp (serving {answering_gguf}) died with SIGILL (illegal instruction): " \
           "llama-cpp-python was compiled for another CPU; rebuild it" in result.output
    assert "connection error" not in result.output
    assert took < 30, took  # the crash is found at once, not after the breaker's retries


def test_a_server_that_cannot_load_the_file_says_so_with_its_last_words(tmp_path):
    from dada_plugin.errors import BackendError
    from dada_plugin.llamacpp.serve import serve_gguf

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendError) as info:
        with serve_gguf(bad, alias="bad"):
            pass
    message = str(info.value)
    assert message.startswith(f"llama.cpp (serving {bad}) exited with status "), message
    assert "its last lines:" in message

