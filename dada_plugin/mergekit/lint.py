"""Check mergekit YAML: mergekit's own ``MergeConfiguration`` parses it; dada adds only what
mergekit 0.1.5 lets through (see /work/shared/NOTES.md): unknown keys (found by walking
mergekit's own models, which ignore them), unknown methods and dtypes, reversed layer ranges,
the method's input contract (slerp: exactly two models, base among them), t within [0, 1],
layer ranges equal and in bounds, filters that match the architecture's transformers-5 tensor
names, absolute local paths, adapters folded into the model they were trained on.

- :func:`check_merge_config` problems, one readable line each (empty = valid)
- :func:`inspect_config` / :func:`lint_file` problems plus the checks that had to be skipped
"""

from __future__ import annotations

import copy
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel

from dada_plugin.errors import ConfigError, validation_lines
from dada_plugin.io import load_yaml
from dada_plugin.mergekit import models as M

# (method, parameter) pairs whose values must lie in [0, 1]; outside, mergekit extrapolates.
UNIT_INTERVAL = {("slerp", "t"), ("nuslerp", "t")}
# Names mergekit's dtype_from_name accepts for floating-point merges ("torch." prefix allowed).
KNOWN_DTYPES = ("bfloat16", "float16", "float32", "float64")
UNKNOWN = "unknown key (mergekit would silently ignore it)"


@dataclass
class Report:
    """Result of checking one config: failures, checks that could not run offline, notes."""

    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def inspect_config(cfg: Any, *, strict: bool = False) -> Report:
    """All checks. ``strict``: local paths that are absent are problems (``dada merge``), not
    skipped checks (linting a config written for another machine)."""
    from mergekit.config import MergeConfiguration

    if not isinstance(cfg, dict):
        return Report(problems=["a mergekit config must be a YAML mapping"])
    if "experts" in cfg and "merge_method" not in cfg:
        return inspect_moe(cfg, strict=strict)
    unknown, broken = unknown_keys(cfg, MergeConfiguration), value_problems(cfg)
    report = Report(problems=[f"{_where(loc)}: {UNKNOWN}" for loc in unknown] + broken)
    if broken:
        return report
    try:
        parsed = MergeConfiguration.model_validate(_without(cfg, unknown))
    except Exception as exc:  # noqa: BLE001 - mergekit's validators raise RuntimeError too
        lines = validation_lines(exc) if hasattr(exc, "errors") else [str(exc)]
        report.problems += [f"mergekit: {line}" for line in lines]
        return report
    _Checker(parsed, report, strict).run()
    return report


MOE = ("a mergekit-moe config (checked against mergekit's MoEMergeConfig; run it with "
       "mergekit-moe, not mergekit-yaml or dada merge)")
GATE_MODES = ("hidden", "cheap_embed", "random", "uniform_random")


def inspect_moe(cfg: dict, *, strict: bool = False) -> Report:
    """A mergekit-moe config: mergekit's MoEMergeConfig parses it; dada adds unknown keys, the
    gate mode, the expert count, the prompts mergekit-moe demands, dtype and the model paths.
    ``strict`` (``dada merge``): refused, since dada merge runs mergekit-yaml."""
    from mergekit.moe.config import MoEMergeConfig

    if strict:
        return Report(problems=[f"(top level): {MOE}"])
    unknown = unknown_keys(cfg, MoEMergeConfig)
    report = Report(problems=[f"{_where(loc)}: {UNKNOWN}" for loc in unknown], notes=[MOE])
    try:
        moe = MoEMergeConfig.model_validate(_without(cfg, unknown))
    except Exception as exc:  # noqa: BLE001 - as for MergeConfiguration
        report.problems += [f"mergekit-moe: {line}" for line in
                            (validation_lines(exc) if hasattr(exc, "errors") else [str(exc)])]
        return report
    if moe.gate_mode not in GATE_MODES:
        report.problems.append(f"gate_mode: unknown '{moe.gate_mode}' (one of {', '.join(GATE_MODES)})")
    if moe.dtype is not None and moe.dtype.removeprefix("torch.") not in KNOWN_DTYPES:
        report.problems.append(f"dtype: unknown dtype '{moe.dtype}' (use one of {', '.join(KNOWN_DTYPES)})")
    if not 1 <= moe.experts_per_token <= len(moe.experts):
        report.problems.append(f"experts_per_token: {moe.experts_per_token} must be between 1 and the "
                               f"number of experts ({len(moe.experts)})")
    if moe.gate_mode in ("hidden", "cheap_embed"):
        report.problems += [f"experts.{i}.positive_prompts: needed with gate_mode {moe.gate_mode}"
                            for i, e in enumerate(moe.experts) if not e.positive_prompts]
        prompts = {(tuple(e.positive_prompts or ()), tuple(e.negative_prompts or ())) for e in moe.experts}
        if len(moe.experts) > 1 and len(prompts) == 1:
            report.problems.append("experts: every expert has the same prompts (the router could not tell "
                                   "them apart)")
    checker = _Checker(None, report, strict)
    checker.info("base_model", str(moe.base_model))
    for label, experts in (("experts", moe.experts), ("shared_experts", moe.shared_experts or [])):
        for i, expert in enumerate(experts):
            checker.info(f"{label}.{i}.source_model", str(expert.source_model))
    return report


