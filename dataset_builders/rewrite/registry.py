"""Rewrite backends behind one registry (a dict plus a decorator, as mergekit does for merge
methods). A backend turns jobs (a prompt, plus the pair it came from) into completions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dada_plugin.errors import ConfigError

BACKENDS: dict[str, type["Backend"]] = {}


def register(name: str):
    def deco(cls):
        cls.name = name
        BACKENDS[name] = cls
        return cls
    return deco


class BackendOptions(BaseModel):
    """Everything a backend may need; each backend reads the fields it uses."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(None, description="model name (openai) or local path (transformers)")
    base_urls: list[str] = Field(default_factory=list)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1, le=1024)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1, le=32768)
    seed: int | None = None
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0, le=100)
    backoff: float = Field(0.5, ge=0.0, le=60.0, description="first retry delay, seconds (doubles)")
    max_reply_bytes: int = Field(512 * 1024, ge=1024, description="a longer reply is rejected as "
                                 "too_large without being read further")
    max_consecutive_failures: int = Field(5, ge=1, le=10_000, description="circuit breaker: stop when "
                                          "every endpoint failed this many times in a row")
    batch_size: int = Field(8, ge=1, le=4096)

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
            if urlsplit(url).password is not None or "@" in urlsplit(url).netloc:
                raise ValueError("no credentials in the URL: put the key in the variable "
                                 "named by --api-key-env")
        return [u.rstrip("/") for u in urls]

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, name: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError("must name an environment variable (letters, digits, _), not hold "
                             "the key itself")
        return name


@dataclass(slots=True)
class Job:
    key: str                   # cache key
    question: str
    answer: str                # the original answer
    messages: list[dict]       # the chat prompt sent to an LLM


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
