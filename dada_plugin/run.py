"""``dada run RECIPE.yml``: the DADA chain for real models from one recipe file.

Steps, in order: ``build`` (dada build) -> ``axolotl-config`` (writes WORKDIR/train/dada.yml) ->
``train`` (axolotl train) -> ``merge`` (mergekit SLERP of the adapter-folded model onto the
partner) -> ``gguf`` (Q8_0 by default, as the seed was tested) -> ``eval-dataset`` ->
``eval-models`` (the merge served by llama.cpp). Each can be run alone (``--only``), skipped
(``--skip``), and is skipped on a rerun once finished. ``dada demo`` is this chain on tiny
stand-ins.

Each section of the recipe is the settings model of its stage (the same object the stage's
command builds from its options), and each step prints the command rendered from those
settings: pasted into a shell, it does what the step did.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dada_plugin.axolotl.config import TrainSettings, write_config
from dada_plugin.axolotl.train import axolotl_train
from dada_plugin.errors import ConfigError
from dada_plugin.eval.evaluate import evaluate
from dada_plugin.eval.settings import EvalSettings
from dada_plugin.io import load_yaml
from dada_plugin.llamacpp.export import GgufSettings, export_gguf
from dada_plugin.mergekit.config import write_settings_config
from dada_plugin.mergekit.run import run_merge
from dada_plugin.mergekit.settings import CONFIG_FIELDS, RUN_FIELDS, MergeSettings
from dada_plugin.offline import OFFLINE
from dada_plugin.settings import Settings, command_line, opt
from dada_plugin.steps import Step, StepRunner
from dataset_builders.pipeline import build
from dataset_builders.settings import BuildSettings

# keys of a section that the chain sets from the other sections (a recipe may not set them)
CHAIN_SET = {"train": ("base_model", "dataset", "output_dir", "prepared_path", "merge_base", "merge_t"),
             "merge": ("method", "model", "lora", "axolotl_config"),
             "eval": ("dataset",)}
# axolotl keys the chain writes from those settings: train.overrides may not set them (the build's
# data, the adapter the merge reads, the row limit)
CHAIN_AXOLOTL_KEYS = ("base_model", "datasets", "output_dir", "dataset_prepared_path", "plugins",
                      "dada_slerp_base", "dada_slerp_t", "dada_max_row_tokens", "dada_check_rows")


class RunEval(EvalSettings):
    include_merge: bool = opt(True, "Also evaluate the merge as the model 'merge'.", cli=False)
    merge_via: Literal["llama.cpp", "transformers"] = opt(
        "llama.cpp", "How the merge is evaluated: its GGUF served by llama.cpp (the gguf step's "
                     "file, as the seed's model was tested) or the merged folder with transformers.",
        cli=False)


class Recipe(Settings):
    workdir: str = Field(description="the chain's folder (relative to the recipe)")
    base_model: str = Field(description="the model trained and merged (seed: Mixtral-Instruct-ITR-8x7B)")
    data: BuildSettings
    train: TrainSettings = Field(default_factory=TrainSettings)
    merge: MergeSettings = Field(default_factory=MergeSettings)
    gguf: GgufSettings = Field(default_factory=GgufSettings)
    eval: RunEval = Field(default_factory=RunEval)

    @model_validator(mode="after")
    def _chain_keys(self):
        problems = [f"{section}.{key}: set by the recipe's other sections, not here"
                    for section, keys in CHAIN_SET.items()
                    for key in keys if key in getattr(self, section).model_fields_set]
        if not self.data.input:
            problems.append("data.input: the Alpaca JSON/JSONL to build from is required")
        problems += [f"train.overrides.{key}: set by the chain (the built data, the adapter the merge "
                     "reads, the row limit), not here" for key in self.train.overrides if key in CHAIN_AXOLOTL_KEYS]
        if self.eval.include_merge and "merge" in self.eval.models:
            problems.append("eval.models.merge: the chain evaluates its own merge as 'merge'; name yours "
                            "otherwise, or set eval.include_merge: false")
        if "sequence_len" in self.train.model_fields_set and self.train.sequence_len != self.data.max_tokens:
            problems.append(f"train.sequence_len ({self.train.sequence_len}) and data.max_tokens "
                            f"({self.data.max_tokens}) must agree: the sample limit is one number "
                            "(leave train.sequence_len out and data.max_tokens is used)")
        elif self.train.pack_len and self.train.pack_len < self.data.max_tokens:
            problems.append(f"train.pack_len ({self.train.pack_len}) is shorter than data.max_tokens "
                            f"({self.data.max_tokens}), the training sample limit")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _path(value: str | None, root: Path) -> str | None:
    """A file or folder of the recipe: relative to the recipe's folder, made absolute."""
    return None if value is None else str((root / Path(value).expanduser()).resolve())


