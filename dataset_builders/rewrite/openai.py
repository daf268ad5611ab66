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
import json
import logging
import os
import random
import time

from dada_plugin.errors import BackendError, ConfigError
from dataset_builders.rewrite.registry import Backend, Completion, Job, register

RETRY_AFTER_CAP = 300.0
ENDPOINT_PAUSE_CAP = 60.0
CONNECT_TIMEOUT = 10.0     # a server that does not accept within this is not there
PREFLIGHT_ATTEMPTS = 3
PREFLIGHT_TIMEOUT = 10.0   # GET /models answers at once on a live server, busy or not
DEAD_AFTER_S = 5.0         # the breaker needs this long without an answer, besides the streak
log = logging.getLogger("dada")


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
        self.stopping = asyncio.Event()     # set when every job is finished or the run must stop

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
        self.stopping.set()
        for _ in range(self.n_workers):
            self.queue.put_nowait(None)

    async def nap(self, seconds: float) -> None:
        """Sleep, but wake at once when the run is over (no worker outlives the work)."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    def requeue(self, item, delay: float) -> None:
        self.timers.append(asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, item))


class _Endpoint:
    """One base URL's health: consecutive failures, when it last answered, its last error."""

    def __init__(self, url: str):
        self.url, self.streak, self.last_ok, self.last_error = url, 0, time.monotonic(), ""

    def failed(self, reason: str) -> None:
        self.streak += 1
        self.last_error = reason

    def answered(self) -> None:
        self.streak = 0
        self.last_ok = time.monotonic()

    def dead(self, threshold: int) -> bool:
        return self.streak >= threshold and time.monotonic() - self.last_ok >= DEAD_AFTER_S


class _Retry(Exception):
    """A failed attempt worth retrying. ``alive``: the server answered (429), so the attempt
    does not count towards the circuit breaker."""

    def __init__(self, reason: str, after: float | None = None, alive: bool = False, dropped: bool = False):
        super().__init__(reason)
        self.after, self.alive, self.dropped = after, alive, dropped


def _dead_error(endpoints: list[_Endpoint], what: str) -> BackendError:
    listed = "; ".join(f"{e.url} ({e.last_error or 'no answer'})" for e in endpoints)
    return BackendError(f"{what}: {listed}")


