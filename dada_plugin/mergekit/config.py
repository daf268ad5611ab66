"""Build and write mergekit YAML (the checks are in :mod:`.lint`).

- :func:`build_slerp_config` a YAML-ready SLERP dict with absolute local paths
- :func:`settings_config` / :func:`write_settings_config` the config a MergeSettings describes
- :func:`write_merge_config` validate, then write atomically
"""

from __future__ import annotations

from pathlib import Path

from dada_plugin import seed
from dada_plugin.errors import ConfigError
from dada_plugin.io import seal, sealed, write_text
from dada_plugin.mergekit import models as M
from dada_plugin.mergekit.lint import check_merge_config
from dada_plugin.outputs import check_file

HEADER = ("# mergekit config written by `dada merge-config`; lint it with\n"
          "#   dada merge-config --check {name}\n"
          "# then merge with `dada merge {name} OUT` (or `mergekit-yaml {name} OUT`).\n")


# ---------------------------------------------------------------------------- building

def parse_t(text) -> float | list[float]:
    """:func:`dada_plugin.seed.parse_t`, with ConfigError for the command line."""
    try:
        return seed.parse_t(text)
    except ValueError as exc:
        raise ConfigError(f"t: {exc}") from None


def t_setting(t=seed.SEED_T, t_self_attn=None, t_mlp=None):
    """mergekit's ``t``: a scalar/gradient, or conditionals on transformers-5 names
    (``self_attn``, ``mlp``) ahead of the default."""
    if t_self_attn is None and t_mlp is None:
        return t
    conds = [{"filter": name, "value": value}
             for name, value in (("self_attn", t_self_attn), ("mlp", t_mlp)) if value is not None]
    return conds + [{"value": t}]


def build_slerp_config(base: str, model: str, t=seed.SEED_T, lora: str | None = None,
                       dtype: str = "bfloat16", tokenizer_source: str = "base", *,
                       t_self_attn=None, t_mlp=None) -> dict:
    """A YAML-ready SLERP of ``model`` (optionally ``MODEL+ADAPTER`` or with ``lora`` folded in)
    onto ``base`` (the t=0 end). Local paths become absolute, hub ids stay; each layer_range is
    read from the model's config.json (or built-in Mixtral-8x7B numbers for a Mixtral hub id).

    ``tokenizer_source``: ``base``, ``union``, ``model`` (MODEL's own) or a model path.
    Raises ConfigError when a model cannot be read; the dict itself is not yet validated
    (:func:`write_merge_config` does that)."""
    try:
        if lora:
            if M.paths(model)[1]:
                raise ConfigError(f"model '{model}' already has an adapter; drop --lora or the '+'")
            model = f"{model}+{lora}"
        base, model = M.absolute(base), M.absolute(model)
        layers = {ref: M.num_layers(ref) for ref in (base, model)}
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if layers[base] != layers[model]:
        raise ConfigError(f"layer counts differ: {base} has {layers[base]}, {model} has {layers[model]}")
    if tokenizer_source == "model":
        tokenizer_source = M.paths(model)[0]
    elif tokenizer_source not in ("base", "union"):
        tokenizer_source = M.absolute(tokenizer_source)
    return {
        "slices": [{"sources": [{"model": ref, "layer_range": [0, layers[ref]]} for ref in (base, model)]}],
        "merge_method": "slerp",
        "base_model": base,
        "parameters": {"t": t_setting(t, t_self_attn, t_mlp)},
        "dtype": dtype,
        "tokenizer_source": tokenizer_source,
    }


def build_lora_fold_config(model: str, lora: str | None = None, dtype: str = "bfloat16") -> dict:
    """A passthrough of ``MODEL+ADAPTER``: folds a LoRA adapter into its base (what peft's
    ``merge_and_unload`` does), written as a full model by mergekit."""
    try:
        ref = M.absolute(f"{model}+{lora}" if lora else model)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not M.paths(ref)[1]:
        raise ConfigError(f"'{model}' has no adapter: give MODEL+ADAPTER or --lora")
    return {"models": [{"model": ref}], "merge_method": "passthrough", "dtype": dtype}


def settings_config(s) -> dict:
    """The mergekit config a :class:`~dada_plugin.mergekit.settings.MergeSettings` describes."""
    if not s.model:
        raise ConfigError("a merge config needs a model (--model)")
    if s.method == "fold":
        return build_lora_fold_config(s.model, s.lora, dtype=s.dtype)
    return build_slerp_config(s.base, s.model, t=s.t, lora=s.lora, dtype=s.dtype,
                              tokenizer_source=s.tokenizer_source, t_self_attn=s.t_self_attn,
                              t_mlp=s.t_mlp)


def write_settings_config(s, output) -> tuple[Path, dict]:
    """Write the config of ``s`` to ``output`` (never over a file dada did not write, unless
    ``s.force``)."""

    refs = [r for r in (s.base, s.model, s.lora, s.tokenizer_source) if r and r not in ("base", "union", "model")]
    read = {f"model {r}": part for r in refs for part in M.paths(r) if part}
    check_file(output, {}, force=s.force, ours=sealed, within=read)
    cfg = settings_config(s)
    return write_merge_config(cfg, output), cfg


# ---------------------------------------------------------------------------- YAML

def _yaml_dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        """Lists of numbers in flow style (``[0, 32]``), as mergekit writes them."""

    def represent_list(dumper, data):
        flow = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    Dumper.add_representer(list, represent_list)
    return Dumper


def dump_yaml(cfg: dict) -> str:
    import yaml

    return yaml.dump(cfg, Dumper=_yaml_dumper(), sort_keys=False, default_flow_style=False)


def referenced_models(cfg: dict) -> list[str]:
    """Every model reference of a checked config (mergekit's own list), base first, then sorted."""
    from mergekit.config import MergeConfiguration

    parsed = MergeConfiguration.model_validate(cfg)
    base = str(parsed.base_model) if parsed.base_model else None
    rest = sorted(str(r) for r in parsed.referenced_models() if str(r) != base)
    return ([base] if base else []) + rest


def write_merge_config(cfg: dict, path) -> Path:
    """Validate ``cfg`` (ConfigError listing every problem) and write it atomically as YAML."""
    problems = check_merge_config(cfg)
    if problems:
        raise ConfigError(problems, source=str(path))
    return write_text(path, seal(HEADER.format(name=Path(path).name) + dump_yaml(cfg)))