def _model(value: str | None, root: Path) -> str | None:
    """A model: a path (absolute, ``./``/``../``/``~``, or existing beside the recipe) becomes
    absolute; anything else (a URL, a hub id) stays as written."""
    if value is None or re.match(r"^[a-z]+://", value):
        return value
    candidate = root / Path(value).expanduser()
    return str(candidate.resolve()) if value.startswith((".", "~", "/")) or candidate.exists() else value


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError("a recipe is a YAML mapping", source=str(path))
    return resolve_paths(Recipe.model_validate(raw), path.resolve().parent)


def resolve_paths(recipe: Recipe, root: Path) -> Recipe:
    """Every path of the recipe made absolute against ``root`` (the recipe's folder)."""
    recipe.workdir = _path(recipe.workdir, root)
    d, t, m, e = recipe.data, recipe.train, recipe.merge, recipe.eval
    d.input, d.style_prompt = _path(d.input, root), _path(d.style_prompt, root)
    d.judge_prompt = _path(d.judge_prompt, root)
    d.tokenizer = _model(d.tokenizer, root)
    t.base_config, e.prompts = _path(t.base_config, root), _path(e.prompts, root)
    recipe.base_model = _model(recipe.base_model, root)
    m.base = _model(m.base, root)
    e.models = {k: _model(v, root) for k, v in e.models.items()}
    return recipe


class Chain:
    """The steps of one recipe: each stage's settings, completed with the chain's folders."""

    def __init__(self, recipe: Recipe):
        self.r = recipe
        self.work = Path(recipe.workdir)
        self.data = self.work / "data"
        self.train_dir = self.work / "train"
        self.axolotl_yaml = self.train_dir / "dada.yml"
        self.adapter = self.train_dir / "adapter"
        self.merge_yaml = self.work / "merge" / "slerp.yml"
        self.merged = self.work / "merged"
        self.eval_dir = self.work / "eval"
        self.gguf_file = self.work / "gguf" / f"merged-{recipe.gguf.outtype.upper()}.gguf"
        self.log_dir = self.work / "logs"
        r = recipe
        self.train_settings = r.train.model_copy(update={
            "base_model": r.base_model, "dataset": str(self.data / "dada.jsonl"),
            "output_dir": str(self.adapter), "prepared_path": str(self.train_dir / "prepared"),
            "merge_base": r.merge.base, "merge_t": r.merge.t, "sequence_len": r.data.max_tokens})
        self.merge_settings = r.merge.model_copy(update={
            "method": "slerp", "model": r.base_model, "lora": str(self.adapter),
            "axolotl_config": str(self.axolotl_yaml), "force": True})
        self.dataset_eval = EvalSettings(
            dataset=str(self.data / "dada.jsonl"), title="Dataset: original vs rewritten answers",
            progress=False, **r.eval.model_dump(include={"bootstrap", "bootstrap_seed",
                                                         "legacy_normalization", "charts"}))
        models = dict(r.eval.models)
        if r.eval.include_merge:
            models["merge"] = str(self.gguf_file if r.eval.merge_via == "llama.cpp" else self.merged)
        self.models_eval = EvalSettings(**{
            **r.eval.model_dump(exclude={"include_merge", "merge_via"}, exclude_unset=True), "models": models,
            "title": r.eval.title or f"Models: {', '.join(models)}"})

    # -- the commands each step runs, rendered from its settings ----------------------------
    def commands(self) -> dict[str, str]:
        env = [f"{k}={v}" for k, v in OFFLINE.items()]
        return {
            "build": command_line(["dada", "build", self.r.data.input, "-o", str(self.data)],
                                  self.r.data, skip=("input",)),
            "axolotl-config": command_line(["dada", "axolotl-config", "-o", str(self.axolotl_yaml)],
                                           self.train_settings),
            "train": f"cd {shlex.quote(str(self.train_dir))} && " + shlex.join(
                [*env, "axolotl", "train", self.axolotl_yaml.name, "--launcher", self.r.train.launcher]),
            "merge": command_line(["dada", "merge-config", "-o", str(self.merge_yaml)],
                                  self.merge_settings, skip=(*RUN_FIELDS, "force"))
            + " && " + command_line(["dada", "merge", str(self.merge_yaml), str(self.merged)],
                                    self.merge_settings, skip=CONFIG_FIELDS),
            "gguf": command_line(["dada", "gguf", str(self.merged), "-o", str(self.gguf_file)], self.r.gguf),
            "eval-dataset": command_line(["dada", "eval", "-o", str(self.eval_dir / "dataset")],
                                         self.dataset_eval),
            "eval-models": command_line(["dada", "eval", "-o", str(self.eval_dir / "models")], self.models_eval),
        }

    # -- steps -------------------------------------------------------------------------------
    def build(self):
        s = build(self.r.data.input, self.data, self.r.data).stats
        return {"kept": s["kept"], "records_read": s["records_read"], "stages": s["stages"],
                "token_lengths": s["token_lengths"]}

    def axolotl_config(self):
        write_config(self.train_settings, self.axolotl_yaml)
        return {"config": str(self.axolotl_yaml)}

    def train(self):
        result = axolotl_train(self.axolotl_yaml, self.log_dir / "axolotl-train.log", self.r.train.launcher)
        return {k: v for k, v in result.items() if k != "output"}

    def merge(self):
        from safetensors import safe_open

        # as the printed merge-config runs it: never over a slerp.yml the user edited
        write_settings_config(self.merge_settings.model_copy(update={"force": False}), self.merge_yaml)
        run_merge(self.merge_yaml, self.merged, self.merge_settings)
        tensors = sum(len(safe_open(str(f), "np").keys()) for f in self.merged.glob("*.safetensors"))
        return {"config": str(self.merge_yaml), "tensors": tensors, "card": str(self.merged / "README.md")}

    def gguf(self):
        export_gguf(self.merged, self.gguf_file, self.r.gguf)
        return {"gguf": str(self.gguf_file), "bytes": self.gguf_file.stat().st_size}

    def eval_dataset(self):
        evaluate(self.dataset_eval, self.eval_dir / "dataset")
        return {"report": str(self.eval_dir / "dataset" / "report.md")}

    def eval_models(self):
        if not self.models_eval.models:
            raise ConfigError("eval.models is empty and eval.include_merge is false: nothing to compare")
        result = evaluate(self.models_eval, self.eval_dir / "models")
        return {"report": str(self.eval_dir / "models" / "report.md"), "prompts": result["prompts"],
                "failures": result["failures"]}

    # -- the chain ---------------------------------------------------------------------------
    def steps(self, extra: Step | None = None) -> list[Step]:
        """The steps in order; ``extra`` (the demo's stand-in models) goes right after build."""
        r, cmd = self.r, self.commands()
        training = {"train": self.train_settings.model_dump(), "merge": self.merge_settings.model_dump()}
        steps = [
            Step("build", cmd["build"], self.build, r.data.model_dump(),
                 reads=(r.data.input, r.data.style_prompt, r.data.judge_prompt, r.data.tokenizer)),
            Step("axolotl-config", cmd["axolotl-config"], self.axolotl_config, training,
                 reads=(r.train.base_config, r.base_model)),
            Step("train", cmd["train"], self.train, training, reads=(r.base_model,)),
            Step("merge", cmd["merge"], self.merge, training, reads=(r.base_model, r.merge.base, self.adapter)),
            Step("gguf", cmd["gguf"], self.gguf, {**training, "gguf": r.gguf.model_dump()}),
            Step("eval-dataset", cmd["eval-dataset"], self.eval_dataset, self.dataset_eval.model_dump()),
            Step("eval-models", cmd["eval-models"], self.eval_models, self.models_eval.model_dump(),
                 reads=(r.eval.prompts, *r.eval.models.values())),
        ]
        if extra:  # the demo's stand-in models, right after build
            steps.insert([s.name for s in steps].index("build") + 1, extra)
        return steps


