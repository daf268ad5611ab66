"""``dada eval``'s work, from its settings: dataset mode (original vs rewritten answers of a
dada.jsonl) or model mode (generate from every model on one prompt set, then compare)."""

from __future__ import annotations

from pathlib import Path

from dada_plugin.errors import ConfigError
from dada_plugin.eval.generate import compare_models, default_prompts, parse_model, read_prompts
from dada_plugin.eval.report import REPORT_DIRS, REPORT_FILES, claim_folder, write_report
from dada_plugin.eval.settings import MAX_BATCH, EvalSettings
from dada_plugin.eval.sources import read_source
from dataset_builders.rewrite import ClientOptions


def prompt_set(settings: EvalSettings) -> list[str]:
    if settings.prompts:
        return read_prompts(settings.prompts)
    if settings.n_prompts:
        return default_prompts(settings.n_prompts // 2, settings.n_prompts - settings.n_prompts // 2)
    return default_prompts()


def evaluate(settings: EvalSettings, output: str | Path) -> dict:
    """Write the report into ``output``; returns the written paths (and, in model mode, the
    failures per model)."""
    output = Path(output)
    report = {"legacy": settings.legacy_normalization, "n_resamples": settings.bootstrap,
              "seed": settings.bootstrap_seed, "charts": settings.charts}
    if settings.dataset:
        columns = read_source(settings.dataset).columns
        folder = claim_folder(output, settings.force, {"dataset": settings.dataset})
        title = settings.title or f"Slop and diversity: {Path(settings.dataset).name}"
        try:
            return {"paths": write_report(columns, output, title=title, **report), "failures": {}}
        finally:
            folder.record(REPORT_FILES + REPORT_DIRS)
    if not settings.models:
        raise ConfigError("give either --dataset or at least one --model")
    prompts = prompt_set(settings)
    client = settings.model_dump(include=set(ClientOptions.model_fields))
    client["batch_size"] = settings.batch_size or min(len(prompts), MAX_BATCH)
    options = ClientOptions(**client)  # checked before the folder is claimed, as the models are
    specs = [f"{k}={v}" for k, v in settings.models.items()]
    for spec in specs:
        parse_model(spec)
    folder = claim_folder(output, settings.force, {"prompts": settings.prompts}, creating=("cache",))
    try:
        return compare_models(specs, prompts, output, options, progress=settings.progress,
                              title=settings.title, **report)
    finally:
        folder.record(REPORT_FILES + REPORT_DIRS)
