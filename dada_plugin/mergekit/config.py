"""Build, check, write and lint mergekit YAML.

Public API (called by the axolotl integration and the CLI):

- :func:`build_slerp_config` a YAML-ready SLERP dict with absolute local paths
- :func:`check_merge_config` problems, one readable line each (empty = valid)
- :func:`write_merge_config` validate, then write atomically
- :func:`inspect_config` / :func:`lint_file` problems plus the checks that had to be skipped

Checks = mergekit's own ``MergeConfiguration`` + the strict mirror in :mod:`.schema` + what
mergekit 0.1.5 lets through (see /work/shared/NOTES.md): the method's input contract (slerp:
exactly two models, base among them), t within [0, 1], layer ranges equal and in bounds,
filters that match the architecture's transformers-5 tensor names, absolute local paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from dada_plugin import seed
from dada_plugin.errors import ConfigError
from dada_plugin.mergekit import models as M

SEED_BASE, SEED_T = seed.SEED_MERGE_BASE, seed.SEED_T
# (method, parameter) pairs whose values must lie in [0, 1]; outside, mergekit extrapolates.
UNIT_INTERVAL = {("slerp", "t"), ("nuslerp", "t")}
HEADER_MARK = "# mergekit config written by `dada merge-config`"  # how a file dada wrote begins
HEADER = (HEADER_MARK + "; lint it with\n"
          "#   dada merge-config --check {name}\n"
          "# then merge with `dada merge {name} OUT` (or `mergekit-yaml {name} OUT`).\n")


@dataclass
class Report:
    """Result of checking one config: failures, and checks that could not run offline."""

    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------- building

def parse_t(text) -> float | list[float]:
    """:func:`dada_plugin.seed.parse_t`, with ConfigError for the command line."""
    try:
        return seed.parse_t(text)
    except ValueError as exc:
        raise ConfigError(f"t: {exc}") from None


def t_setting(t=SEED_T, t_self_attn=None, t_mlp=None):
    """mergekit's ``t``: a scalar/gradient, or conditionals on transformers-5 names
    (``self_attn``, ``mlp``) ahead of the default."""
    if t_self_attn is None and t_mlp is None:
        return t
    conds = [{"filter": name, "value": value}
             for name, value in (("self_attn", t_self_attn), ("mlp", t_mlp)) if value is not None]
    return conds + [{"value": t}]


def build_slerp_config(base: str, model: str, t=SEED_T, lora: str | None = None,
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
            if M.ModelRef.parse(model).lora:
                raise ConfigError(f"model '{model}' already has an adapter; drop --lora or the '+'")
            model = f"{model}+{lora}"
        base, model = M.absolute(base), M.absolute(model)
        layers = {ref: M.num_layers(ref) for ref in (base, model)}
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if layers[base] != layers[model]:
        raise ConfigError(f"layer counts differ: {base} has {layers[base]}, {model} has {layers[model]}")
    if tokenizer_source == "model":
        tokenizer_source = M.ModelRef.parse(model).path
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
    if not M.ModelRef.parse(ref).lora:
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
    from dada_plugin.outputs import check_file

    check_file(output, {}, force=s.force, ours=HEADER_MARK)
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


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; ConfigError (one line) when unreadable, not YAML or with duplicate keys."""
    from dada_plugin.io import load_yaml as read

    return read(path)


def referenced_models(cfg: dict) -> list[str]:
    """Every model reference in a mergekit config, base first, in order, without duplicates."""
    refs = [cfg["base_model"]] if cfg.get("base_model") else []
    parts = [cfg] + list((cfg.get("modules") or {}).values())
    for part in parts:
        refs += [m["model"] for m in part.get("models") or []]
        refs += [src["model"] for s in part.get("slices") or [] for src in s.get("sources", [])]
    return list(dict.fromkeys(str(r) for r in refs))


def write_merge_config(cfg: dict, path) -> Path:
    """Validate ``cfg`` (ConfigError listing every problem) and write it atomically as YAML."""
    from dada_plugin.io import write_text

    problems = check_merge_config(cfg)
    if problems:
        raise ConfigError(problems, source=str(path))
    return write_text(path, HEADER.format(name=Path(path).name) + dump_yaml(cfg))


# ---------------------------------------------------------------------------- checking

def check_merge_config(cfg: dict) -> list[str]:
    """Every problem of a mergekit config, one readable line each; [] means valid."""
    return inspect_config(cfg).problems