def select(steps: list[Step], only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    names = [s.name for s in steps]
    unknown = [n for n in (only or []) + (skip or []) if n not in names]
    if unknown:
        raise ConfigError(f"unknown step(s): {', '.join(unknown)}; steps are: {', '.join(names)}")
    return [n for n in names if (not only or n in only) and n not in (skip or [])]


def check_steps(chain: Chain, selected: list[str]) -> None:
    """What the selected steps need and the recipe lacks, refused before any step runs (a dry
    run included): a step that could only fail later."""
    from dataset_builders.rewrite import BACKENDS

    r, problems = chain.r, []
    if "eval-models" in selected and not chain.models_eval.models:
        problems.append("eval-models: no model to evaluate (eval.models is empty and "
                        "eval.include_merge is false); add eval.models or skip the step")
    if "build" in selected:
        backend = BACKENDS.get(r.data.backend)
        if backend is not None and backend.needs_model and not r.data.model:
            problems.append(f"data.model: required by the {r.data.backend!r} backend (build step)")
        if r.data.backend == "openai" and not r.data.base_urls:
            problems.append("data.base_urls: required by the 'openai' backend (build step)")
    if problems:
        raise ConfigError(problems, source="the recipe")


def run_recipe(path: str | Path, *, only=None, skip=None, force: bool = False, dry_run: bool = False,
               echo=print) -> dict:
    chain = Chain(load_recipe(path))
    steps = chain.steps()
    selected = select(steps, only, skip)
    check_steps(chain, selected)
    if dry_run:
        chosen = [s for s in steps if s.name in selected]
        for i, step in enumerate(chosen, 1):
            echo(f"[{i}/{len(chosen)}] {step.name}: {step.command}")
        return {}
    return StepRunner(chain.work, echo=echo, force=force).run(steps, selected)
