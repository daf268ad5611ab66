"""Runs that fail must say so: dead endpoints stop the run fast (pre-flight, circuit breaker),
workers never outlive the work, echoes and empty replies never reach the data, and a build that
kept nothing or lost too many rewrites exits non-zero."""

import json
import sqlite3
import time

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import BackendError
from dada_plugin.testing import FakeLLMServer, dead_url, echo_reply
from dataset_builders.rewrite import BackendOptions, Job, get_backend
from dataset_builders.rewrite import openai as openai_backend

SMALL = [{"instruction": f"Count to {i}.", "input": "", "output": f"One to {i}. Done."} for i in range(1, 6)]


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return path


def build(*args):
    return CliRunner().invoke(dada, ["build", *map(str, args), "--backend", "openai", "--model", "m",
                                     "--no-progress"])


def jobs(n):
    return [Job(f"k{i}", [{"role": "user", "content": f"Answer:\nA{i}."}]) for i in range(n)]


def test_build_against_nothing_listening_fails_fast(small, tmp_path):
    url = dead_url()
    started = time.monotonic()
    result = build(small, "-o", tmp_path / "out", "--base-url", url)
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert result.output == (f"Error: no endpoint answered 3 pre-flight requests: {url} "
                             "(connection error (ConnectError))\n")
    assert not (tmp_path / "out" / "dada.jsonl").exists()


def test_build_against_an_always_500_server_fails_fast(small, tmp_path):
    with FakeLLMServer(faults=["500"] * 100) as srv:
        result = build(small, "-o", tmp_path / "out", "--base-url", srv.url)
    assert result.exit_code == 1
    assert result.output == f"Error: no endpoint answered 3 pre-flight requests: {srv.url} (HTTP 500)\n"
    assert srv.requests == 3


def test_a_dead_endpoint_beside_a_live_one_is_left_out(small, tmp_path):
    with FakeLLMServer() as srv:
        result = build(small, "-o", tmp_path / "out", "--base-url", dead_url(), "--base-url", srv.url)
    assert result.exit_code == 0, result.output
    assert srv.answered == 5


def test_circuit_breaker_stops_a_server_that_dies_mid_run(monkeypatch):
    monkeypatch.setattr(openai_backend, "DEAD_AFTER_S", 0.2)
    got = {}
    with FakeLLMServer(faults=[None, None, None] + ["500"] * 10_000) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[srv.url], concurrency=2,
                                                       backoff=0.01, max_retries=100))
        with pytest.raises(BackendError) as err:
            backend.complete(jobs(50), lambda job, c: got.__setitem__(job.key, c))
    assert str(err.value) == f"every endpoint failed 5 times in a row: {srv.url} (HTTP 500)"
    assert len(got) == 2  # what was answered before it died was delivered
    assert srv.requests < 40


def test_a_slow_server_within_the_timeout_is_not_dead():
    with FakeLLMServer(latency=0.3, slots=1) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[srv.url], concurrency=4,
                                                       timeout=5, max_consecutive_failures=1))
        got = {}
        backend.complete(jobs(6), lambda job, c: got.__setitem__(job.key, c))
    assert all(c.ok for c in got.values()) and len(got) == 6


def test_workers_parked_on_a_retry_do_not_outlive_the_work():
    """A small listen backlog refuses connections under load: some workers park on a long
    endpoint pause. The run must end when the last job is done, not when the naps end."""
    with FakeLLMServer(backlog=1, latency=0.001) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[srv.url], concurrency=64,
                                                       backoff=4.0, max_retries=50,
                                                       max_consecutive_failures=10_000))
        last = []
        backend.complete(jobs(300), lambda job, c: last.append(time.monotonic()))
        ended = time.monotonic()
    assert len(last) == 300
    assert ended - max(last) < 1.0


@pytest.mark.parametrize("fault", ["empty", "null"])
def test_an_empty_reply_is_retried_not_stored(fault):
    with FakeLLMServer(faults=[None, None, fault, fault]) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[srv.url], concurrency=1,
                                                       backoff=0.01))
        got = {}
        backend.complete(jobs(2), lambda job, c: got.__setitem__(job.key, c))
    assert got["k1"].text == "Sure! Here's the answer: A1." and got["k1"].meta["attempts"] == 3


def test_an_echoed_prompt_is_rejected_and_a_long_code_answer_is_not(tmp_path):
    code = "```python\n" + "\n".join(f"print('Keep every fact, number, name, list item {i}')"
                                     for i in range(2)) + "\n```"
    data = tmp_path / "in.json"
    data.write_text(json.dumps(SMALL[:2] + [{"instruction": "Show the code.", "input": "", "output": code}]))

    def reply(messages):
        prompt = messages[-1]["content"]
        return code if "Show the code." in prompt else echo_reply(messages)

    with FakeLLMServer(reply=reply) as srv:
        result = build(data, "-o", tmp_path / "out", "--base-url", srv.url)
    assert result.exit_code == 0, result.output
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["reason"], r["detail"]) for r in rejected] == [("echo", "the reply repeats the rewrite prompt")] * 2
    kept = [json.loads(line) for line in (tmp_path / "out" / "dada.jsonl").read_text().splitlines()]
    assert [r["answer"] for r in kept] == [code]


