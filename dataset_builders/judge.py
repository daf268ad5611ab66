"""The optional LLM judge (``--judge-model``): is the cleaned rewrite still a correct answer to
the question, judged against the original? One request per record through the same
OpenAI-compatible client as the rewrite (``--judge-base-url``, repeatable; the rewrite's
endpoints by default), with temperature 0; every reply goes into the same durable store as the
rewrites, under its own keys, so a resumed build never asks again.

The prompt (``--judge-prompt FILE`` replaces it) must hold ``{question}``, ``{answer}`` (the
original) and ``{rewrite}``, and ask for one JSON object: ``{"verdict": "faithful" |
"unfaithful", "reason": "..."}``. The reply is parsed strictly (that object alone, a fenced
```json block at most around it): an unparseable reply is set aside in the store's history and
asked again, up to ``JUDGE_ATTEMPTS`` times, then the record is rejected as ``judge_error``. An
``unfaithful`` verdict is rejected as ``judge_unfaithful`` with its reason; every verdict is
kept with its record (``judge`` in dada.jsonl, the detail in rejected.jsonl). A request that
fails at the client (after its retries) is a ``backend_error`` of the judge stage, counted with
the rewrite's against ``--max-failed-share``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from dataset_builders.records import Record, StageResult
from dataset_builders.rewrite import Job, get_backend
from dataset_builders.rewrite.prompt import load_prompt
from dataset_builders.store import CompletionStore, cache_key, key_prefix, run_cached

STAGE = "judge"
JUDGE_ATTEMPTS = 3
JUDGE_REASONS = ("judge_unfaithful", "judge_error")
DEFAULT_JUDGE_PROMPT = """\
You check a rewrite of an answer. The rewrite uses toddler-like words on purpose; judge only \
whether it is still a correct answer to the question: it keeps every fact, number, name, list \
item and piece of code the question needs, adds nothing false and does not change the meaning.

Question:
{question}

Original answer:
{answer}

Rewrite:
{rewrite}

Reply with one JSON object and nothing else: {"verdict": "faithful" or "unfaithful", \
"reason": "one short sentence"}"""
PLACEHOLDERS = ("{question}", "{answer}", "{rewrite}")
_FENCED = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def load_judge_prompt(path: str | Path | None) -> str:
    return load_prompt(path, DEFAULT_JUDGE_PROMPT, PLACEHOLDERS, "judge prompt")


def render_judge(template: str, question: str, answer: str, rewrite: str) -> list[dict]:
    text = template
    for i, placeholder in enumerate(PLACEHOLDERS):
        text = text.replace(placeholder, f"\0{i}\0")
    for i, value in enumerate((question, answer, rewrite)):
        text = text.replace(f"\0{i}\0", value)
    return [{"role": "user", "content": text}]


def parse_verdict(text: str | None) -> tuple[str, str] | None:
    """(verdict, reason) from a strict reply, or None."""
    if not text:
        return None
    fenced = _FENCED.match(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text.strip())
    except ValueError:
        return None
    if (not isinstance(data, dict) or set(data) != {"verdict", "reason"}
            or data["verdict"] not in ("faithful", "unfaithful") or not isinstance(data["reason"], str)):
        return None
    return data["verdict"], data["reason"].strip()


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, the port filled in for http and https."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}[parts.scheme]


def judge_backend(options):
    """The judge's client: the rewrite's options with the judge's model, endpoints and key. The
    rewrite's key goes only where the rewrite goes: a judge URL on another origin (scheme, host,
    port) is called without a key unless --judge-api-key-env names one."""
    urls = options.judge_base_urls or options.base_urls
    backend = get_backend("openai", options.model_copy(update={
        "model": options.judge_model, "base_urls": urls,
        "api_key_env": options.judge_api_key_env or options.api_key_env,
        "temperature": 0.0, "max_new_tokens": 256}))
    given_for = {origin(u) for u in options.base_urls}
    backend.send_key = bool(options.judge_api_key_env) or all(origin(u) in given_for for u in urls)
    return backend


def judge(records: list[Record], options, store: CompletionStore, progress: bool = True, backend=None
          ) -> tuple[StageResult, dict]:
    """Judge every record (through ``backend``, default :func:`judge_backend`); returns the kept
    ones and the throughput figures."""
    backend = backend or judge_backend(options)
    template = load_judge_prompt(options.judge_prompt)
    prefix = key_prefix(backend.identity(), template)
    jobs = [Job(cache_key(prefix, r.question, r.original_answer + "\0" + (r.answer or "")),
                render_judge(template, r.question, r.original_answer, r.answer or "")) for r in records]
    owners = [r.id for r in records]
    verdicts: dict[str, tuple[str, str] | None] = {}
    failed: dict[str, str] = {}  # record id -> the client's last error (no reply at all)
    throughput: dict = {}
    pending = list(range(len(records)))
    for attempt in range(JUDGE_ATTEMPTS):
        done, figures = run_cached([jobs[i] for i in pending], [owners[i] for i in pending], backend,
                                   store, desc=f"judge [{backend.describe()}]", progress=progress,
                                   before=None if backend.checked else lambda: backend.preflight("judge"))
        # the first round's figures, with every round's paid requests
        throughput = {**figures, **throughput, "requested": throughput.get("requested", 0) + figures["requested"]}
        unparsed = []
        for i in pending:
            c = done.get(jobs[i].key)
            if c is None or c.error is not None:
                failed[records[i].id] = c.error if c is not None else "no answer"
                continue
            failed.pop(records[i].id, None)
            verdicts[records[i].id] = parse_verdict(c.text)
            if verdicts[records[i].id] is None:
                unparsed.append(i)
        if not unparsed or attempt == JUDGE_ATTEMPTS - 1:
            break
        store.retire([jobs[i].key for i in unparsed])  # kept in the history, asked again
        pending = unparsed
    result = StageResult()
    for rec in records:
        found = verdicts.get(rec.id)
        if rec.id in failed:  # counted with the rewrite's failures against --max-failed-share
            result.reject(rec, STAGE, "backend_error", failed[rec.id])
        elif found is None:
            result.reject(rec, STAGE, "judge_error", "no verdict the judge's reply could be read as")
        elif found[0] == "unfaithful":
            rec.judge = {"verdict": found[0], "reason": found[1]}
            result.reject(rec, STAGE, "judge_unfaithful", found[1])
        else:
            rec.judge = {"verdict": found[0], "reason": found[1]}
            result.kept.append(rec)
    return result, throughput
