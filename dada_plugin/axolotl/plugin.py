"""The DADA axolotl plugin: ``plugins: [dada_plugin.axolotl.plugin.DadaPlugin]``.

Config keys (validated by axolotl through :class:`DadaArgs`):

``dada_slerp_base``   merge partner, the SLERP ``base_model`` (t = 0 end), e.g. Verdict-8x7B;
                      when set, ``post_train`` writes a ready mergekit config next to the adapter
``dada_slerp_t``      SLERP t in [0, 1] (default 0.5)
``dada_slerp_dtype``  merge dtype: bfloat16 (default), float16 or float32
``dada_slerp_file``   file name of the mergekit config inside ``output_dir`` (default ``slerp.yml``)
``dada_check_rows``   ``error`` | ``warn`` (default) | ``off``: before tokenising, count the rows of
                      every ``dada_plugin.axolotl.strategy`` dataset longer than the row limit
                      (exact: the training tokenizer and the strategy's own layout); ``error``
                      stops the run, ``warn`` logs (axolotl drops rows over ``sequence_len``)
``dada_max_row_tokens`` the row limit (default ``sequence_len``); with sample packing
                      ``sequence_len`` is the packed length, this keeps the seed's 128 per sample

``excess_length_strategy: truncate`` is refused: it would cut answers (and their EOS) off.
``post_train`` fires twice in axolotl; writing the same config twice leaves one identical file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from axolotl.integrations.base import BasePlugin
from axolotl.utils.logging import get_logger
from pydantic import BaseModel, field_validator, model_validator

from dada_plugin.axolotl import STRATEGY
from dada_plugin.axolotl.strategy import row_lengths
from dada_plugin.errors import ConfigError, InputError, TemplateError
from dada_plugin.io import jsonl_rows, sealed
from dada_plugin.mergekit.config import build_slerp_config, write_merge_config
from dada_plugin.mergekit.lint import check_merge_config
from dada_plugin.outputs import check_file
from dada_plugin.seed import check_t
from dataset_builders.formats import get_format

LOG = get_logger("axolotl.dada")  # under axolotl's logger, so its handlers print it


class DadaArgs(BaseModel):
    """The plugin's keys, merged into axolotl's config schema.

    Not ``extra="forbid"``: this class becomes a base of axolotl's whole config model, where that
    would reject every axolotl key. Unknown ``dada_*`` keys (typos) are rejected instead.
    """

    dada_slerp_base: str | None = None
    dada_slerp_t: float | list[float] = 0.5
    dada_slerp_dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    dada_slerp_file: str = "slerp.yml"
    dada_check_rows: Literal["error", "warn", "off"] = "warn"
    dada_max_row_tokens: int | None = None
    dada_use_cpu: bool = False  # train on the CPU (transformers' use_cpu): bf16 autocast works there too

    @field_validator("dada_max_row_tokens")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 2:
            raise ValueError(f"must be at least 2 (BOS and EOS), got {value}")
        return value

    @field_validator("dada_slerp_t", mode="before")
    @classmethod
    def _t_in_range(cls, value):
        return check_t(value)

    @field_validator("dada_slerp_file")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value.endswith((".yml", ".yaml")) or "/" in value:
            raise ValueError(f"must be a plain .yml file name, got {value!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _dada_keys(cls, data):
        if isinstance(data, dict):
            unknown = sorted(k for k in data if k.startswith("dada_") and k not in DadaArgs.model_fields)
            if unknown:
                raise ValueError(f"unknown dada plugin key(s): {', '.join(unknown)} "
                                 f"(known: {', '.join(DadaArgs.model_fields)})")
            if data.get("excess_length_strategy") == "truncate" and any(
                    _is_dada_dataset(ds) for ds in data.get("datasets") or []):
                raise ValueError("excess_length_strategy: truncate would cut dada answers; "
                                 "use drop (default) or raise")
        return data


def _is_dada_dataset(ds) -> bool:
    """dada's own strategy, or axolotl's chat_template type (dada writes it for formats other
    than mistral-v1; its rows are checked when they are dada rows)."""
    kind = ds.get("type") if isinstance(ds, dict) else getattr(ds, "type", None)
    return kind in (STRATEGY, "chat_template")


def _template_lengths(tokenizer, rows: list[dict], path) -> list[int]:
    """Token counts of dada rows as axolotl's chat_template type renders them with the training
    tokenizer's template; ConfigError before any training when that template does not render
    the rows' own text (they were built for another tokenizer or format)."""
    first = rows[0]
    rendered = tokenizer.apply_chat_template(first["messages"], tokenize=False)
    try:  # the same conversation (mistral-v1 text varies in its spaces, not its ids)
        fmt = get_format(first.get("chat_format"))
        same = rendered == first.get("text") or fmt.decompile(rendered) == fmt.decompile(str(first.get("text")))
    except (ConfigError, TemplateError):
        same = False
    if not same:
        raise ConfigError(f"{path}: the rows were built in the {first.get('chat_format')} format, but the "
                          f"training tokenizer's chat template renders them otherwise ({rendered[:60]!r} vs "
                          f"{str(first.get('text'))[:60]!r}): build with this model's tokenizer "
                          "(dada build --tokenizer), or train the model the rows were built for",
                          source="datasets")
    return [len(tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=False)) for r in rows]


