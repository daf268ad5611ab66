"""Rewrite backends behind one registry (a dict plus a decorator, as mergekit does for merge
methods). A backend turns jobs (a prompt, plus the pair it came from) into completions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable
from urllib.parse import urlsplit

from pydantic import field_validator

from dada_plugin.errors import ConfigError
from dada_plugin.settings import Settings, opt

BACKENDS: dict[str, type["Backend"]] = {}


def register(name: str):
    def deco(cls):
        cls.name = name
        BACKENDS[name] = cls
        return cls
    return deco


class ClientOptions(Settings):
    """How to ask a model: sampling, concurrency, retries, limits. The eval settings extend it;
    BackendOptions adds which model and where (each option is declared here once)."""

    concurrency: int = opt(8, "Requests in flight per endpoint.", ge=1, le=1024)
    temperature: float = opt(0.7, "Sampling temperature.", ge=0.0, le=2.0)
    top_p: float = opt(1.0, "Nucleus sampling top_p.", gt=0.0, le=1.0)
    max_new_tokens: int = opt(256, "Most tokens per reply; a reply cut at this length is rejected "
                                   "as truncated.", ge=1, le=32768)
    seed: int | None = opt(None, "Sampling seed sent with every request.")
    timeout: float = opt(120.0, "Request timeout, seconds.", gt=0)
    max_retries: int = opt(6, "Retries on 429, 5xx, timeouts, dropped connections, malformed or "
                              "empty replies (exponential backoff).", ge=0, le=100)
    backoff: float = opt(0.5, "First retry delay, seconds (doubles each time).", ge=0.0, le=60.0)
    max_consecutive_failures: int = opt(
        5, "Circuit breaker: stop when every endpoint has failed this many requests in a row "
           "(connection refused, 5xx, malformed or empty replies) and answered nothing for a while.",
        ge=1, le=10_000)
    max_reply_bytes: int = opt(512 * 1024, "A longer reply is rejected as too_large (and not read "
                                           "further).", ge=1024)
    api_key_env: str = opt("OPENAI_API_KEY", "Environment variable holding the API key (may be unset "
                                             "or dummy).")
    batch_size: int = opt(8, "Generation batch size (transformers backend).", ge=1, le=4096)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError("must name an environment variable (letters, digits, _), not hold "
                             "the key itself")
        return name


class BackendOptions(ClientOptions):
    """Everything a backend may need; each backend reads the fields it uses. The build settings
    extend it."""

    model: str | None = opt(None, "Model name on the server (openai) or local model path "
                                  "(transformers).")
    base_urls: list[str] = opt([], "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1. Repeat "
                                   "to spread requests over several servers.", flag="--base-url",
                               metavar="URL")

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return check_urls(urls)


def check_urls(urls: list[str]) -> list[str]:
    """OpenAI-compatible endpoints: http(s), no credentials in them; without a trailing slash."""
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        if urlsplit(url).password is not None or "@" in urlsplit(url).netloc:
            raise ValueError("no credentials in the URL: put the key in the variable "
                             "named by --api-key-env")
    return [u.rstrip("/") for u in urls]


@dataclass(slots=True)
class Job:
    """One completion to get: the chat prompt, its cache key and, for a rewrite, the pair it
    came from (offline rewriters work on the pair, not the prompt)."""

    key: str                                  # cache key
    messages: list[dict]                      # the chat prompt sent to an LLM
    pair: tuple[str, str] | None = None       # (question, original answer) of a rewrite


@dataclass(slots=True)
class Completion:
    text: str | None
    finish_reason: str = "stop"         # "stop", "length", or "error"
    error: str | None = None            # set when the request failed for good
    meta: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.finish_reason != "length" and self.text is not None


class Backend:
    """Base class. ``cacheable`` backends (paid or slow) go through the durable store."""

    name = "base"
    cacheable = True
    needs_model = False
    # called when a server stops answering (a dropped connection): raises BackendError naming
    # the cause when the server is known to be dead (a llama.cpp server dada started)
    watch: Callable[[], None] | None = None
    send_key = True  # False: no API key goes to these endpoints (a judge on another host)
    checked = False  # a pre-flight was done (the next run skips its own)

    def preflight(self, role: str | None = None) -> None:
        """Check, before any paid request, that the backend can be reached (BackendError naming
        ``role`` when not); nothing to check for an offline backend."""

    def __init__(self, options: BackendOptions):
        if self.needs_model and not options.model:
            raise ConfigError(f"--model is required for the {self.name!r} backend")
        self.options = options

    def identity(self) -> dict:
        """What the cache key must cover besides prompt and record (never a secret)."""
        o = self.options
        return {"backend": self.name, "model": o.model, "temperature": o.temperature,
                "top_p": o.top_p, "max_new_tokens": o.max_new_tokens, "seed": o.seed}

    def describe(self) -> str:
        return f"{self.name} ({self.options.model})" if self.options.model else self.name

    def complete(self, jobs: Iterable[Job], on_result: Callable[[Job, Completion], None]) -> None:
        raise NotImplementedError


def get_backend(name: str, options: BackendOptions | None = None) -> Backend:
    from dataset_builders import rewrite  # noqa: F401  (registers the built-in backends)

    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](options or BackendOptions())
