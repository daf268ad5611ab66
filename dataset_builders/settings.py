"""``dada build``'s settings: its options, the ``data:`` section of a ``dada run`` recipe, and
the argument of :func:`dataset_builders.pipeline.build` (see :mod:`dada_plugin.settings`)."""

from __future__ import annotations

from pydantic import ValidationInfo, field_validator

from dada_plugin.settings import opt
from dataset_builders import card
from dataset_builders.clean import CLEAN_REASONS
from dataset_builders.rewrite import BACKENDS, BackendOptions

REWRITE_REASONS = ("truncated", "content_filter", "too_large", "echo")
RETRYABLE = REWRITE_REASONS + CLEAN_REASONS  # what --retry-rejected may name


class BuildSettings(BackendOptions):
    """``dada build``: its options, the ``data:`` section of a ``dada run`` recipe, and the
    argument of :func:`build` (the backend's options are inherited from BackendOptions)."""

    input: str | None = opt(None, "Alpaca JSON/JSONL (the command's INPUT).", cli=False)
    backend: str = opt("heuristic", "Rewriter. 'openai': any OpenAI-compatible server; 'transformers': "
                                    "a local model path; 'heuristic': offline rule-based simplifier (a "
                                    "demo/test stand-in, NOT a substitute for an LLM); 'none': keep the "
                                    "original answers.")
    style_prompt: str | None = opt(None, "File with the rewrite prompt template; must contain {question} "
                                         "and {answer}.")
    tokenizer: str | None = opt(None, "HF tokenizer path with a chat template; default: the real "
                                      "Mixtral tokenizer (mistral-common tokenizer.model.v1, offline).")
    max_tokens: int = opt(128, "Drop sequences longer than this many tokens (BOS and EOS included).", ge=8)
    limit: int | None = opt(None, "Only the first N loaded records (trial runs).", ge=1)
    max_failed_share: float = opt(0.2, "Exit non-zero when more than this share of the rewrites failed "
                                       "at the backend.", ge=0, le=1)
    retry_rejected: list[str] = opt([], "Ask again for stored rewrites that were rejected for REASON "
                                        f"(repeatable: {', '.join(RETRYABLE)}); the old answers stay in "
                                        "the store's history.", metavar="REASON")
    source_name: str = opt("Stanford Alpaca (tatsu-lab/stanford_alpaca)", "Name of the source data, "
                                                                          "for the dataset card.")
    source_license: str = opt("cc-by-nc-4.0", "Licence of the source data, carried into the dataset "
                                              "card.", flag="--license")
    progress: bool = opt(True, "Show a progress bar while rewriting.")
    force: bool = opt(False, "Write into a non-empty folder that is not an earlier build folder "
                             "(files dada did not write are still never replaced).")

    @field_validator("backend")
    @classmethod
    def _backend(cls, name: str) -> str:
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
        return name

    @field_validator("retry_rejected")
    @classmethod
    def _reasons(cls, reasons: list[str]) -> list[str]:
        unknown = [r for r in reasons if r not in RETRYABLE]
        if unknown:
            raise ValueError(f"cannot retry {', '.join(unknown)}; reasons: {', '.join(RETRYABLE)}")
        return reasons

    @field_validator("source_license", "source_name")
    @classmethod
    def _card_text(cls, value: str, info: ValidationInfo) -> str:
        {"source_license": card.check_license, "source_name": card.check_name}[info.field_name](value)
        return value
