"""The openai backend against a real HTTP server on 127.0.0.1 with faults injected."""

import json
import time

import pytest

from dada_plugin.errors import BackendError
from dada_plugin.testing import FakeLLMServer
from dataset_builders.pipeline import build
from dataset_builders.settings import BuildSettings
from dataset_builders.rewrite import BackendOptions, Job, get_backend
from dataset_builders.rewrite.openai import parse_retry_after


def options(*urls, **kw):
    base = dict(model="toddler-7b", base_urls=list(urls), concurrency=2, timeout=2.0, backoff=0.01,
                max_retries=4)
    return BackendOptions(**{**base, **kw})


def run_jobs(backend, n=3, prefix="q"):
    jobs = [Job(f"k{i}", [{"role": "user", "content": f"Answer:\nAnswer {i}. More."}], (f"{prefix}{i}", f"Answer {i}. More."))
            for i in range(n)]
    got = {}
    backend.complete(jobs, lambda job, c: got.__setitem__(job.key, c))
    return got


def test_retries_each_fault_then_succeeds(monkeypatch):
    monkeypatch.setenv("DADA_TEST_KEY", "sk-secret-123")
    faults = ["500", "429:0.3", "drop", "slow:5", "badjson"]
    with FakeLLMServer(faults=[None] + faults) as srv:  # the pre-flight GET /models is answered
        backend = get_backend("openai", options(srv.url, concurrency=1, max_retries=6,
                                                 api_key_env="DADA_TEST_KEY"))
        started = time.monotonic()
        got = run_jobs(backend, n=2)
        elapsed = time.monotonic() - started
    assert {k: (c.text, c.finish_reason, c.error) for k, c in got.items()} == {
        "k0": ("Sure! Here's the answer: Answer 0.", "stop", None),
        "k1": ("Sure! Here's the answer: Answer 1.", "stop", None)}
    assert srv.requests == 1 + 2 + len(faults)
    assert got["k0"].meta["attempts"] + got["k1"].meta["attempts"] == 2 + len(faults)
    assert elapsed >= 0.3 + 2.0  # honoured Retry-After and waited out the slow reply's timeout
    assert set(srv.auth_headers) == {"Bearer sk-secret-123"}


def test_length_is_rejected_not_retried():
    with FakeLLMServer(faults=[None, "length"]) as srv:
        got = run_jobs(get_backend("openai", options(srv.url, concurrency=1)), n=1)
    assert (got["k0"].finish_reason, got["k0"].ok) == ("length", False)
    assert srv.requests == 2  # the pre-flight and the one request


def test_gives_up_with_reason_after_max_retries():
    with FakeLLMServer(faults=[None] + ["500"] * 3) as srv:  # the pre-flight is answered
        got = run_jobs(get_backend("openai", options(srv.url, concurrency=1, max_retries=2)), n=1)
    assert got["k0"].error == "gave up after 3 attempts: HTTP 500"
    assert srv.requests == 4


def test_auth_failure_stops_the_run():
    with FakeLLMServer() as srv:
        backend = get_backend("openai", options(srv.url.replace("/v1", "/nope")))
        with pytest.raises(BackendError, match="HTTP 404; check --base-url"):
            run_jobs(backend)


def test_a_dead_endpoint_does_not_lose_records():
    with FakeLLMServer(latency=0.02) as good:
        dead = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        got = run_jobs(get_backend("openai", options(dead, good.url, concurrency=2, max_retries=6)), n=30)
    assert len(got) == 30 and all(c.ok for c in got.values())
    assert good.answered == 30


def test_fatal_answer_keeps_work_in_flight():
    with FakeLLMServer(latency=0.4, slots=4) as good:
        bad = good.url.replace("/v1", "/nope")
        got = {}
        backend = get_backend("openai", options(good.url, bad, concurrency=2))
        jobs = [Job(f"k{i}", [{"role": "user", "content": f"Answer:\nA{i}."}]) for i in range(10)]
        with pytest.raises(BackendError, match="HTTP 404"):
            backend.complete(jobs, lambda job, c: got.__setitem__(job.key, c))
    # the requests already sent to the good server were answered and delivered, none after
    assert len(got) == good.answered >= 1
    assert all(c.ok for c in got.values())