def lint_file(path: str | Path, *, strict: bool = False) -> Report:
    """Check one YAML file (unreadable or invalid YAML is one problem line)."""
    try:
        cfg = load_yaml(path)
    except ConfigError as exc:
        return Report(problems=exc.problems)
    try:
        return inspect_config(cfg, strict=strict)
    except RecursionError:
        return Report(problems=["nested too deeply to check"])


def _mergekit_problems(cfg: dict) -> list[str]:
    """What mergekit's own ``MergeConfiguration`` says (it raises RuntimeError or ValidationError)."""
    from mergekit.config import MergeConfiguration

    from dada_plugin.errors import validation_lines

    try:
        MergeConfiguration.model_validate(cfg)
    except Exception as exc:  # noqa: BLE001 - mergekit's validators raise RuntimeError too
        if hasattr(exc, "errors"):
            return [f"mergekit: {line}" for line in validation_lines(exc)]
        return [f"mergekit: {exc}"]
    return []


def inspect_config(cfg: Any, *, strict: bool = False) -> Report:
    """All checks. ``strict``: local paths that are absent are problems (``dada merge``), not
    skipped checks (linting a config written for another machine)."""
    from pydantic import ValidationError

    from dada_plugin.errors import validation_lines

    from dada_plugin.mergekit.schema import MergeConfig

    if not isinstance(cfg, dict):
        return Report(problems=["a mergekit config must be a YAML mapping"])
    report = Report()
    try:
        parsed = MergeConfig.model_validate(cfg)
    except ValidationError as exc:
        report.problems.extend(line.replace("Extra inputs are not permitted",
                                            "unknown key (mergekit would silently ignore it)")
                               for line in validation_lines(exc))
        # Unknown keys alone should not hide the other problems: check again without them.
        if any(e["type"] != "extra_forbidden" for e in exc.errors()):
            return report
        parsed = MergeConfig.model_validate(_without(cfg, [e["loc"] for e in exc.errors()]))
    report.problems.extend(_mergekit_problems(cfg))
    _Checker(parsed, report, strict).run()
    return report


@dataclass
class _Group:
    """One set of tensors merged together: the top-level models, a slice, or a module's slice."""

    where: str
    inputs: list[tuple[str, str, tuple[int, int] | None]]  # (where, ref, layer_range)
    base: str | None
    models_form: bool


