"""One settings model per stage, three faces: the ``dada run`` YAML section, the stage command's
click options (generated here from the model, as mergekit's ``options.py`` does from
``MergeOptions``) and the stage library function's argument; and the command line a step prints,
rendered back from the same model (:func:`command_line`), so running it by hand does what the
step did.

A field's CLI face lives in its ``json_schema_extra``: ``flag`` (default ``--field-name``),
``short``, ``metavar``, ``cli: False`` (YAML and library only). Every field has a description:
it is the option's help.
"""

from __future__ import annotations

import shlex
import types
import typing
from typing import Any, Callable, Literal

import click
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo


class Settings(BaseModel):
    """Base of every stage's settings: unknown keys are errors, nothing is guessed."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), validate_default=False)


def opt(default: Any = ..., help: str = "", *, flag: str | None = None, short: str | None = None,
        metavar: str | None = None, cli: bool = True, **constraints) -> Any:
    """A settings field with its command-line face (see the module docstring)."""
    extra = {k: v for k, v in (("flag", flag), ("short", short), ("metavar", metavar)) if v}
    if not cli:
        extra["cli"] = False
    if isinstance(default, (list, dict)):  # a fresh copy for every instance
        return Field(default_factory=lambda d=default: type(d)(d), description=help,
                     json_schema_extra=extra, **constraints)
    return Field(default, description=help, json_schema_extra=extra, **constraints)


def _extra(info: FieldInfo) -> dict:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def flag_of(name: str, info: FieldInfo) -> str:
    return _extra(info).get("flag") or "--" + name.replace("_", "-")


def _unwrap(annotation):
    """The base type of an annotation: ``int | None`` -> int; a union of several types (such as
    ``float | list[float]``) is given as text."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _yaml_values(base) -> bool:
    """A ``dict[str, X]`` whose values are read and written as YAML (any X but str)."""
    return typing.get_args(base)[1:] != (str,)


def _default(info: FieldInfo):
    if info.default_factory is not None:
        return info.default_factory()
    return None if info.is_required() else info.default


def _click_type(base):
    if typing.get_origin(base) is Literal:
        return click.Choice([str(a) for a in typing.get_args(base)])
    return base if base in (int, float) else str


def _pairs(as_yaml: bool):
    """A click callback for ``NAME=VALUE`` options (``as_yaml``: each value read as YAML, as it
    would be in a recipe, so ``--set load_in_4bit=true`` is a boolean)."""
    def parse(ctx, param, values):
        from dada_plugin.errors import ConfigError
        from dada_plugin.io import loads_yaml

        pairs = {}
        for value in values or ():
            key, sep, val = value.partition("=")
            if not sep or not key:
                raise click.BadParameter(f"{value!r}: expected NAME=VALUE", ctx=ctx, param=param)
            if key in pairs:  # a dict would keep the last one silently
                raise click.BadParameter(f"{key!r} is given twice; names must be distinct", ctx=ctx,
                                         param=param)
            try:
                pairs[key] = loads_yaml(val, key) if as_yaml else val
            except ConfigError as exc:
                raise click.BadParameter(f"{value!r}: the value is not YAML ({exc})", ctx=ctx,
                                         param=param) from None
        return pairs
    return parse


def cli_fields(model: type[BaseModel], skip: tuple[str, ...] = ()) -> dict[str, FieldInfo]:
    return {name: info for name, info in model.model_fields.items()
            if name not in skip and _extra(info).get("cli", True)}


def options(model: type[BaseModel], *, skip: tuple[str, ...] = (), first: tuple[str, ...] = ()) -> Callable:
    """A decorator adding one click option per CLI field of ``model`` (``first``, then the rest in
    field order)."""
    params = []
    fields = cli_fields(model, skip)
    for name in [*first, *(n for n in fields if n not in first)]:
        info = fields[name]
        base = _unwrap(info.annotation)
        extra = _extra(info)
        decls = [flag_of(name, info)] + ([extra["short"]] if "short" in extra else [])
        default = _default(info)
        kw: dict[str, Any] = {"help": info.description or "", "metavar": extra.get("metavar")}
        origin = typing.get_origin(base)
        if base is bool:
            if default:
                decls = [f"{decls[0]}/--no-{decls[0][2:]}"]
                kw.update(default=True)
            else:
                kw.update(is_flag=True, default=False)
        elif origin in (list, tuple):
            item = typing.get_args(base)[0] if typing.get_args(base) else str
            kw.update(multiple=True, type=_click_type(item), default=())
        elif origin is dict:
            kw.update(multiple=True, callback=_pairs(_yaml_values(base)), default=())
        else:
            kw.update(type=_click_type(base), default=default,
                      show_default=default is not None and default != "")
        params.append(click.Option([*decls, name], **kw))

    def decorate(fn):
        fn.__click_params__ = getattr(fn, "__click_params__", []) + list(reversed(params))
        return fn
    return decorate


def from_options(model: type[BaseModel], values: dict, **fixed):
    """The settings from parsed options (an empty repeatable option means: the default)."""
    data = {}
    for name, info in cli_fields(model).items():
        if name not in values:
            continue
        value = values[name]
        if value in ((), {}) and typing.get_origin(_unwrap(info.annotation)) in (list, tuple, dict):
            continue
        data[name] = list(value) if isinstance(value, tuple) else value
    return model.model_validate({**data, **fixed})


def _text(value) -> str:
    return ",".join(map(_text, value)) if isinstance(value, list) else str(value)


def _yaml(value) -> str:
    """A value as one line of YAML that reads back as the same value ("yes" stays a string)."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text[:-len("...")].strip() if text.endswith("...") else text


def arguments(settings: BaseModel, *, skip: tuple[str, ...] = ()) -> list[str]:
    """The options that give ``settings`` back (only those that differ from the defaults; a
    None where the default is not None is given as ``''``)."""
    argv: list[str] = []
    for name, info in cli_fields(type(settings), skip).items():
        value = getattr(settings, name)
        if value == _default(info):
            continue
        flag = flag_of(name, info)
        base = _unwrap(info.annotation)
        if base is bool:
            argv.append(flag if value else f"--no-{flag[2:]}")
        elif typing.get_origin(base) in (list, tuple):
            for item in value:
                argv += [flag, _text(item)]
        elif typing.get_origin(base) is dict:
            as_yaml = _yaml_values(base)
            for key, item in value.items():
                argv += [flag, f"{key}={_yaml(item) if as_yaml else item}"]
        else:
            argv += [flag, "" if value is None else _text(value)]
    return argv


def command_line(program: list[str], settings: BaseModel, *, skip: tuple[str, ...] = ()) -> str:
    """The shell-quoted command: ``program``, then the options of ``settings``."""
    return shlex.join([*program, *arguments(settings, skip=skip)])
