"""``dada build``'s settings: its options, the ``data:`` section of a ``dada run`` recipe, and
the argument of :func:`dataset_builders.pipeline.build` (see :mod:`dada_plugin.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator, model_validator

from dada_plugin.settings import opt
from dataset_builders import card
from dataset_builders.clean import CLEAN_REASONS
from dataset_builders.load import Fields
from dataset_builders.rewrite import BACKENDS, BackendOptions
from dataset_builders.rewrite.registry import check_urls

REWRITE_REASONS = ("truncated", "content_filter", "too_large", "echo")
RETRYABLE = REWRITE_REASONS + CLEAN_REASONS  # what --retry-rejected may name
FORMATS = ("jsonl", "parquet")


class BuildSettings(BackendOptions):
    """``dada build``: its options, the ``data:`` section of a ``dada run`` recipe, and the
    argument of :func:`build` (the backend's options are inherited from BackendOptions)."""

    input: str | None = opt(None, "The instruction set (the command's INPUT): Alpaca JSON/JSONL, "
                                  "Parquet, or a save_to_disk folder.", cli=False)
    instruction_field: str = opt("instruction", "Column holding the instruction.")
    input_field: str = opt("input", "Column holding the optional input; '' for none.")
    output_field: str = opt("output", "Column holding the answer.")
    backend: str = opt("heuristic", "Rewriter. 'openai': any OpenAI-compatible server; 'transformers': "
                                    "a local model path; 'heuristic': offline rule-based simplifier (a "
                                    "demo/test stand-in, NOT a substitute for an LLM); 'none': keep the "
                                    "original answers.")
    style_prompt: str | None = opt(None, "File with the rewrite prompt template; must contain {question} "
                                         "and {answer}.")
    tokenizer: str | None = opt(None, "The target model's tokenizer (a Hugging Face folder); its chat "
                                      "template decides the conversation format. Default: the real "
                                      "Mixtral tokenizer (mistral-common tokenizer.model.v1, offline).")
    chat_format: str | None = opt(None, "Conversation format for a tokenizer without a chat template "
                                        "(a base model): mistral-v1, chatml, llama3 or gemma3; checked "
                                        "against the template where there is one.")
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
    fact_check: Literal["strict", "lenient", "off"] = opt(
        "lenient", "Reject rewrites that lost facts (lost_facts): code, URLs, quoted strings, the "
                   "count a question asks for and, for questions about numbers, the numbers "
                   "(lenient); every number too (strict); or nothing (off).")
    style_check: bool = opt(True, "Check that each rewrite's diction got simpler and holds no slop "
                                  "(not_simplified, sloppy).")
    min_grade_drop: float = opt(1.0, "Reject a rewrite whose reading grade (Flesch-Kincaid, on its prose) "
                                     "is not at least this much below the original's (not_simplified); "
                                     "originals under 12 words of prose are exempt.")
    max_slop_rate: float = opt(3.0, "Reject a rewrite with more slop-list words and cliché phrases than "
                                    "this per 100 words (sloppy).", ge=0)
    judge_model: str | None = opt(None, "Also ask this model (OpenAI-compatible) whether each rewrite "
                                        "is still a correct answer; unfaithful ones are rejected "
                                        "(judge_unfaithful).")
    judge_base_urls: list[str] = opt([], "Endpoint of the judge (repeatable) [default: the --base-url "
                                         "endpoints].", flag="--judge-base-url", metavar="URL")
    judge_api_key_env: str | None = opt(None, "Environment variable holding the judge's API key "
                                              "[default: --api-key-env's, sent only when every judge "
                                              "URL has the scheme, host and port of a --base-url; "
                                              "else no key].")
    judge_prompt: str | None = opt(None, "File with the judge prompt; must contain {question}, {answer} "
                                         "and {rewrite} and ask for a JSON verdict.")
    review: int = opt(20, "Random kept pairs (original and rewrite) in review.md, with the first rejects "
                          "of every reason.", ge=0)
    review_seed: int = opt(0, "Seed of the review.md sample.")
    formats: list[str] = opt(["jsonl"], "Formats of the kept rows, comma-separated or repeated: jsonl "
                                        "(dada.jsonl, always written) and parquet (dada.parquet, a "
                                        "copy written with datasets).", flag="--format", metavar="FORMATS")
    progress: bool = opt(True, "Show a progress bar while rewriting.")
    force: bool = opt(False, "Write into a non-empty folder that is not an earlier build folder "
                             "(files dada did not write are still never replaced).")

    @property
    def fields(self) -> Fields:
        return Fields(self.instruction_field, self.input_field or None, self.output_field)

    @model_validator(mode="after")
    def _judge(self):
        if self.judge_model and self.backend == "none":
            raise ValueError("judge_model: the judge checks rewrites, and --backend none rewrites nothing")
        if self.judge_model and not (self.judge_base_urls or self.base_urls):
            raise ValueError("judge_base_urls: the judge needs an endpoint: --judge-base-url (or --base-url)")
        return self

    @field_validator("judge_api_key_env")
    @classmethod
    def _judge_key(cls, name):
        return None if name is None else cls._env_name(name)

    @field_validator("judge_base_urls")
    @classmethod
    def _judge_urls(cls, urls: list[str]) -> list[str]:
        return check_urls(urls)

    @field_validator("backend")
    @classmethod
    def _backend(cls, name: str) -> str:
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
        return name

    @field_validator("formats", mode="before")
    @classmethod
    def _formats(cls, value):
        items = [value] if isinstance(value, str) else list(value or [])
        names = list(dict.fromkeys(f.strip() for item in items for f in str(item).split(",") if f.strip()))
        unknown = [n for n in names if n not in FORMATS]
        if unknown:
            raise ValueError(f"unknown format(s) {', '.join(unknown)}; formats: {', '.join(FORMATS)}")
        if "jsonl" not in names:
            raise ValueError("jsonl is always written (dada.jsonl is what training and eval read); "
                             "add parquet for a copy: --format jsonl,parquet")
        return names

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
        card.check_card_text(info.field_name, value)
        return value
