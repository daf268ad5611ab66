"""``dada demo``: the whole DADA chain on embedded defaults, on a CPU, offline, in minutes.

Bundled Alpaca sample (100 records, CC BY-NC 4.0) -> ``dada build`` (heuristic rewriter, real
Mixtral tokenizer) -> two tiny random Mixtrals (real tokenizer, fixed seeds) standing in for
Mixtral-Instruct-ITR and Verdict -> ``axolotl train`` (QLoRA on CPU, a few steps) ->
``mergekit-yaml`` SLERP (the DADA adapter folded onto the ITR stand-in, Verdict stand-in as
base, t = 0.5) -> evaluation (dataset: original vs rewritten; models: base vs merge) ->
DIR/report.md with PNG charts and the merged model's card.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from dada_plugin import io
from dada_plugin.axolotl.config import TrainSettings
from dada_plugin.data import sample_path
from dada_plugin.errors import InputError
from dada_plugin.llamacpp.export import export_gguf
from dada_plugin.mergekit.settings import MergeSettings
from dada_plugin.run import Chain, Recipe, RunEval
from dada_plugin.steps import Step, StepRunner
from dada_plugin.tiny import build_tiny_mixtral
from dataset_builders.settings import BuildSettings

TINY_CONFIG = "tiny-cpu-lora.yml"
EVAL_PROMPTS = 6
EVAL_NEW_TOKENS = 24


def shipped_config(name: str) -> Path:
    """A YAML of axolotl_configs/ (installed with the package)."""
    path = Path(str(files("axolotl_configs") / name))
    if not path.is_file():
        raise InputError(path, "not found: reinstall dada (axolotl_configs/ ships with it)")
    return path


def demo_recipe(out: Path) -> Recipe:
    """The recipe ``dada run`` would take, with tiny stand-ins for the two Mixtrals."""
    itr, verdict = out / "models" / "itr-stand-in", out / "models" / "verdict-stand-in"
    base_gguf = out / "models" / "itr-stand-in-Q8_0.gguf"
    return Recipe(
        workdir=str(out), base_model=str(itr),
        data=BuildSettings(input=str(sample_path()), backend="heuristic"),
        train=TrainSettings(base_config=str(shipped_config(TINY_CONFIG)), launcher="python",
                            overrides={"adapter": "qlora", "load_in_4bit": True}),
        merge=MergeSettings(base=str(verdict), t=0.5, dtype="float32"),
        eval=RunEval(models={"base": str(base_gguf)}, n_prompts=EVAL_PROMPTS, temperature=0.0,
                     max_new_tokens=EVAL_NEW_TOKENS),
    )


def demo_steps(out: Path) -> list[Step]:
    recipe = demo_recipe(out)
    itr, verdict = Path(recipe.base_model), Path(recipe.merge.base)

    base_gguf = Path(recipe.eval.models["base"])

    def models():
        build_tiny_mixtral(itr, seed=0)
        build_tiny_mixtral(verdict, seed=1)
        export_gguf(itr, base_gguf)  # the base, as llama.cpp serves it, for the side by side
        return {"itr": str(itr), "verdict": str(verdict), "base_gguf": str(base_gguf)}

    stand_ins = Step("models", "(GPU box: the real Mixtral-Instruct-ITR-8x7B and Verdict-8x7B, and "
                               "`dada gguf` of the base; demo: tiny random stand-ins with the real "
                               "tokenizer)", models)
    return Chain(recipe).steps(extra=stand_ins)


def _metrics_table(report_json: Path, names: tuple[str, ...]) -> list[str]:
    report = json.loads(report_json.read_text(encoding="utf-8"))
    models = report["models"]
    lines = ["| metric | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for name in names:
        cells = []
        for m in models.values():
            value = m["metrics"]
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            cells.append("-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


KEY_METRICS = ("slop_score", "slop_list_matches_per_1k_words", "slop_trigram_matches_per_1k_words",
               "antislop_phrase_matches_per_1k_words", "lexical_diversity.mattr_500",
               "avg_sentence_length", "vocab_level")


def write_demo_report(out: Path, results: dict) -> Path:

    b, t, m = results["build"], results["train"], results["merge"]
    trainable = f"{t['trainable_params']:,}" if t.get("trainable_params") else "not reported"
    lines = ["# DADA demo report", "",
             "**Stand-ins, not results:** the bundled 100-record Alpaca sample, the rule-based "
             "heuristic rewriter (not an LLM), and tiny random Mixtrals (hidden 64, 2 layers, 4 "
             "experts, the real Mixtral tokenizer) in place of Mixtral-Instruct-ITR-8x7B and "
             "Verdict-8x7B. The numbers show the chain works, not what DADA does to a real model.",
             "", "## 1. Dataset (`dada build`)", "",
             "| stage | in | out | rejected |", "|---|---|---|---|"]
    for name, s in b["stages"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["rejected"].items())) or "-"
        lines.append(f"| {name} | {s['in']} | {s['out']} | {reasons} |")
    lines += ["", f"Kept **{b['kept']}** of {b['records_read']} records; token lengths "
                  f"min {b['token_lengths'].get('min')}, mean {b['token_lengths'].get('mean')}, "
                  f"max {b['token_lengths'].get('max')} (cut at 128).", "",
              "## 2. Training (`axolotl train`, QLoRA, CPU)", "",
              f"Trainable parameters: {trainable}; loss per step: "
              + ", ".join(f"{x:.4f}" for x in t["losses"]) + ".", "",
              "## 3. Merge (`mergekit-yaml`, SLERP t = 0.5)", "",
              f"Merged model: {m['tensors']} tensors in the Hub's Mixtral layout; model card: "
              f"`{m['card']}`.", "",
              "## 4. GGUF for llama.cpp (`dada gguf`, Q8_0)", "",
              f"`{results['gguf']['gguf']}` ({results['gguf']['bytes']:,} bytes): llama.cpp serves it "
              "below; `llama-server -m` it, or open it in koboldcpp.", "",
              "## 5. Evaluation", "", "### Dataset: original vs rewritten answers", ""]
    lines += _metrics_table(out / "eval" / "dataset" / "report.json", KEY_METRICS)
    lines += ["", "Full report: `eval/dataset/report.md`; charts: `eval/dataset/charts/`.", "",
              "![slop words](eval/dataset/charts/slop_list_matches_per_1k_words.png)", "",
              "### Models: base (ITR stand-in) vs merge, both Q8_0 GGUFs served by llama.cpp", ""]
    lines += _metrics_table(out / "eval" / "models" / "report.json", KEY_METRICS)
    lines += ["", "Full report: `eval/models/report.md`.", "", "## Step times", "",
              "| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {r['seconds']} |" for name, r in results.items()]
    return io.write_text(out / "report.md", "\n".join(lines) + "\n")


def run_demo(out: str | Path, echo=print, force: bool = False) -> Path:
    out = Path(out).resolve()
    runner = StepRunner(out, echo=echo, force=force)
    results = runner.run(demo_steps(out))
    report = write_demo_report(out, results)
    runner.folder.record(["report.md"])
    return report
