"""``openai``: any OpenAI-compatible chat-completions server (llama.cpp server, vLLM, Ollama,
TabbyAPI). Requests spread over every ``--base-url``, ``concurrency`` in flight per endpoint.

Retries with exponential backoff and jitter on 429, 5xx, timeouts and dropped connections,
honouring ``Retry-After``. ``finish_reason == "length"`` comes back as a truncated completion
(rejected downstream, not retried). 401/403/404 stop the run: every request would fail alike.
The API key is read from the environment at request time and never stored or printed.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import time

from dada_plugin.errors import BackendError, ConfigError
from dataset_builders.rewrite.registry import Backend, Completion, Job, register

RETRY_AFTER_CAP = 300.0
ENDPOINT_PAUSE_CAP = 60.0


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(when - time.time(), 0.0), RETRY_AFTER_CAP)


class _RunState:
    """What the workers of one run share."""

    def __init__(self, left: int, queue: asyncio.Queue, n_workers: int, on_result):
        self.left, self.queue, self.n_workers, self.on_result = left, queue, n_workers, on_result
        self.fatal: BackendError | None = None
        self.timers: list[asyncio.TimerHandle] = []

    def finish(self, job: Job, completion: Completion) -> None:
        self.on_result(job, completion)
        self.left -= 1
        if self.left == 0:
            self._wake_all()

    def stop(self, exc: BackendError) -> None:
        if self.fatal is None:
            self.fatal = exc
            self._wake_all()

    def _wake_all(self) -> None:
        for _ in range(self.n_workers):
            self.queue.put_nowait(None)


class _Retry(Exception):
    def __init__(self, reason: str, after: float | None = None):
        super().__init__(reason)
        self.after = after


@register("openai")
class OpenAIBackend(Backend):
    needs_model = True

    def __init__(self, options):
        super().__init__(options)
        if not options.base_urls:
            raise ConfigError("--base-url is required for the 'openai' backend")

    def describe(self) -> str:
        n = len(self.options.base_urls)
        return f"openai ({self.options.model} on {n} endpoint{'s' if n > 1 else ''})"

    def payload(self, job: Job) -> dict:
        o = self.options
        body = {"model": o.model, "messages": job.messages, "temperature": o.temperature,
                "top_p": o.top_p, "max_tokens": o.max_new_tokens}
        if o.seed is not None:
            body["seed"] = o.seed
        return body

    def complete(self, jobs, on_result) -> None:
        asyncio.run(self._run(list(jobs), on_result))

    async def _run(self, jobs: list[Job], on_result) -> None:
        """One shared queue, ``concurrency`` workers per endpoint. A failed attempt goes back on
        the queue after its backoff (any endpoint may take it) and pauses the endpoint that
        failed, longer the more it keeps failing, so a dead server stops drawing work. A fatal
        answer stops new requests; those in flight finish and are delivered, then it raises."""
        import httpx

        o = self.options
        if not jobs:
            return
        queue: asyncio.Queue = asyncio.Queue()
        for job in jobs:
            queue.put_nowait((job, 0, time.monotonic()))
        n_workers = o.concurrency * len(o.base_urls)
        run = _RunState(left=len(jobs), queue=queue, n_workers=n_workers, on_result=on_result)
        key = os.environ.get(o.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=n_workers, max_keepalive_connections=n_workers)
        async with httpx.AsyncClient(headers=headers, timeout=o.timeout, limits=limits) as client:
            streaks = {url: 0 for url in o.base_urls}
            workers = [asyncio.create_task(self._worker(client, url, run, streaks))
                       for url in o.base_urls for _ in range(o.concurrency)]
            try:
                await asyncio.gather(*workers)
            finally:
                for timer in run.timers:
                    timer.cancel()
                for w in workers:
                    w.cancel()
        if run.fatal is not None:
            raise run.fatal

    async def _worker(self, client, url: str, run: "_RunState", streaks: dict[str, int]) -> None:
        o = self.options
        loop = asyncio.get_running_loop()
        while True:
            item = await run.queue.get()
            if item is None or run.fatal is not None:
                return
            job, attempt, started = item
            try:
                completion = await self._once(client, url, job, started, attempt)
            except _Retry as retry:
                if attempt >= o.max_retries:
                    run.finish(job, Completion(None, "error", f"gave up after {attempt + 1} attempts: {retry}"))
                    continue
                cap = o.backoff * 2 ** attempt
                delay = retry.after if retry.after is not None else cap / 2 + random.uniform(0, cap / 2)
                run.timers.append(loop.call_later(delay, run.queue.put_nowait, (job, attempt + 1, started)))
                streaks[url] += 1
                pause = min(ENDPOINT_PAUSE_CAP, o.backoff * 2 ** streaks[url])
                await asyncio.sleep(max(delay, pause / 2 + random.uniform(0, pause / 2)))
                continue
            except BackendError as exc:
                run.stop(exc)
                return
            streaks[url] = 0
            run.finish(job, completion)

    async def _once(self, client, url: str, job: Job, started: float, attempt: int) -> Completion:
        import httpx

        endpoint = f"{url}/chat/completions"
        try:
            resp = await client.post(endpoint, json=self.payload(job))
        except httpx.TimeoutException:
            raise _Retry("timeout") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection error ({type(exc).__name__})") from None
        code = resp.status_code
        if code in (401, 403):
            raise BackendError(f"{endpoint}: HTTP {code}; check the API key in ${self.options.api_key_env}")
        if code == 404:
            raise BackendError(f"{endpoint}: HTTP 404; check --base-url (usually ends in /v1) and --model")
        if code == 429 or code >= 500:
            raise _Retry(f"HTTP {code}", parse_retry_after(resp.headers.get("retry-after")))
        if code != 200:
            return Completion(None, "error", f"HTTP {code}: {resp.text[:200]}")
        try:
            body = resp.json()
            choice = body["choices"][0]
            text = choice["message"]["content"]
            reason = choice.get("finish_reason") or "stop"
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Retry("malformed response") from None
        meta = {"attempts": attempt + 1, "latency_s": round(time.monotonic() - started, 3)}
        if isinstance(body.get("usage"), dict):
            meta["usage"] = body["usage"]
        return Completion(text if isinstance(text, str) else "", reason, None, meta)