@register("openai")
class OpenAIBackend(Backend):
    needs_model = True
    _live: list[str] | None = None

    @property
    def checked(self) -> bool:
        """A pre-flight was done and the next run will use it."""
        return self._live is not None

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

    def preflight(self, role: str | None = None) -> None:
        """The pre-flight ``GET /models`` of every endpoint now (the run then skips its own);
        ``role`` ("judge") heads the error."""
        async def probe():
            async with self._client(len(self.options.base_urls)) as client:
                endpoints = [_Endpoint(url) for url in self.options.base_urls]
                try:
                    self._live = [ep.url for ep in await self._preflight(client, endpoints)]
                except BackendError as exc:
                    raise BackendError(f"{role}: {exc}" if role else str(exc)) from None

        asyncio.run(probe())

    def _key_advice(self) -> str:
        if not self.send_key:
            return ("no key is sent to this host (the rewrite's key goes only to the --base-url hosts); "
                    "name the judge's with --judge-api-key-env")
        return f"check the API key in ${self.options.api_key_env}"

    def _client(self, n_workers: int):
        import httpx

        o = self.options
        key = os.environ.get(o.api_key_env, "") if self.send_key else ""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=n_workers, max_keepalive_connections=n_workers)
        timeout = httpx.Timeout(o.timeout, connect=min(o.timeout, CONNECT_TIMEOUT))
        return httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits)

    async def _run(self, jobs: list[Job], on_result) -> None:
        """A pre-flight ``GET /models`` per endpoint first (an endpoint that never answers is left
        out; none answering stops the run), then one shared queue, ``concurrency`` workers per live
        endpoint. A failed attempt goes back on the queue after its backoff (any endpoint may
        take it) and pauses the endpoint that failed, longer the more it keeps failing. When
        every endpoint has failed ``max_consecutive_failures`` times in a row with no answer for
        a while, the circuit breaker stops the run. A fatal answer stops new requests; those in
        flight finish and are delivered, then it raises."""
        o = self.options
        if not jobs:
            return
        queue: asyncio.Queue = asyncio.Queue()
        for job in jobs:
            queue.put_nowait((job, 0, time.monotonic()))
        endpoints = [_Endpoint(url) for url in o.base_urls]
        run = _RunState(left=len(jobs), queue=queue, n_workers=o.concurrency * len(endpoints),
                        on_result=on_result)
        checked, self._live = self._live, None  # a pre-flight done just before: not again
        async with self._client(run.n_workers) as client:
            try:
                live = ([ep for ep in endpoints if ep.url in checked] if checked
                        else await self._preflight(client, endpoints))
                workers = [asyncio.create_task(self._worker(client, ep, run, live))
                           for ep in live for _ in range(o.concurrency)]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for w in workers:
                        w.cancel()
            finally:
                for timer in run.timers:
                    timer.cancel()
        if run.fatal is not None:
            raise run.fatal

    async def _preflight(self, client, endpoints: list[_Endpoint]) -> list[_Endpoint]:
        """``GET /models`` on every endpoint, a few quick attempts each, before any paid request:
        the endpoints that answered (any HTTP answer but a 5xx other than 503), or BackendError
        when none did. A server that accepts connections but never answers is found within
        PREFLIGHT_ATTEMPTS x PREFLIGHT_TIMEOUT seconds."""
        alive = await asyncio.gather(*(self._probe(client, ep) for ep in endpoints))
        live = [ep for ep, ok in zip(endpoints, alive) if ok]
        if not live:
            raise _dead_error(endpoints, f"no endpoint answered {PREFLIGHT_ATTEMPTS} pre-flight requests")
        for ep in endpoints:
            if ep not in live:
                log.warning("left out %s: it did not answer (%s)", ep.url, ep.last_error)
        return live

    async def _probe(self, client, ep: _Endpoint) -> bool:
        import httpx

        timeout = httpx.Timeout(min(self.options.timeout, PREFLIGHT_TIMEOUT))
        for attempt in range(PREFLIGHT_ATTEMPTS):
            if attempt:
                await asyncio.sleep(self.options.backoff * 2 ** (attempt - 1))
            try:
                resp = await client.get(f"{ep.url}/models", timeout=timeout)
            except httpx.TimeoutException:
                ep.failed("no answer (timeout)")
                continue
            except httpx.TransportError as exc:
                ep.failed(f"connection error ({type(exc).__name__})")
                if self.watch is not None:
                    self.watch()
                continue
            if resp.status_code in (401, 403):
                raise BackendError(f"{ep.url}/models: HTTP {resp.status_code}; {self._key_advice()}")
            if resp.status_code >= 500 and resp.status_code != 503:
                ep.failed(f"HTTP {resp.status_code}")
                continue
            return True  # it answers (503: still loading; 404: no /models route)
        return False

    async def _worker(self, client, ep: _Endpoint, run: "_RunState", endpoints: list[_Endpoint]) -> None:
        o = self.options
        while True:
            item = await run.queue.get()
            if item is None or run.fatal is not None:
                return
            job, attempt, started = item
            try:
                completion = await self._once(client, ep.url, job, started, attempt)
            except _Retry as retry:
                if not retry.alive:
                    ep.failed(str(retry))
                    if retry.dropped and self.watch is not None:
                        try:
                            self.watch()
                        except BackendError as exc:
                            run.stop(exc)
                            return
                    if all(e.dead(o.max_consecutive_failures) for e in endpoints):
                        run.stop(_dead_error(endpoints, f"every endpoint failed "
                                                        f"{o.max_consecutive_failures} times in a row"))
                        return
                if attempt >= o.max_retries:
                    run.finish(job, Completion(None, "error", f"gave up after {attempt + 1} attempts: {retry}"))
                    continue
                cap = o.backoff * 2 ** attempt
                delay = retry.after if retry.after is not None else cap / 2 + random.uniform(0, cap / 2)
                run.requeue((job, attempt + 1, started), delay)
                pause = min(ENDPOINT_PAUSE_CAP, o.backoff * 2 ** ep.streak)
                await run.nap(max(delay, pause / 2 + random.uniform(0, pause / 2)))
                continue
            except BackendError as exc:
                run.stop(exc)
                return
            ep.answered()
            run.finish(job, completion)

    async def _once(self, client, url: str, job: Job, started: float, attempt: int) -> Completion:
        import httpx

        endpoint = f"{url}/chat/completions"
        cap = self.options.max_reply_bytes
        try:
            async with client.stream("POST", endpoint, json=self.payload(job)) as resp:
                raw = bytearray()
                async for chunk in resp.aiter_bytes():  # never more than the cap in memory
                    raw += chunk
                    if len(raw) > cap:
                        break
        except httpx.TimeoutException:
            raise _Retry("timeout") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection error ({type(exc).__name__})", dropped=True) from None
        code = resp.status_code
        if code in (401, 403):
            raise BackendError(f"{endpoint}: HTTP {code}; {self._key_advice()}")
        if code == 404:
            raise BackendError(f"{endpoint}: HTTP 404; check --base-url (usually ends in /v1) and --model")
        if code == 429 or code >= 500:  # 429 and 503 (busy, loading): alive, not failing
            raise _Retry(f"HTTP {code}", parse_retry_after(resp.headers.get("retry-after")),
                         alive=code in (429, 503))
        if code != 200:
            return Completion(None, "error", f"HTTP {code}: {raw[:200].decode('utf-8', 'replace')}")
        if len(raw) > cap:
            return Completion(None, "too_large", None, {"attempts": attempt + 1, "bytes_over": cap})
        try:
            body = json.loads(raw)
            choice = body["choices"][0]
            text = choice["message"]["content"]
            reason = choice.get("finish_reason") or "stop"
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Retry("malformed response") from None
        if not isinstance(text, str) or not text.strip():
            raise _Retry("empty reply")  # never stored as final: a rerun can still get an answer
        meta = {"attempts": attempt + 1, "latency_s": round(time.monotonic() - started, 3)}
        if isinstance(body.get("usage"), dict):
            meta["usage"] = body["usage"]
        return Completion(text, reason, None, meta)