class _Checker:
    def __init__(self, cfg, report: Report, strict: bool):
        self.cfg, self.report, self.strict = cfg, report, strict
        self.infos: dict[str, M.ModelInfo | None] = {}

    def problem(self, line: str) -> None:
        if line not in self.report.problems:
            self.report.problems.append(line)

    def skip(self, line: str) -> None:
        if line not in self.report.skipped:
            self.report.skipped.append(line)

    # -- structure
    def groups(self) -> Iterator[_Group]:
        cfg = self.cfg

        def from_parts(prefix, slices, models):
            if models:
                yield _Group(prefix + "models", [(f"{prefix}models.{i}", m.model, None)
                                                 for i, m in enumerate(models)], cfg.base_model, True)
            for i, s in enumerate(slices or []):
                where = f"{prefix}slices.{i}"
                inputs = [(f"{where}.sources.{j}", src.model, src.layer_range)
                          for j, src in enumerate(s.sources)]
                yield _Group(where, inputs, s.base_model or cfg.base_model, False)

        yield from from_parts("", cfg.slices, cfg.models)
        for name, module in (cfg.modules or {}).items():
            yield from from_parts(f"modules.{name}.", module.slices, module.models)

    def parameter_dicts(self) -> Iterator[tuple[str, dict]]:
        cfg = self.cfg

        def from_parts(prefix, owner):
            yield f"{prefix}parameters", owner.parameters
            for i, m in enumerate(getattr(owner, "models", None) or []):
                yield f"{prefix}models.{i}.parameters", m.parameters
            for i, s in enumerate(getattr(owner, "slices", None) or []):
                yield f"{prefix}slices.{i}.parameters", s.parameters
                for j, src in enumerate(s.sources):
                    yield f"{prefix}slices.{i}.sources.{j}.parameters", src.parameters

        yield from from_parts("", cfg)
        for name, module in (cfg.modules or {}).items():
            yield from from_parts(f"modules.{name}.", module)

    # -- models
    def info(self, where: str, ref: str) -> M.ModelInfo | None:
        """Check one reference's paths; return what is known about its model (or None)."""
        if ref in self.infos:
            return self.infos[ref]
        parsed = M.ModelRef.parse(ref)
        info = None
        for part, path in (("model", parsed.path), ("adapter", parsed.lora)):
            if path is None:
                continue
            kind = M.path_kind(path)
            if kind == "relative":
                self.problem(f"{where}: {part} path '{path}' is relative; write it absolute "
                             "(mergekit looks up relative paths on the hub)")
                continue
            exists = kind == "local" and Path(path).exists()
            if kind == "local" and not exists and self.strict:
                self.problem(f"{where}: {part} '{path}' does not exist")
                continue
            if part == "adapter":
                if exists and not (Path(path) / "adapter_config.json").is_file():
                    self.problem(f"{where}: adapter '{path}' has no adapter_config.json "
                                 "(not a PEFT adapter)")
                elif exists:
                    trained_on = _adapter_base(Path(path))
                    if trained_on and not _same_model(trained_on, parsed.path):
                        self.problem(f"{where}: adapter '{path}' was trained on '{trained_on}', "
                                     f"not on '{parsed.path}' (folding it elsewhere merges silently wrong)")
                elif not exists:
                    why = "hub id" if kind == "hub" else "not on this machine"
                    self.skip(f"{where}: adapter '{path}' not checked ({why})")
                continue
            try:
                info = M.model_info(ref)
            except ValueError as exc:
                self.problem(f"{where}: {exc}")
        self.infos[ref] = info
        return info

    def known(self, where: str, ref: str, what: str) -> M.ModelInfo | None:
        info = self.info(where, ref)
        if info is not None and info.known:
            return info
        why = info.source if info is not None else "model not readable"
        self.skip(f"{where}: {what} not checked ({ref}: {why})")
        return None

    # -- checks
    def run(self) -> None:
        cfg = self.cfg
        if cfg.base_model:
            self.info("base_model", cfg.base_model)
        from mergekit.merge_methods.registry import get

        spec = get(cfg.merge_method).spec
        groups = list(self.groups())
        for group in groups:
            self.check_contract(group, spec)
            self.check_layers(group)
        self.check_architectures(groups)
        self.check_parameters(spec, groups)
        self.check_tokenizer()

    def check_contract(self, group: _Group, spec) -> None:
        from mergekit.merge_methods.base import BasePolicy

        contract, method = spec.contract, spec.name
        refs = [ref for _, ref, _ in group.inputs]
        for where, ref, _ in group.inputs:
            self.info(where, ref)
        base = group.base
        added = False
        if base is not None and group.models_form and base not in refs:
            refs, added = refs + [base], True  # mergekit adds the base to a models: list
        if contract.base == BasePolicy.REQUIRED:
            if base is None:
                self.problem(f"{group.where}: {method} needs a base_model (the t=0 end)")
            elif base not in refs:
                self.problem(f"{group.where}: base_model '{base}' is not among the sources")
        elif contract.base == BasePolicy.FORBIDDEN and base is not None:
            self.problem(f"{group.where}: {method} takes no base_model")
        low, high = contract.min_inputs, contract.max_inputs
        if len(refs) < low or (high is not None and len(refs) > high):
            want = (f"exactly {low}" if low == high else f"at least {low}" if high is None
                    else f"{low} to {high}")
            extra = f" (the base_model is added to the {len(refs) - 1} listed)" if added else ""
            self.problem(f"{group.where}: {method} takes {want} model(s), got {len(refs)}{extra}")
        if len(set(refs)) != len(refs):
            self.problem(f"{group.where}: the same model is listed twice")

    def check_layers(self, group: _Group) -> None:
        if group.models_form:
            counts = {}
            inputs = list(group.inputs)
            if group.base is not None and group.base not in [r for _, r, _ in inputs]:
                inputs.append(("base_model", group.base, None))
            for where, ref, _ in inputs:
                info = self.known(where, ref, "layer count")
                if info is not None:
                    counts[ref] = info.num_layers
            if len(set(counts.values())) > 1:
                listed = ", ".join(f"{ref}: {n}" for ref, n in counts.items())
                self.problem(f"{group.where}: layer counts differ ({listed})")
            return
        spans = {r[1] - r[0] for _, _, r in group.inputs}
        if len(spans) > 1:
            listed = ", ".join(str(list(r)) for _, _, r in group.inputs)
            self.problem(f"{group.where}: sources span different layer counts ({listed})")
        for where, ref, (start, end) in group.inputs:
            info = self.known(where, ref, "layer_range")
            if info is not None and end > info.num_layers:
                self.problem(f"{where}.layer_range: [{start}, {end}] is out of range: "
                             f"{ref} has {info.num_layers} layers")

    def check_architectures(self, groups: list[_Group]) -> None:
        archs = {}
        for group in groups:
            for _, ref, _ in group.inputs:
                info = self.infos.get(ref)
                if info is not None and info.architecture:
                    archs[ref] = info.architecture
        if len(set(archs.values())) > 1:
            listed = ", ".join(f"{ref}: {a}" for ref, a in archs.items())
            self.problem(f"models have different architectures ({listed})")

    def architecture(self) -> str | None:
        for info in self.infos.values():
            if info is not None and info.architecture:
                return info.architecture
        return None

    def check_parameters(self, spec, groups) -> None:
        known = {p.name: p for p in spec.parameters}
        arch = self.architecture()
        tensors = M.architecture_tensors(arch) if arch else None
        seen: dict[str, list] = {}
        for where, params in self.parameter_dicts():
            for name, setting in (params or {}).items():
                if name not in known:
                    takes = ", ".join(known) or "none"
                    self.problem(f"{where}.{name}: {spec.name} takes no parameter '{name}' "
                                 f"(it takes: {takes})")
                    continue
                seen.setdefault(name, []).append(setting)
                for cwhere, filt, value in _conditionals(f"{where}.{name}", setting):
                    if (spec.name, name) in UNIT_INTERVAL:
                        self.check_unit(cwhere, value)
                    if filt in (None, "*"):
                        continue
                    if tensors is None:
                        why = "no model readable offline" if arch is None else f"no tensor list for {arch}"
                        self.skip(f"{cwhere}.filter '{filt}' not checked ({why})")
                    elif not any(filt in t for t in tensors):
                        self.problem(f"{cwhere}.filter: '{filt}' matches no {arch} tensor, so the "
                                     f"default value is used everywhere{M.filter_hint(filt)}")
        for name, p in known.items():
            if p.required and name not in seen:
                self.problem(f"parameters: {spec.name} needs '{name}'")
            elif p.required and tensors is not None:
                missing = [t for t in tensors if not any(_covers(s, t) for s in seen[name])]
                if missing:
                    self.problem(f"parameters.{name}: no value for {', '.join(missing[:3])}"
                                 f"{' ...' if len(missing) > 3 else ''} (add an entry without filter)")

    def check_unit(self, where: str, value) -> None:
        for v in value if isinstance(value, list) else [value]:
            try:
                number = float(v)
            except (TypeError, ValueError):
                self.problem(f"{where}: '{v}' is not a number")
                continue
            if isinstance(v, bool) or not 0.0 <= number <= 1.0:
                self.problem(f"{where}: {v} is outside [0, 1] (slerp would extrapolate)")

    def check_tokenizer(self) -> None:
        source = self.cfg.tokenizer_source
        if source == "base" and not self.cfg.base_model:
            self.problem("tokenizer_source: 'base' needs a base_model")
        elif source not in (None, "base", "union"):
            self.info("tokenizer_source", source)


