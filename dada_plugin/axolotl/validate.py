"""Validate an axolotl YAML with axolotl's own ``validate_config`` (plugins included), plus what
it lets through: unknown top-level keys (axolotl drops them silently) and unknown chat
templates (axolotl fails only when it tokenises). Every problem is one readable line.

Runs offline, without a GPU and without touching the model or the data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dada_plugin.axolotl import PLUGIN
from dada_plugin.errors import ConfigError, validation_lines
from dada_plugin.io import load_yaml

SPECIAL_TEMPLATES = ("tokenizer_default", "jinja")


def load_yaml_config(path: str | Path) -> dict:

    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("not a YAML mapping", source=str(path))
    return data


def _template_problem(where: str, name: Any) -> str | None:
    from axolotl.utils.chat_templates.base import _CHAT_TEMPLATES

    if name is None or not isinstance(name, str):
        return None
    if name in _CHAT_TEMPLATES or name in SPECIAL_TEMPLATES:
        return None
    fallback = name.removeprefix("tokenizer_default_fallback_")
    if fallback != name and fallback in _CHAT_TEMPLATES:
        return None
    return f"{where}: unknown chat template '{name}' (known: {', '.join(sorted(_CHAT_TEMPLATES))}, tokenizer_default, jinja)"


def extra_problems(raw: dict, schema) -> list[str]:
    """What axolotl's validation lets through."""
    known = set()
    for name, field in schema.model_fields.items():
        known.update({name, field.alias} - {None})
    plugin_checks = PLUGIN in (raw.get("plugins") or [])  # the plugin reports unknown dada_* keys
    problems = [f"{key}: unknown axolotl key (axolotl would drop it silently)"
                + ("; dada_* keys need plugins: [" + PLUGIN + "]" if key.startswith("dada_") else "")
                for key in raw if key not in known and not (plugin_checks and key.startswith("dada_"))]
    problem = _template_problem("chat_template", raw.get("chat_template"))
    problems += [problem] if problem else []
    for i, ds in enumerate(raw.get("datasets") or []):
        if isinstance(ds, dict):
            problem = _template_problem(f"datasets.{i}.chat_template", ds.get("chat_template"))
            problems += [problem] if problem else []
    return problems


def validate_axolotl_config(raw: dict, source: str | None = None):
    """``raw`` (a parsed YAML mapping) through axolotl's ``prepare_plugins`` + ``validate_config``.

    Returns axolotl's validated ``DictDefault``; raises :class:`ConfigError` with one line per
    problem (``field: message``)."""
    import copy

    from axolotl.integrations.config import merge_input_args
    from axolotl.utils.config import prepare_plugins, validate_config
    from axolotl.utils.dict import DictDefault

    cfg = DictDefault(copy.deepcopy(raw))
    try:
        prepare_plugins(cfg)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"plugins: cannot load {exc}", source=source) from None
    problems = extra_problems(raw, merge_input_args()[1])
    try:
        validated = validate_config(cfg)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        lines = validation_lines(exc) if hasattr(exc, "errors") else [str(exc)]
        problems = lines + problems
        validated = None
    if problems:
        raise ConfigError(problems, source=source)
    return validated


_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def base_model_warning(raw: dict) -> str | None:
    """A base_model that is neither a local folder here nor an ``ORG/NAME`` Hub id: a warning,
    not an error (a few legacy one-part ids such as ``gpt2`` exist on the Hub)."""
    value = raw.get("base_model")
    if not isinstance(value, str) or _HUB_ID.match(value) or Path(value).expanduser().is_dir():
        return None
    return (f"base_model: '{value}' is neither a local folder here nor an ORG/NAME Hub id; axolotl "
            "will look it up on the Hub (write the model's full Hub id, or a local folder)")


def validate_file(path: str | Path):
    return validate_axolotl_config(load_yaml_config(path), source=str(path))
