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
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from dada_plugin.errors import InputError, StepError
from dada_plugin.steps import Step, StepRunner

TINY_CONFIG = "tiny-cpu-lora.yml"
EVAL_PROMPTS = 6
EVAL_NEW_TOKENS = 24


def sample_path() -> Path:
    return Path(str(files("dada_plugin") / "data" / "alpaca_sample.json"))


def shipped_config(name: str) -> Path:
    """A YAML of the repository's axolotl_configs/ (the demo runs from a source checkout)."""
    path = Path(__file__).resolve().parents[1] / "axolotl_configs" / name
    if not path.is_file():
        raise InputError(path, "not found: dada demo needs a source checkout (axolotl_configs/)")
    return path


def axolotl_train(config: Path, log: Path) -> str:
    """``axolotl train CONFIG --launcher python``, offline and without telemetry."""
    from dada_plugin.tiny import offline_env

    exe = Path(sys.executable).with_name("axolotl")
    proc = subprocess.run([str(exe), "train", str(config), "--launcher", "python"], cwd=config.parent,
                          env=offline_env(), capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    log.write_text(output, encoding="utf-8")
    if proc.returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        raise StepError("train", f"axolotl exited with {proc.returncode}: {last}", str(log))
    return output


def safetensors_count(folder: Path) -> int:
    from safetensors import safe_open

    return sum(len(safe_open(str(f), "np").keys()) for f in sorted(folder.glob("*.safetensors")))


class Demo:
    def __init__(self, out: Path):
        self.out = out
        self.data = out / "data"
        self.itr, self.verdict = out / "models" / "itr-stand-in", out / "models" / "verdict-stand-in"
        self.train_dir = out / "train"
        self.adapter = self.train_dir / "adapter"
        self.merged = out / "merged"
        self.eval_dir = out / "eval"

    def build(self):
        from dataset_builders.pipeline import BuildOptions, build

        result = build(sample_path(), self.data, BuildOptions(backend="heuristic", progress=False))
        return {"kept": result.stats["kept"], "records_read": result.stats["records_read"],
                "stages": result.stats["stages"], "token_lengths": result.stats["token_lengths"]}

    def models(self):
        from dada_plugin.tiny import build_tiny_mixtral

        build_tiny_mixtral(self.itr, seed=0)
        build_tiny_mixtral(self.verdict, seed=1)
        return {"itr": str(self.itr), "verdict": str(self.verdict)}

    def train(self):
        import yaml

        cfg = yaml.safe_load(shipped_config(TINY_CONFIG).read_text(encoding="utf-8"))
        cfg.update(base_model=str(self.itr), dada_slerp_base=str(self.verdict),
                   output_dir=str(self.adapter), dataset_prepared_path=str(self.train_dir / "prepared"),
                   adapter="qlora", load_in_4bit=True)
        cfg["datasets"][0]["path"] = str(self.data / "dada.jsonl")
        config = self.train_dir / "dada.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        output = axolotl_train(config, self.out / "logs" / "axolotl-train.log")
        losses = [float(x) for x in re.findall(r"'loss': '([^']+)'", output)]
        trainable = re.search(r"trainable params: ([\d,]+)", output)
        return {"losses": losses, "config": str(config),
                "trainable_params": int(trainable.group(1).replace(",", "")) if trainable else None}

    def merge(self):
        from dada_plugin.mergekit.config import build_slerp_config, write_merge_config
        from dada_plugin.mergekit.run import run_merge

        cfg = build_slerp_config(str(self.verdict), str(self.itr), t=0.5, lora=str(self.adapter),
                                 dtype="float32")
        config = write_merge_config(cfg, self.out / "merge" / "slerp.yml")
        run_merge(config, self.merged, axolotl_config=self.train_dir / "dada.yml", force=True,
                  echo=None)
        return {"config": str(config), "tensors": safetensors_count(self.merged),
                "card": str(self.merged / "README.md")}

    def eval_dataset(self):
        from dada_plugin.eval.report import write_report
        from dada_plugin.eval.sources import read_source

        columns = read_source(self.data / "dada.jsonl").columns
        write_report(columns, self.eval_dir / "dataset", title="Dataset: original vs rewritten answers")
        return {"report": str(self.eval_dir / "dataset" / "report.md")}

    def eval_models(self):
        from dada_plugin.eval.generate import default_prompts, generate
        from dada_plugin.eval.report import write_report
        from dataset_builders.rewrite import BackendOptions

        prompts = default_prompts(EVAL_PROMPTS // 2, EVAL_PROMPTS // 2)
        sampling = BackendOptions(temperature=0.0, max_new_tokens=EVAL_NEW_TOKENS, batch_size=EVAL_PROMPTS)
        columns, _ = generate([f"base={self.itr}", f"merge={self.merged}"], prompts,
                              self.eval_dir / "models", sampling, progress=False)
        write_report(columns, self.eval_dir / "models", title="Models: base vs merge (random stand-ins)")
        return {"report": str(self.eval_dir / "models" / "report.md"), "prompts": len(prompts)}

    def steps(self) -> list[Step]:
        return [
            Step("build", f"dada build alpaca_data.json -o {self.data} --backend openai --model MODEL "
                          "--base-url http://127.0.0.1:8000/v1   (demo: --backend heuristic)", self.build),
            Step("models", "(GPU box: the real Mixtral-Instruct-ITR-8x7B and Verdict-8x7B; "
                           "demo: tiny random stand-ins with the real tokenizer)", self.models),
            Step("train", f"axolotl train {self.train_dir / 'dada.yml'}   (GPU: dada axolotl-config "
                          "-o dada.yml --dataset out/dada.jsonl)", self.train),
            Step("merge", f"mergekit-yaml {self.out / 'merge' / 'slerp.yml'} {self.merged}   "
                          "(or: dada merge slerp.yml merged/)", self.merge),
            Step("eval-dataset", f"dada eval --dataset {self.data / 'dada.jsonl'} -o {self.eval_dir / 'dataset'}",
                 self.eval_dataset),
            Step("eval-models", f"dada eval -o {self.eval_dir / 'models'} --model base=PATH_OR_URL "
                                "--model merge=PATH_OR_URL", self.eval_models),
        ]


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


KEY_METRICS = ("slop_list_matches_per_1k_words", "slop_trigram_matches_per_1k_words",
               "antislop_phrase_matches_per_1k_words", "lexical_diversity.mattr_500",
               "avg_sentence_length", "flesch_kincaid_grade")


def write_report(out: Path, results: dict) -> Path:
    from dada_plugin import io

    b, t, m = results["build"], results["train"], results["merge"]
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
              f"Trainable parameters: {t['trainable_params']:,}; loss per step: "
              + ", ".join(f"{x:.4f}" for x in t["losses"]) + ".", "",
              "## 3. Merge (`mergekit-yaml`, SLERP t = 0.5)", "",
              f"Merged model: {m['tensors']} tensors; model card: `{m['card']}`.", "",
              "## 4. Evaluation", "", "### Dataset: original vs rewritten answers", ""]
    lines += _metrics_table(out / "eval" / "dataset" / "report.json", KEY_METRICS)
    lines += ["", "Full report: `eval/dataset/report.md`; charts: `eval/dataset/charts/`.", "",
              "![slop words](eval/dataset/charts/slop_list_matches_per_1k_words.png)", "",
              "### Models: base (ITR stand-in) vs merge", ""]
    lines += _metrics_table(out / "eval" / "models" / "report.json", KEY_METRICS)
    lines += ["", "Full report: `eval/models/report.md`.", "", "## Step times", "",
              "| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {r['seconds']} |" for name, r in results.items()]
    return io.write_text(out / "report.md", "\n".join(lines) + "\n")


def run_demo(out: str | Path, echo=print, force: bool = False) -> Path:
    out = Path(out).resolve()
    results = StepRunner(out, echo=echo, force=force).run(Demo(out).steps())
    return write_report(out, results)