def _adapter_base(adapter: Path) -> str | None:
    import json

    try:
        return json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8")).get(
            "base_model_name_or_path")
    except (OSError, ValueError):
        return None


def _same_model(a: str, b: str) -> bool:
    """The same model named two ways: equal paths, or equal hub ids / final folder names."""
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return pa.name.lower() == pb.name.lower()


def _without(cfg: dict, locs: list[tuple]) -> dict:
    """A deep copy of ``cfg`` with the keys at ``locs`` (pydantic error locations) removed."""
    import copy

    cfg = copy.deepcopy(cfg)
    for loc in locs:
        node = cfg
        for key in loc[:-1]:
            node = node[key]
        node.pop(loc[-1], None)
    return cfg


def _conditionals(where: str, setting) -> Iterator[tuple[str, str | None, Any]]:
    """(where, filter, value) for each part of a setting; plain values have filter None."""
    if isinstance(setting, dict):
        yield where, setting.get("filter"), setting["value"]
    elif isinstance(setting, list) and setting and all(isinstance(c, dict) for c in setting):
        for i, cond in enumerate(setting):
            yield f"{where}.{i}", cond.get("filter"), cond["value"]
    else:
        yield where, None, setting


def _covers(setting, tensor: str) -> bool:
    return any(f in (None, "*") or f in tensor for _, f, _ in _conditionals("", setting))