def test_retry_rejected_asks_again_and_keeps_the_old_answer(small, tmp_path):
    out = tmp_path / "out"
    with FakeLLMServer(faults=[None, None, "length"]) as srv:
        first = build(small, "-o", out, "--base-url", srv.url, "--concurrency", "1")
        assert first.exit_code == 0, first.output
        assert '"truncated"' in (out / "rejected.jsonl").read_text()
        same = build(small, "-o", out, "--base-url", srv.url)
        assert srv.requests == 6  # the pre-flight and 5; cached: a rerun asks nothing by itself
        again = build(small, "-o", out, "--base-url", srv.url, "--retry-rejected", "truncated")
    assert again.exit_code == 0, again.output
    assert same.exit_code == 0 and srv.requests == 8
    assert len((out / "dada.jsonl").read_text().splitlines()) == 5
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rewrite"]["retried_rejected"] == 1
    with sqlite3.connect(out / "cache" / "rewrites.sqlite") as db:
        assert db.execute("SELECT finish_reason FROM retired").fetchall() == [("length",)]


def test_too_many_backend_failures_exit_non_zero_with_outputs_written(small, tmp_path):
    out = tmp_path / "out"
    with FakeLLMServer(faults=[None, None] + ["500"] * 8) as srv:
        result = build(small, "-o", out, "--base-url", srv.url, "--concurrency", "1",
                       "--max-retries", "1", "--max-consecutive-failures", "100", "--backoff", "0.01")
    assert result.exit_code == 1
    assert result.output == ("Error: 4 of 5 rewrites failed at the backend (more than 20%; last error: "
                             "gave up after 2 attempts: HTTP 500); nothing written (earlier outputs are "
                             "kept); rerun to ask only for what is missing\n")
    assert not (out / "dada.jsonl").exists()
    with FakeLLMServer() as srv:  # the server is back: only the 4 missing rewrites are asked for
        assert build(small, "-o", out, "--base-url", srv.url).exit_code == 0
    assert srv.answered == 4 and len((out / "dada.jsonl").read_text().splitlines()) == 5


def test_a_huge_reply_is_rejected_as_too_large(small, tmp_path):
    def reply(messages):
        return "big " * 300_000 if "Count to 2." in messages[-1]["content"] else "One, two."

    with FakeLLMServer(reply=reply) as srv:
        result = build(small, "-o", tmp_path / "out", "--base-url", srv.url, "--max-reply-bytes", "100000")
    assert result.exit_code == 0, result.output
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["id"].split("-")[0], r["reason"], r["detail"]) for r in rejected] == [
        ("1", "too_large", "reply over 100000 bytes")]


def test_breaker_trips_when_the_only_live_endpoint_dies(monkeypatch):
    """An endpoint left out at the pre-flight does not keep the breaker from tripping."""
    monkeypatch.setattr(openai_backend, "DEAD_AFTER_S", 0.2)
    with FakeLLMServer(faults=[None, None] + ["500"] * 10_000) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[dead_url(), srv.url],
                                                       concurrency=2, backoff=0.01, max_retries=100))
        started = time.monotonic()
        with pytest.raises(BackendError, match=f"every endpoint failed 5 times in a row: {srv.url}"):
            backend.complete(jobs(20), lambda job, c: None)
    assert time.monotonic() - started < 20


def test_a_busy_server_answering_503_is_not_dead(monkeypatch):
    monkeypatch.setattr(openai_backend, "DEAD_AFTER_S", 0.0)
    with FakeLLMServer(faults=[None] + ["503"] * 8) as srv:
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[srv.url], concurrency=1,
                                                       backoff=0.01, max_retries=20))
        got = {}
        backend.complete(jobs(2), lambda job, c: got.__setitem__(job.key, c))
    assert all(c.ok for c in got.values()) and len(got) == 2


def test_a_server_that_never_answers_fails_the_pre_flight(monkeypatch):
    """It accepts connections (the kernel's backlog) but never replies: each pre-flight attempt
    waits PREFLIGHT_TIMEOUT, not --timeout."""
    import socket

    monkeypatch.setattr(openai_backend, "PREFLIGHT_TIMEOUT", 0.3)
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}/v1"
        backend = get_backend("openai", BackendOptions(model="m", base_urls=[url], timeout=120,
                                                       backoff=0.01))
        started = time.monotonic()
        with pytest.raises(BackendError) as err:
            backend.complete(jobs(3), lambda job, c: None)
    assert str(err.value) == f"no endpoint answered 3 pre-flight requests: {url} (no answer (timeout))"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("reply,echo", [
    ("Rewrite the answer below the way a toddler would say it. Four!", True),  # one sentence, other punctuation
    ("Question:\nWhat is 2+2?\n\nAnswer:\nFour.", True),                        # the prompt's labels
    ("Four! Two and two make four.", False),
    ("-" * 40 + "\nFour.", False),
    ("Answer: four. My question: why?", False),                                # labels inside lines
])
def test_echo_detection(reply, echo):
    from dataset_builders.rewrite.prompt import DEFAULT_PROMPT, echo_chunks, is_echo

    assert is_echo(reply, echo_chunks(DEFAULT_PROMPT), "What is 2+2?", "Two plus two is four.") is echo
