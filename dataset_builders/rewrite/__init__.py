"""Rewrite backends: ``openai``, ``transformers``, ``heuristic``, ``none`` (see registry.py)."""

from dataset_builders.rewrite import offline, openai, transformers_backend  # noqa: F401  (register backends)
from dataset_builders.rewrite.registry import (  # noqa: F401
    BACKENDS,
    Backend,
    BackendOptions,
    ClientOptions,
    Completion,
    Job,
    get_backend,
    register,
)