def dada_rows(path: str | Path) -> list[dict]:
    """Rows of a local ``dada.jsonl`` (JSON lines); InputError names a bad line."""
    return [row for _, row in jsonl_rows(path)]


def row_limit(cfg) -> int:
    return cfg.dada_max_row_tokens or cfg.sequence_len


def long_rows(cfg, tokenizer) -> tuple[int, list[str]]:
    """(rows seen, "id (n tokens)" of each row over :func:`row_limit`) over the dada datasets."""
    limit, seen, too_long = row_limit(cfg), 0, []
    for ds in cfg.datasets or []:
        if not _is_dada_dataset(ds):
            continue
        if not ds.get("path") or not Path(ds["path"]).is_file():
            LOG.warning("dada: rows of %s not checked (not a local file)", ds.get("path"))
            continue
        rows = dada_rows(ds["path"])
        template = (ds.get("type") if isinstance(ds, dict) else getattr(ds, "type", None)) == "chat_template"
        if template and not (rows and isinstance(rows[0], dict) and "chat_format" in rows[0]):
            continue  # not rows dada built
        seen += len(rows)
        lengths = _template_lengths(tokenizer, rows, ds["path"]) if template else row_lengths(tokenizer, rows)
        too_long += [f"{row.get('id', '?')} ({n} tokens)" for row, n in zip(rows, lengths) if n > limit]
    return seen, too_long


def slerp_config(cfg, trained: bool = True) -> dict:
    """The mergekit SLERP config for what this run writes to ``output_dir``: ``base_model`` with
    the adapter folded in (``MODEL+ADAPTER``), or the full model a run without adapter saves.
    Checked (ConfigError lists every problem); local paths become absolute, hub ids stay.
    ``trained=False`` checks the rest before training, when ``output_dir`` holds nothing yet."""
    output = str(Path(cfg.output_dir).resolve())
    model, lora = cfg.base_model, None
    if trained:
        model, lora = (cfg.base_model, output) if cfg.adapter else (output, None)
    slerp = build_slerp_config(base=cfg.dada_slerp_base, model=model, t=cfg.dada_slerp_t,
                                lora=lora, dtype=cfg.dada_slerp_dtype)
    problems = check_merge_config(slerp)
    if not trained and cfg.adapter:  # before training the partner may be the base itself: the merge
        # will be BASE+ADAPTER onto BASE (the seed's SLERP of a fine-tune onto its own base)
        problems = [p for p in problems if not p.endswith("the same model is listed twice")]
    if problems:
        raise ConfigError(problems, source="dada_slerp_base")
    return slerp


class DadaPlugin(BasePlugin):
    """Row-length check before tokenising; a SLERP mergekit config next to the adapter after training."""

    def get_input_args(self) -> str:
        return "dada_plugin.axolotl.plugin.DadaArgs"

    def load_datasets(self, cfg, preprocess: bool = False):
        if cfg.dada_slerp_base and cfg.output_dir:
            slerp_config(cfg, trained=False)  # fail before tokenising and training, not after
        if (cfg.dada_check_rows or "warn") == "off":
            return None
        from axolotl.loaders import load_tokenizer

        seen, too_long = long_rows(cfg, load_tokenizer(cfg))
        if too_long:
            msg = (f"{len(too_long)} of {seen} dada rows exceed {row_limit(cfg)} tokens: "
                   f"{', '.join(too_long[:5])}{' ...' if len(too_long) > 5 else ''}")
            if cfg.dada_check_rows == "error":
                raise ConfigError(msg, source="dada_check_rows")
            LOG.warning(msg)
        elif seen:
            LOG.info("dada: all %d rows fit %d tokens", seen, row_limit(cfg))
        return None  # axolotl loads the datasets as usual

    def get_training_args(self, cfg):
        return {"use_cpu": True} if cfg.dada_use_cpu else None

    def post_train(self, cfg, model):
        if not cfg.dada_slerp_base or not cfg.output_dir:
            return
        from accelerate.state import PartialState

        if not PartialState().is_main_process:
            return
        path = Path(cfg.output_dir) / (cfg.dada_slerp_file or "slerp.yml")
        try:  # never over a file of the user's: the trained adapter matters more than the config
            check_file(path, {}, ours=sealed)
        except InputError as exc:
            LOG.warning("dada: SLERP config not written: %s", exc)
            return
        # atomic, and the same inputs give the same bytes: the second call changes nothing
        write_merge_config(slerp_config(cfg), path)
        LOG.info("dada: SLERP config written to %s", path)
