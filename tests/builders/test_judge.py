"""The optional LLM judge against the project's fake OpenAI-compatible server (real sockets)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.testing import FakeLLMServer
from dataset_builders.judge import parse_verdict

ROWS = [{"instruction": f"Why do cats purr? ({name})", "input": "",
         "output": f"Cats purr when they are content and relaxed ({name})."}
        for name in ("good", "bad", "garbled", "garbled-once")]


@pytest.mark.parametrize("reply, parsed", [
    ('{"verdict": "faithful", "reason": "Keeps the fact."}', ("faithful", "Keeps the fact.")),
    ('```json\n{"verdict": "unfaithful", "reason": "Wrong."}\n```', ("unfaithful", "Wrong.")),
    ('Sure! {"verdict": "faithful", "reason": "ok"}', None),              # text around it
    ('{"verdict": "yes", "reason": "ok"}', None),                          # unknown verdict
    ('{"verdict": "faithful"}', None),                                     # no reason
    ('{"verdict": "faithful", "reason": "ok", "score": 3}', None),         # extra keys
    ("", None), (None, None),
])
def test_verdicts_are_parsed_strictly(reply, parsed):
    assert parse_verdict(reply) == parsed


def test_judge_rejects_unfaithful_retries_garbled_and_never_asks_twice(tmp_path):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ROWS))
    asked: dict[str, int] = {}

    def judge_reply(messages):
        prompt = messages[-1]["content"]
        name = prompt.split("(")[1].split(")")[0]
        asked[name] = asked.get(name, 0) + 1
        if name == "bad":
            return '{"verdict": "unfaithful", "reason": "It says cats purr when hungry."}'
        if name == "garbled" or (name == "garbled-once" and asked[name] == 1):
            return "I think it is fine!"
        return '{"verdict": "faithful", "reason": "Same fact, small words."}'

    out = tmp_path / "out"
    args = ["build", str(src), "-o", str(out), "--no-progress", "--judge-model", "judge"]
    with FakeLLMServer(reply=judge_reply) as srv:
        result = CliRunner().invoke(dada, [*args, "--judge-base-url", srv.url])
        assert result.exit_code == 0, result.output
        assert asked == {"good": 1, "bad": 1, "garbled": 3, "garbled-once": 2}
        kept = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
        assert sorted(r["id"].split("-")[0] for r in kept) == ["0", "3"]
        assert kept[0]["judge"] == {"verdict": "faithful", "reason": "Same fact, small words."}
        rejected = {json.loads(line)["reason"]: json.loads(line)
                    for line in (out / "rejected.jsonl").read_text().splitlines()}
        assert rejected["judge_unfaithful"]["detail"] == "It says cats purr when hungry."
        assert rejected["judge_error"]["stage"] == "judge"
        stats = json.loads((out / "stats.json").read_text())
        assert list(stats["stages"]) == ["load", "rewrite", "clean", "judge", "filter"]
        assert stats["stages"]["judge"]["rejected"] == {"judge_unfaithful": 1, "judge_error": 1}
        # a rerun reads every verdict from the store: the judge is not asked again, except for
        # the record with no verdict yet (judge_error, like backend_error, is tried again)
        first = (out / "dada.jsonl").read_text()
        assert CliRunner().invoke(dada, [*args, "--judge-base-url", srv.url]).exit_code == 0
        assert asked == {"good": 1, "bad": 1, "garbled": 5, "garbled-once": 2}
        assert (out / "dada.jsonl").read_text() == first


def test_a_judge_prompt_without_its_placeholders_stops_before_any_request(tmp_path):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ROWS))
    prompt = tmp_path / "judge.txt"
    prompt.write_text("Is {rewrite} right?")
    with FakeLLMServer() as srv:
        result = CliRunner().invoke(dada, ["build", str(src), "-o", str(tmp_path / "out"), "--no-progress",
                                           "--judge-model", "j", "--judge-base-url", srv.url,
                                           "--judge-prompt", str(prompt)])
        assert srv.requests == 0
    assert result.exit_code == 1
    assert result.output == f"Error: {prompt}: the judge prompt must contain {{question}} and {{answer}}\n"
    assert not (tmp_path / "out").exists()


def test_judge_outages_count_against_the_failed_share_and_every_request_is_counted(tmp_path):
    """A judge that drops half its connections: those records are backend_error of the judge
    stage, so more than --max-failed-share of failures writes nothing (exit 1); a garbled reply
    asked three times counts three requests."""
    rows = [{"instruction": f"Why do cats purr? ({i})", "input": "",
             "output": f"Cats purr when they are content and relaxed ({i})."} for i in range(6)]
    src = tmp_path / "a.json"
    src.write_text(json.dumps(rows))
    out = tmp_path / "out"
    # one request at a time: record 0 is the first to fail, whatever the scheduling (the second
    # run's count depends on which records the first run stored)
    args = ["build", str(src), "-o", str(out), "--no-progress", "--judge-model", "j", "--max-retries", "0",
            "--concurrency", "1"]
    with FakeLLMServer(faults=[None] + ["500", None] * 3) as srv:  # the first: the pre-flight GET
        result = CliRunner().invoke(dada, [*args, "--judge-base-url", srv.url])
    assert result.exit_code == 1
    assert "3 of 6 verdicts failed at the backend" in result.output and not out.joinpath("dada.jsonl").exists()

    def garbled(messages):
        return "fine" if "(0)" in messages[-1]["content"] else '{"verdict": "faithful", "reason": "ok"}'

    with FakeLLMServer(reply=garbled) as srv:
        result = CliRunner().invoke(dada, [*args, "--judge-base-url", srv.url])
        assert result.exit_code == 0, result.output
        stats = json.loads((out / "stats.json").read_text())
        assert stats["rewrite"]["judge"]["requested"] == 6 + 2 == srv.answered


def test_judge_settings_are_checked_before_any_work(tmp_path):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ROWS))
    result = CliRunner().invoke(dada, ["build", str(src), "-o", str(tmp_path / "o"), "--judge-model", "j"])
    assert result.exit_code == 1 and "--judge-base-url (or --base-url)" in result.output
    result = CliRunner().invoke(dada, ["build", str(src), "-o", str(tmp_path / "o"), "--judge-model", "j",
                                       "--backend", "none", "--judge-base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 1 and "--backend none rewrites nothing" in result.output
    assert not (tmp_path / "o").exists()


def test_verdicts_do_not_dilute_failed_rewrites(tmp_path):
    """3 of 10 rewrites fail at the backend: over --max-failed-share (20 %) whether or not a judge
    gave 7 verdicts besides (the share holds for rewrites and verdicts each, not their sum)."""
    rows = [{"instruction": f"Why do dogs bark? ({i})", "input": "",
             "output": f"Dogs bark to warn, to greet and to ask for things ({i})."} for i in range(10)]
    src = tmp_path / "a.json"
    src.write_text(json.dumps(rows))

    def reply(messages):
        if "verdict" in messages[0]["content"].lower() or "verdict" in messages[-1]["content"].lower():
            return '{"verdict": "faithful", "reason": "ok"}'
        return "Dogs bark to say hi!"

    for judged in (False, True):
        out = tmp_path / f"out-{judged}"
        # the pre-flight GET, then 10 rewrites at concurrency 1: the 2nd, 5th and 8th fail
        faults = [None] + [None, "500", None, None, "500", None, None, "500", None, None]
        with FakeLLMServer(faults=faults, reply=reply) as srv:
            args = ["build", str(src), "-o", str(out), "--no-progress", "--backend", "openai", "--model", "m",
                    "--base-url", srv.url, "--max-retries", "0", "--concurrency", "1",
                    "--fact-check", "off", "--no-style-check"]
            result = CliRunner().invoke(dada, args + (["--judge-model", "j"] if judged else []))
        assert result.exit_code == 1, result.output
        assert "3 of 10 rewrites failed at the backend (more than 20%" in result.output
        assert not (out / "dada.jsonl").exists()


FAITHFUL = '{"verdict": "faithful", "reason": "ok"}'


def _judge_build(tmp_path, rewrite_url, *extra, name="out"):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ROWS[:2]))
    return CliRunner().invoke(dada, ["build", str(src), "-o", str(tmp_path / name), "--no-progress",
                                     "--backend", "openai", "--model", "m", "--base-url", rewrite_url,
                                     "--judge-model", "j", "--fact-check", "off", "--no-style-check", *extra])


def test_the_rewrite_key_goes_only_to_the_rewrite_origin(tmp_path, monkeypatch):
    """A judge on another origin (here another port) gets no key, pre-flight included, unless
    --judge-api-key-env names one; a judge on the rewrite's origin gets the rewrite's key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-rewrite")
    monkeypatch.setenv("JUDGE_KEY", "sk-judge")
    with FakeLLMServer() as rewriter, FakeLLMServer(reply=lambda m: FAITHFUL) as other:
        result = _judge_build(tmp_path, rewriter.url, "--judge-base-url", other.url)
        assert result.exit_code == 0, result.output
        assert set(rewriter.auth_headers) == {"Bearer sk-rewrite"}
        assert other.auth_headers and set(other.auth_headers) == {""}  # GET and POSTs: no key
        other.auth_headers.clear()
        result = _judge_build(tmp_path, rewriter.url, "--judge-base-url", other.url, "--judge-api-key-env",
                              "JUDGE_KEY", name="out2")
        assert result.exit_code == 0, result.output
        assert set(other.auth_headers) == {"Bearer sk-judge"}
    with FakeLLMServer(reply=lambda m: FAITHFUL if "verdict" in json.dumps(m) else "Cats purr!") as both:
        same_origin = both.url.replace("/v1", "/v1/")  # the same scheme, host and port
        result = _judge_build(tmp_path, both.url, "--judge-base-url", same_origin, name="out3")
        assert result.exit_code == 0, result.output
        assert set(both.auth_headers) == {"Bearer sk-rewrite"}


def test_a_dead_judge_is_found_before_the_first_paid_rewrite(tmp_path):
    from dada_plugin.llamacpp.serve import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    with FakeLLMServer() as rewriter:
        result = _judge_build(tmp_path, rewriter.url, "--judge-base-url", dead, "--backoff", "0.01")
        assert rewriter.bodies == []  # not one rewrite asked for (paid)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: judge: no endpoint answered 3 pre-flight requests: {dead} "
                                    "(connection error"), result.output
    assert not (tmp_path / "out").exists()  # nothing paid, nothing left behind


def test_a_keyless_judge_that_answers_401_is_told_why(tmp_path, monkeypatch):
    """No key went to the judge's host on purpose: the 401 says so and names the option."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-rewrite")
    with FakeLLMServer() as rewriter, FakeLLMServer(faults=["401"]) as other:
        result = _judge_build(tmp_path, rewriter.url, "--judge-base-url", other.url)
    assert result.exit_code == 1
    assert "no key is sent to this host" in result.output and "--judge-api-key-env" in result.output
