"""``dada run RECIPE.yml``: the DADA chain for real models from one recipe file.

Steps, in order: ``build`` (dada build) -> ``axolotl-config`` (writes WORKDIR/train/dada.yml) ->
``train`` (axolotl train) -> ``merge`` (mergekit SLERP of the adapter-folded model onto the
partner) -> ``eval-dataset`` -> ``eval-models``. Each can be run alone (``--only``), skipped
(``--skip``), and is skipped on a rerun once finished. ``dada demo`` is this chain on tiny
stand-ins.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dada_plugin.errors import ConfigError
from dada_plugin.steps import Step

STEP_NAMES = ("build", "axolotl-config", "train", "merge", "eval-dataset", "eval-models")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataSection(_Strict):
    input: str = Field(description="Alpaca JSON/JSONL")
    backend: Literal["openai", "transformers", "heuristic", "none"] = "openai"
    model: str | None = None
    base_urls: list[str] = Field(default_factory=list)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1)
    temperature: float = Field(0.7, ge=0, le=2)
    max_new_tokens: int = Field(256, ge=1)
    seed: int | None = None
    style_prompt: str | None = None
    tokenizer: str | None = None
    max_tokens: int = Field(128, ge=8)


class TrainSection(_Strict):
    config: str | None = Field(None, description="an axolotl YAML to start from (paths are set by dada)")
    recipe: dict[str, Any] = Field(default_factory=dict,
                                   description="dada axolotl-config options when no config is given")
    overrides: dict[str, Any] = Field(default_factory=dict, description="axolotl keys set last")
    launcher: Literal["accelerate", "python"] = "accelerate"

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, value: dict) -> dict:
        from dada_plugin.axolotl.recipe import RecipeOptions

        fixed = {"base_model", "dataset", "output_dir", "merge_base", "merge_t"} & set(value)
        if fixed:
            raise ValueError(f"set by the recipe's other sections, not here: {', '.join(sorted(fixed))}")
        from pydantic import ValidationError

        from dada_plugin.errors import validation_lines

        try:
            RecipeOptions(**value)
        except ValidationError as exc:
            raise ValueError("; ".join(validation_lines(exc))) from None
        return value


class MergeSection(_Strict):
    base: str = Field(description="the merge partner, the t = 0 end (seed: Verdict-8x7B)")
    t: float | list[float] = 0.5
    dtype: str = "bfloat16"

    @field_validator("t")
    @classmethod
    def _t(cls, value):
        for v in value if isinstance(value, list) else [value]:
            if not 0 <= v <= 1:
                raise ValueError(f"t must be within [0, 1], got {v}")
        return value


class EvalSection(_Strict):
    models: dict[str, str] = Field(default_factory=dict, description="NAME: URL or PATH")
    include_merge: bool = True
    prompts: str | None = None
    n_prompts: int | None = Field(None, ge=2, description="size of the default prompt subset")
    temperature: float = Field(0.7, ge=0, le=2)
    max_new_tokens: int = Field(512, ge=1)
    seed: int | None = None


class Recipe(_Strict):
    workdir: str
    base_model: str = Field(description="the model trained and merged (seed: Mixtral-Instruct-ITR-8x7B)")
    data: DataSection
    train: TrainSection = Field(default_factory=TrainSection)
    merge: MergeSection
    eval: EvalSection = Field(default_factory=EvalSection)


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
    from dada_plugin.io import load_yaml

    path = Path(path)
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError("a recipe is a YAML mapping", source=str(path))
    recipe = Recipe.model_validate(raw)
    root = path.resolve().parent
    recipe.workdir = _path(recipe.workdir, root)
    recipe.data.input = _path(recipe.data.input, root)
    recipe.data.style_prompt = _path(recipe.data.style_prompt, root)
    recipe.train.config = _path(recipe.train.config, root)
    recipe.eval.prompts = _path(recipe.eval.prompts, root)
    recipe.base_model = _model(recipe.base_model, root)
    recipe.merge.base = _model(recipe.merge.base, root)
    recipe.eval.models = {k: _model(v, root) for k, v in recipe.eval.models.items()}
    return recipe


class Chain:
    """The steps of one recipe, with the folders they share."""

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

    # -- steps -------------------------------------------------------------------------------
    def build(self):
        from dataset_builders.pipeline import BuildOptions, build
        from dataset_builders.rewrite import BackendOptions

        d = self.r.data
        backend = BackendOptions(model=d.model, base_urls=d.base_urls, api_key_env=d.api_key_env,
                                 concurrency=d.concurrency, temperature=d.temperature,
                                 max_new_tokens=d.max_new_tokens, seed=d.seed)
        result = build(d.input, self.data, BuildOptions(
            backend=d.backend, backend_options=backend, style_prompt=d.style_prompt,
            tokenizer=d.tokenizer, max_tokens=d.max_tokens, progress=False))
        s = result.stats
        return {"kept": s["kept"], "records_read": s["records_read"], "stages": s["stages"],
                "token_lengths": s["token_lengths"]}

    def axolotl_config(self):
        import yaml

        from dada_plugin.axolotl.validate import validate_axolotl_config
        from dada_plugin.io import load_yaml, write_text

        t, m = self.r.train, self.r.merge
        paths = {"base_model": self.r.base_model, "output_dir": str(self.adapter),
                 "dataset_prepared_path": str(self.train_dir / "prepared"),
                 "dada_slerp_base": m.base, "dada_slerp_t": m.t if not isinstance(m.t, list) else 0.5}
        if t.config:
            cfg = load_yaml(t.config)
            if not isinstance(cfg, dict) or not isinstance(cfg.get("datasets"), list) or not cfg["datasets"]:
                raise ConfigError("an axolotl config with a datasets list", source=t.config)
            cfg.update(paths)
            cfg["datasets"][0]["path"] = str(self.data / "dada.jsonl")
            text = None
        else:
            from dada_plugin.axolotl.recipe import RecipeOptions, make_recipe

            options = RecipeOptions(base_model=self.r.base_model, dataset=str(self.data / "dada.jsonl"),
                                    output_dir=str(self.adapter), merge_base=m.base,
                                    merge_t=paths["dada_slerp_t"], **t.recipe)
            text, cfg, _ = make_recipe(options)
        if t.overrides or text is None:
            cfg.update(t.overrides)
            validate_axolotl_config(cfg, source=str(self.axolotl_yaml))
            text = yaml.safe_dump(cfg, sort_keys=False)
        write_text(self.axolotl_yaml, text)
        return {"config": str(self.axolotl_yaml)}

    def train(self):
        from dada_plugin.axolotl.train import axolotl_train

        result = axolotl_train(self.axolotl_yaml, self.work / "logs" / "axolotl-train.log",
                               self.r.train.launcher)
        return {k: v for k, v in result.items() if k != "output"}

    def merge(self):
        from dada_plugin.mergekit.config import build_slerp_config, write_merge_config
        from dada_plugin.mergekit.run import run_merge

        m = self.r.merge
        cfg = build_slerp_config(m.base, self.r.base_model, t=m.t, lora=str(self.adapter), dtype=m.dtype)
        write_merge_config(cfg, self.merge_yaml)
        run_merge(self.merge_yaml, self.merged, axolotl_config=self.axolotl_yaml, force=True, echo=None)
        from safetensors import safe_open

        tensors = sum(len(safe_open(str(f), "np").keys()) for f in self.merged.glob("*.safetensors"))
        return {"config": str(self.merge_yaml), "tensors": tensors, "card": str(self.merged / "README.md")}

    def eval_dataset(self):
        from dada_plugin.eval.report import write_report
        from dada_plugin.eval.sources import read_source

        out = self.eval_dir / "dataset"
        write_report(read_source(self.data / "dada.jsonl").columns, out,
                     title="Dataset: original vs rewritten answers")
        return {"report": str(out / "report.md")}

    def eval_models(self):
        from dada_plugin.eval.generate import compare_models, default_prompts, read_prompts
        from dataset_builders.rewrite import BackendOptions

        e = self.r.eval
        models = dict(e.models)
        if e.include_merge:
            models["merge"] = str(self.merged)
        if not models:
            raise ConfigError("eval.models is empty and eval.include_merge is false: nothing to compare")
        if e.prompts:
            prompts = read_prompts(e.prompts)
        elif e.n_prompts:
            prompts = default_prompts(e.n_prompts // 2, e.n_prompts - e.n_prompts // 2)
        else:
            prompts = default_prompts()
        sampling = BackendOptions(temperature=e.temperature, max_new_tokens=e.max_new_tokens,
                                  seed=e.seed, batch_size=min(len(prompts), 16))
        out = self.eval_dir / "models"
        result = compare_models([f"{k}={v}" for k, v in models.items()], prompts, out, sampling,
                                progress=False, title=f"Models: {', '.join(models)}")
        return {"report": str(out / "report.md"), "prompts": len(prompts), "failures": result["failures"]}

    # -- the chain ---------------------------------------------------------------------------
    def commands(self) -> dict[str, str]:
        """What each step runs, as a user would type it (shell-quoted)."""
        r, d, e, m = self.r, self.r.data, self.r.eval, self.r.merge
        build = ["dada", "build", d.input, "-o", str(self.data), "--backend", d.backend]
        build += ["--model", d.model] if d.model else []
        for url in d.base_urls:
            build += ["--base-url", url]
        build += ["--concurrency", str(d.concurrency)] if d.backend == "openai" else []
        t = m.t if not isinstance(m.t, list) else ",".join(str(v) for v in m.t)
        merge_config = ["dada", "merge-config", "-o", str(self.merge_yaml), "--base", m.base,
                        "--model", r.base_model, "--lora", str(self.adapter), "--t", str(t),
                        "--dtype", m.dtype, "--force"]
        merge = ["dada", "merge", str(self.merge_yaml), str(self.merged), "--axolotl-config",
                 str(self.axolotl_yaml), "--force"]
        models = [f"{k}={v}" for k, v in e.models.items()]
        models += [f"merge={self.merged}"] if e.include_merge else []
        evaluate = ["dada", "eval", "-o", str(self.eval_dir / "models")]
        for spec in models:
            evaluate += ["--model", spec]
        return {
            "build": shlex.join(build),
            "axolotl-config": shlex.join(["dada", "axolotl-config", "-o", str(self.axolotl_yaml),
                                          "--dataset", str(self.data / "dada.jsonl")]),
            "train": shlex.join(["axolotl", "train", str(self.axolotl_yaml), "--launcher", r.train.launcher]),
            "merge": f"{shlex.join(merge_config)} && {shlex.join(merge)}",
            "eval-dataset": shlex.join(["dada", "eval", "--dataset", str(self.data / "dada.jsonl"),
                                        "-o", str(self.eval_dir / "dataset")]),
            "eval-models": shlex.join(evaluate),
        }

    def steps(self) -> list[Step]:
        r, d, e = self.r, self.r.data, self.r.eval
        training = {"base_model": r.base_model, "train": r.train.model_dump(), "merge": r.merge.model_dump()}
        cmd = self.commands()
        return [
            Step("build", cmd["build"], self.build, d.model_dump(), reads=(d.input, d.style_prompt, d.tokenizer)),
            Step("axolotl-config", cmd["axolotl-config"], self.axolotl_config, training,
                 reads=(r.train.config, r.base_model)),
            Step("train", cmd["train"], self.train, training, reads=(r.base_model,)),
            Step("merge", cmd["merge"], self.merge, training, reads=(r.base_model, r.merge.base, self.adapter)),
            Step("eval-dataset", cmd["eval-dataset"], self.eval_dataset),
            Step("eval-models", cmd["eval-models"], self.eval_models, e.model_dump(),
                 reads=(e.prompts, *e.models.values())),
        ]


def select(steps: list[Step], only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    names = [s.name for s in steps]
    unknown = [n for n in (only or []) + (skip or []) if n not in names]
    if unknown:
        raise ConfigError(f"unknown step(s): {', '.join(unknown)}; steps are: {', '.join(names)}")
    return [n for n in names if (not only or n in only) and n not in (skip or [])]


def run_recipe(path: str | Path, *, only=None, skip=None, force: bool = False, dry_run: bool = False,
               echo=print) -> dict:
    from dada_plugin.steps import StepRunner

    chain = Chain(load_recipe(path))
    steps = chain.steps()
    selected = select(steps, only, skip)
    if dry_run:
        chosen = [s for s in steps if s.name in selected]
        for i, step in enumerate(chosen, 1):
            echo(f"[{i}/{len(chosen)}] {step.name}: {step.command}")
        return {}
    return StepRunner(chain.work, echo=echo, force=force).run(steps, selected)
