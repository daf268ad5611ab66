"""``dada demo``: the whole DADA chain on embedded defaults, on a CPU, offline.

Bundled Alpaca sample (100 records, CC BY-NC 4.0) -> ``dada build`` with the heuristic
rewriter and the real Mixtral tokenizer -> (further steps: tiny stand-in models, axolotl
QLoRA training, mergekit SLERP, evaluation) -> DIR/report.md.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from dada_plugin.steps import Step, StepRunner


def sample_path() -> Path:
    return Path(str(files("dada_plugin") / "data" / "alpaca_sample.json"))


def demo_steps(out: Path) -> list[Step]:
    data = out / "data"

    def build_step():
        from dataset_builders.pipeline import BuildOptions, build

        result = build(sample_path(), data, BuildOptions(backend="heuristic", progress=False))
        return {"kept": result.stats["kept"], "records_read": result.stats["records_read"],
                "stages": result.stats["stages"]}

    return [
        Step("build", f"dada build alpaca_data.json -o {data} --backend openai --model ... "
                      "--base-url http://127.0.0.1:8000/v1   (demo: --backend heuristic)", build_step),
    ]


def write_report(out: Path, results: dict) -> Path:
    from dada_plugin import io

    b = results["build"]
    lines = ["# DADA demo report", "",
             "Stand-ins: the bundled 100-record Alpaca sample, the rule-based heuristic rewriter "
             "(not an LLM).", "",
             "## Dataset", "", "| stage | in | out | rejected |", "|---|---|---|---|"]
    for name, s in b["stages"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["rejected"].items())) or "-"
        lines.append(f"| {name} | {s['in']} | {s['out']} | {reasons} |")
    lines += ["", f"Kept {b['kept']} of {b['records_read']} records "
                  f"(`{out / 'data' / 'dada.jsonl'}`).", ""]
    lines += ["## Step times", "", "| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {r['seconds']} |" for name, r in results.items()]
    return io.write_text(out / "report.md", "\n".join(lines) + "\n")


def run_demo(out: str | Path, echo=print, force: bool = False) -> Path:
    out = Path(out)
    results = StepRunner(out, echo=echo, force=force).run(demo_steps(out))
    return write_report(out, results)