def test_auth_failure_names_the_variable_never_the_key(monkeypatch):
    monkeypatch.setenv("DADA_TEST_KEY", "sk-secret-789")
    with FakeLLMServer(faults=["401"]) as srv:
        with pytest.raises(BackendError) as info:
            run_jobs(get_backend("openai", options(srv.url, api_key_env="DADA_TEST_KEY")), n=1)
    assert str(info.value).endswith("HTTP 401; check the API key in $DADA_TEST_KEY")
    assert "sk-secret-789" not in str(info.value)


@pytest.mark.parametrize("field,value,message", [
    ("api_key_env", "sk-abc-123", "must name an environment variable"),
    ("base_urls", ["http://user:sk-1@host/v1"], "credentials in the URL"),
])
def test_secrets_in_options_are_refused_without_echo(field, value, message):
    from pydantic import ValidationError

    from dada_plugin.errors import validation_lines

    with pytest.raises(ValidationError) as info:
        BackendOptions(**{field: value})
    shown = "\n".join(validation_lines(info.value))  # what the CLI prints
    assert message in shown
    assert "sk-abc-123" not in shown and "sk-1" not in shown


def test_requests_spread_over_endpoints():
    with FakeLLMServer(latency=0.05, slots=2) as a, FakeLLMServer(latency=0.05, slots=2) as b:
        got = run_jobs(get_backend("openai", options(a.url, b.url, concurrency=2)), n=20)
    assert len(got) == 20 and all(c.ok for c in got.values())
    assert a.answered + b.answered == 20
    assert a.answered >= 5 and b.answered >= 5
    assert a.max_in_flight <= 2 and b.max_in_flight <= 2


def test_payload_carries_sampling_parameters():
    with FakeLLMServer() as srv:
        run_jobs(get_backend("openai", options(srv.url, temperature=0.3, seed=7, max_new_tokens=99)), n=1)
    body = srv.bodies[0]
    assert (body["model"], body["temperature"], body["seed"], body["max_tokens"]) == ("toddler-7b", 0.3, 7, 99)


def test_retry_after_parsing():
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_build_over_faulty_server_loses_nothing(alpaca_path, tmp_path, monkeypatch):
    monkeypatch.setenv("DADA_TEST_KEY", "sk-secret-456")
    faults = ["500", "429:0", "drop", "length", "500"]
    with FakeLLMServer(faults=faults) as srv:
        result = build(alpaca_path, tmp_path / "out", BuildSettings(
            backend="openai", progress=False,
            **options(srv.url, concurrency=3, api_key_env="DADA_TEST_KEY").model_dump()))
    stages = result.stats["stages"]["rewrite"]
    assert stages == {"in": 99, "out": 98, "rejected": {"truncated": 1}}
    # every answered rewrite (the truncated one included) is in the store
    assert srv.answered == 99
    assert result.stats["rewrite"]["requested"] == 99
    # the secret never reaches disk
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert b"sk-secret-456" not in path.read_bytes(), path
    rows = [json.loads(l) for l in (tmp_path / "out" / "dada.jsonl").read_text().splitlines()]
    assert all(not r["answer"].startswith("Sure") for r in rows)  # the preamble was cleaned


def test_failed_requests_are_rejected_with_reason_and_retried_next_run(alpaca_path, tmp_path):
    out = tmp_path / "out"
    with FakeLLMServer(faults=[None, "500"]) as srv:
        first = build(alpaca_path, out, BuildSettings(
            backend="openai", progress=False, limit=3, max_failed_share=0.5,
            **options(srv.url, concurrency=1, max_retries=0).model_dump()))
        assert [(r.stage, r.reason, r.detail) for r in first.rejected if r.stage == "rewrite"] == [
            ("rewrite", "backend_error", "gave up after 1 attempts: HTTP 500")]
        second = build(alpaca_path, out, BuildSettings(
            backend="openai", progress=False, limit=3,
            **options(srv.url, concurrency=1, max_retries=0).model_dump()))
    assert second.stats["rewrite"] == {**second.stats["rewrite"], "requested": 1, "cached": 2}
    assert second.stats["stages"]["rewrite"]["out"] == 3