# ---------------------------------------------------------------------------- what mergekit lacks

def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _fits(value, annotation) -> bool:
    """Could ``value`` (parsed YAML) be meant as ``annotation``? (shape only)"""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return isinstance(value, dict)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        return isinstance(value, list) and (not value or not args or _fits(value[0], args[0]))
    if origin is dict:
        return isinstance(value, dict)
    return not isinstance(value, (dict, list))


def unknown_keys(value, annotation, loc: tuple = ()) -> list[tuple]:
    """Locations of keys in ``value`` that ``annotation`` (a mergekit model, walked through its
    fields, lists, dicts and unions) has no field for: mergekit drops them without a word."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        arm = next((a for a in typing.get_args(annotation) if _fits(value, a)), None)
        return unknown_keys(value, arm, loc) if arm is not None else []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return []
        fields = annotation.model_fields
        names = set(fields) | {f.alias for f in fields.values() if f.alias}
        found = [loc + (key,) for key in value if key not in names]
        for name, info in fields.items():
            if name in value:
                found += unknown_keys(value[name], info.annotation, loc + (name,))
        return found
    args = typing.get_args(annotation)
    if origin is list and isinstance(value, list) and args:
        return [k for i, item in enumerate(value) for k in unknown_keys(item, args[0], loc + (i,))]
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return [k for key, item in value.items() for k in unknown_keys(item, args[1], loc + (key,))]
    return []


def known_methods() -> tuple[str, ...]:
    """Merge method names registered in the installed mergekit."""
    from mergekit.merge_methods.registry import registered_methods

    return tuple(sorted(m.spec.name for m in registered_methods()))


def value_problems(cfg: dict) -> list[str]:
    """What mergekit's types let through and dada refuses: no single form, unknown method or
    dtype, a reversed layer range, tokenizer_source beside tokenizer."""
    problems = []
    given = [k for k in ("models", "slices", "modules") if cfg.get(k)]
    if len(given) != 1:
        problems.append(f"(top level): give exactly one of models, slices or modules (found: "
                        f"{', '.join(given) or 'none'})")
    method = cfg.get("merge_method")
    if method is None:
        problems.append("merge_method: missing")
    elif method not in known_methods():
        problems.append(f"merge_method: unknown merge method '{method}' (known: {', '.join(known_methods())})")
    for key in ("dtype", "out_dtype"):
        value = cfg.get(key)
        if value is not None and str(value).removeprefix("torch.") not in KNOWN_DTYPES:
            problems.append(f"{key}: unknown dtype '{value}' (use one of {', '.join(KNOWN_DTYPES)})")
    if cfg.get("tokenizer_source") and cfg.get("tokenizer"):
        problems.append("(top level): give tokenizer_source or tokenizer, not both")
    modules = cfg.get("modules") if isinstance(cfg.get("modules"), dict) else {}
    parts = [("", cfg), *((f"modules.{name}.", m) for name, m in modules.items() if isinstance(m, dict))]
    for prefix, part in parts:  # the config and each of its modules: the parts that hold slices
        for i, s in enumerate(part.get("slices") or []):
            for j, src in enumerate(s.get("sources") or [] if isinstance(s, dict) else []):
                rng = src.get("layer_range") if isinstance(src, dict) else None
                if (isinstance(rng, list) and len(rng) == 2 and all(isinstance(v, int) for v in rng)
                        and not 0 <= rng[0] < rng[1]):
                    problems.append(f"{prefix}slices.{i}.sources.{j}.layer_range: [{rng[0]}, {rng[1]}] "
                                    "must satisfy 0 <= start < end")
    return problems


def _plain(setting):
    """Parsed parameters as plain data (mergekit's ConditionalParameter as a dict)."""
    if isinstance(setting, BaseModel):
        return setting.model_dump()
    if isinstance(setting, list):
        return [_plain(v) for v in setting]
    if isinstance(setting, dict):
        return {k: _plain(v) for k, v in setting.items()}
    return setting


def _ref(ref) -> str | None:
    return None if ref is None else str(ref)


# ---------------------------------------------------------------------------- the checker

@dataclass
class _Group:
    """One set of tensors merged together: the top-level models, a slice, or a module's slice."""

    where: str
    inputs: list[tuple[str, str, tuple[int, int] | None]]  # (where, ref, layer_range)
    base: str | None
    models_form: bool

    @property
    def added_base(self) -> bool:
        """mergekit adds the base to a models: list that lacks it."""
        return self.base is not None and self.models_form and self.base not in [r for _, r, _ in self.inputs]


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
    def parts(self) -> Iterator[tuple[str, Any]]:
        """(where, part) for the config and each module: each has models, slices, parameters."""
        yield "", self.cfg
        for name, module in (self.cfg.modules or {}).items():
            yield f"modules.{name}.", module

    def groups(self) -> Iterator[_Group]:
        base = _ref(self.cfg.base_model)
        for prefix, part in self.parts():
            if part.models:
                yield _Group(prefix + "models", [(f"{prefix}models.{i}", str(m.model), None)
                                                 for i, m in enumerate(part.models)], base, True)
            for i, s in enumerate(part.slices or []):
                where = f"{prefix}slices.{i}"
                inputs = [(f"{where}.sources.{j}", str(src.model), tuple(src.layer_range))
                          for j, src in enumerate(s.sources)]
                yield _Group(where, inputs, _ref(s.base_model) or base, False)

    def parameter_dicts(self) -> Iterator[tuple[str, dict]]:
        for prefix, part in self.parts():
            yield f"{prefix}parameters", _plain(part.parameters or {})
            for i, m in enumerate(part.models or []):
                yield f"{prefix}models.{i}.parameters", _plain(m.parameters or {})
            for i, s in enumerate(part.slices or []):
                yield f"{prefix}slices.{i}.parameters", _plain(s.parameters or {})
                for j, src in enumerate(s.sources):
                    yield f"{prefix}slices.{i}.sources.{j}.parameters", _plain(src.parameters or {})

    # -- models
    def info(self, where: str, ref: str) -> M.ModelInfo | None:
        """Check one reference's paths; return what is known about its model (or None)."""
        if ref in self.infos:
            return self.infos[ref]
        model_path, lora_path = M.paths(ref)
        info = None
        for part, path in (("model", model_path), ("adapter", lora_path)):
            if path is None:
                continue
            kind = M.path_kind(path)
            if kind == "relative":
                self.problem(f"{where}: {part} path '{path}' is relative and not a folder here; write it "
                             "absolute (mergekit would look it up on the hub)")
                continue
            if kind == "hub-shaped":
                self.problem(f"{where}: {part} path '{path}' is a folder here but reads as a hub id "
                             f"(mergekit's card step would look it up on the hub); write ./{path} or "
                             "an absolute path")
                continue
            exists = kind == "local" and Path(path).exists()
            if kind == "local" and not exists and self.strict:
                self.problem(f"{where}: {part} '{path}' does not exist")
            elif part == "model":
                try:
                    info = M.model_info(ref)
                except ValueError as exc:
                    self.problem(f"{where}: {exc}")
            elif not exists:
                why = "hub id" if kind == "hub" else "not on this machine"
                self.skip(f"{where}: adapter '{path}' not checked ({why})")
            elif not (Path(path) / "adapter_config.json").is_file():
                self.problem(f"{where}: adapter '{path}' has no adapter_config.json (not a PEFT adapter)")
            elif (trained_on := _adapter_base(Path(path))) and not _same_model(trained_on, model_path):
                self.problem(f"{where}: adapter '{path}' was trained on '{trained_on}', "
                             f"not on '{model_path}' (folding it elsewhere merges silently wrong)")
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
            self.info("base_model", str(cfg.base_model))
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

        contract, method, base = spec.contract, spec.name, group.base
        for where, ref, _ in group.inputs:
            self.info(where, ref)
        refs = [ref for _, ref, _ in group.inputs] + ([base] if group.added_base else [])
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
            extra = f" (the base_model is added to the {len(refs) - 1} listed)" if group.added_base else ""
            self.problem(f"{group.where}: {method} takes {want} model(s), got {len(refs)}{extra}")
        if len(set(refs)) != len(refs):
            self.problem(f"{group.where}: the same model is listed twice")

    def check_layers(self, group: _Group) -> None:
        if group.models_form:
            counts = {}
            for where, ref, _ in group.inputs + ([("base_model", group.base, None)] if group.added_base else []):
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
        archs = {ref: info.architecture for group in groups for _, ref, _ in group.inputs
                 if (info := self.infos.get(ref)) is not None and info.architecture}
        if len(set(archs.values())) > 1:
            listed = ", ".join(f"{ref}: {a}" for ref, a in archs.items())
            self.problem(f"models have different architectures ({listed})")

    def architecture(self) -> str | None:
        return next((i.architecture for i in self.infos.values() if i is not None and i.architecture), None)

    def check_parameters(self, spec, groups) -> None:
        known = {p.name: p for p in spec.parameters}
        arch = self.architecture()
        tensors = M.architecture_tensors(arch) if arch else None
        seen: dict[str, list] = {}
        for where, params in self.parameter_dicts():
            for name, setting in params.items():
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
            self.info("tokenizer_source", str(source))


def _adapter_base(adapter: Path) -> str | None:
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
    """A deep copy of ``cfg`` with the keys at ``locs`` removed."""
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
