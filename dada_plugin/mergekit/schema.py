"""A strict pydantic mirror of mergekit 0.1.5's YAML (``mergekit.config.MergeConfiguration``).

mergekit's own models ignore unknown keys and accept any dtype or method name; this mirror
forbids unknown keys, checks values, and raises ``ValueError`` so each failure reads as one line
(see ``dada_plugin.errors.validation_lines``). Checks that need the models themselves (layer counts,
tensor names) live in :mod:`dada_plugin.mergekit.config`.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import (BaseModel, BeforeValidator, ConfigDict, StrictInt, field_validator,
                      model_validator)

from dada_plugin.mergekit.models import ModelRef

# Names mergekit's dtype_from_name accepts for floating-point merges ("torch." prefix allowed).
KNOWN_DTYPES = ("bfloat16", "float16", "float32", "float64")
SCALARS = (bool, int, float, str)


def known_methods() -> tuple[str, ...]:
    """Merge method names registered in the installed mergekit."""
    from mergekit.merge_methods.registry import registered_methods

    return tuple(sorted(m.spec.name for m in registered_methods()))


def _model_ref(value: Any) -> str:
    """A model reference as mergekit's ``PATH[@REV][+ADAPTER]`` string."""
    if isinstance(value, dict):
        unknown = set(value) - {"model", "lora", "override_architecture", "path", "revision"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)} in a model reference")
        if "path" in value:
            value = value["path"] + (f"@{value['revision']}" if value.get("revision") else "")
        else:
            parts = [_model_ref(value.get("model"))]
            if value.get("lora"):
                parts.append(_model_ref(value["lora"]))
            value = "+".join(parts)
    if not isinstance(value, str):
        raise ValueError(f"a model reference must be a string, not {type(value).__name__}")
    ModelRef.parse(value)
    return value


ModelRefStr = Annotated[str, BeforeValidator(_model_ref)]


def _check_scalar_or_gradient(value: Any, where: str) -> None:
    if isinstance(value, SCALARS):
        return
    if isinstance(value, list) and value and all(isinstance(v, SCALARS) for v in value):
        return
    if isinstance(value, list) and not value:
        raise ValueError(f"{where}: empty gradient list")
    raise ValueError(f"{where}: expected a number or a list of numbers, got {value!r}")


def check_setting(name: str, value: Any) -> None:
    """One parameter: a scalar, a gradient list, or a list of ``{filter, value}`` conditionals."""
    if isinstance(value, dict):
        items = [(name, value)]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [(f"{name}.{i}", v) for i, v in enumerate(value)]
    else:
        _check_scalar_or_gradient(value, name)
        return
    for where, cond in items:
        unknown = sorted(set(cond) - {"value", "filter"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown} (a conditional takes filter and value)")
        if "value" not in cond:
            raise ValueError(f"{where}: conditional without a value")
        if cond.get("filter") is not None and not isinstance(cond["filter"], str):
            raise ValueError(f"{where}.filter: must be a string")
        _check_scalar_or_gradient(cond["value"], f"{where}.value")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: Optional[dict[str, Any]] = None

    @field_validator("parameters")
    @classmethod
    def _settings(cls, value):
        for name, setting in (value or {}).items():
            check_setting(name, setting)
        return value


class InputSlice(_Strict):
    model: ModelRefStr
    layer_range: tuple[StrictInt, StrictInt]

    @field_validator("layer_range")
    @classmethod
    def _range(cls, value):
        start, end = value
        if start < 0 or end <= start:
            raise ValueError(f"[{start}, {end}] must satisfy 0 <= start < end")
        return value


class InputModel(_Strict):
    model: ModelRefStr


class OutputSlice(_Strict):
    sources: list[InputSlice]
    base_model: Optional[ModelRefStr] = None
    residual_weight: Optional[float] = None

    @field_validator("sources")
    @classmethod
    def _nonempty(cls, value):
        if not value:
            raise ValueError("a slice needs at least one source")
        return value


class OutputModule(_Strict):
    slices: Optional[list[OutputSlice]] = None
    models: Optional[list[InputModel]] = None

    @model_validator(mode="after")
    def _one_form(self):
        if bool(self.slices) == bool(self.models):
            raise ValueError("give exactly one of slices or models")
        return self


class MergeConfig(_Strict):
    """The whole mergekit YAML."""

    modules: Optional[dict[str, OutputModule]] = None
    slices: Optional[list[OutputSlice]] = None
    models: Optional[list[InputModel]] = None
    merge_method: str
    base_model: Optional[ModelRefStr] = None
    dtype: Optional[str] = None
    out_dtype: Optional[str] = None
    tokenizer_source: Optional[str] = None
    tokenizer: Optional[dict[str, Any]] = None
    chat_template: Optional[str] = None

    @field_validator("merge_method")
    @classmethod
    def _method(cls, value):
        known = known_methods()
        if value not in known:
            raise ValueError(f"unknown merge method '{value}' (known: {', '.join(known)})")
        return value

    @field_validator("dtype", "out_dtype")
    @classmethod
    def _dtype(cls, value):
        if value is not None and value.removeprefix("torch.") not in KNOWN_DTYPES:
            raise ValueError(f"unknown dtype '{value}' (use one of {', '.join(KNOWN_DTYPES)})")
        return value

    @field_validator("tokenizer_source")
    @classmethod
    def _tokenizer_source(cls, value):
        if value is not None and value not in ("base", "union"):
            _model_ref(value)
        return value

    @model_validator(mode="after")
    def _one_form(self):
        given = [k for k in ("models", "slices", "modules") if getattr(self, k)]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(f"give exactly one of models, slices or modules (found: {found})")
        if self.tokenizer_source and self.tokenizer:
            raise ValueError("give tokenizer_source or tokenizer, not both")
        return self
