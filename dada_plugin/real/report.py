"""The figures of ``dada demo --real``: OUT/report.json (pinned layout), OUT/report.md (tables and
a chart of the paired differences with their intervals) and the merge's model card."""

from __future__ import annotations

from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from dada_plugin import io

SHOWN = (("slop_score", "Slop Score"), ("slop_list_matches_per_1k_words", "slop words /1k"),
         ("slop_trigram_matches_per_1k_words", "slop trigrams /1k"), ("not_x_but_y_per_1k_chars", "not-x-but-y /1k chars"),
         ("mattr_500", "MATTR-500"))
MEASURED = "## Measured by `dada demo --real`"
PACKAGES = ("dada", "torch", "transformers", "peft", "axolotl", "mergekit", "llama-cpp-python", "gguf")
PAIRS = ("base+prompt_vs_base", "sft-original_vs_base", "dada_vs_base", "merge_vs_base",
         "dada_vs_sft-original", "merge_vs_sft-original")


def _versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _mean_ci(values: dict, cis: dict) -> dict:
    return {name: {"mean": value, "ci95": list(cis.get(name, [value, value]))} for name, value in values.items()}


def figures(samples: dict, seed: int, n_resamples: int = 1000) -> tuple[dict, dict]:
    """(arms, paired) in report.json's layout from {arm: [(prompt, reply), ...]}."""
    from dada_plugin.eval.report import evaluate

    main = evaluate(samples, n_resamples=n_resamples, seed=seed)  # each arm minus the first (base)
    arms = {arm: {"metrics": _mean_ci(m["values"], m["ci"]), "samples": m["sample_count"]}
            for arm, m in main["models"].items()}
    paired = {}
    for arm, p in main["paired"].items():
        paired[f"{arm}_vs_{p['minus']}"] = _pair(p)
    control = {k: samples[k] for k in ("sft-original", "dada", "merge") if samples.get(k)}
    if "sft-original" in control and len(control) > 1:
        for arm, p in evaluate(control, n_resamples=n_resamples, seed=seed)["paired"].items():
            paired[f"{arm}_vs_{p['minus']}"] = _pair(p)
    return arms, paired


def _pair(p: dict) -> dict:
    return {"prompts": p["prompts"], **{m: {"mean": d["difference"], "ci95": list(d["ci"])}
                                        for m, d in p["metrics"].items()}}


def f(x) -> str:
    return "n/a" if x is None else f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def ci(d: dict) -> str:
    lo, hi = d["ci95"]
    return f"{f(d['mean'] if 'mean' in d else d['value'])} [{f(lo)}, {f(hi)}]"


def markdown(report: dict) -> str:
    run, s = report["run"], report["run"]["settings"]
    steps = run["steps"]
    lines = [
        "# DADA on a real model: google/gemma-3-270m, five arms", "",
        f"Model: {report['model']['id']} (the pretrained base; Gemma Terms of Use), Q8_0 GGUFs in llama.cpp. "
        f"Data: the bundled 100-record Alpaca sample (CC BY-NC 4.0) built in the gemma3 format; "
        f"{run['data']['train']} records train, {run['data']['heldout']} held out. Rewriter: dada's offline "
        "heuristic rewriter (rule-based, NOT an LLM): it shortens and simplifies, and the model learns its rough "
        "grammar too. Training: the same LoRA (r=16, every linear layer), "
        f"{s['steps']} steps x {s['micro_batch']} rows, lr {s['learning_rate']}, seed {s['seed']}, "
        f"{'bfloat16 autocast' if run['cpu']['bf16'] else 'float32'} on {run['cpu']['cores']} CPU cores; "
        f"merge: SLERP of dada onto the base, t = 0.5. Prompts: {s['prompts']} slop-score prompts "
        f"(seeded sample), {s['new_tokens']} new tokens, temperature {s['temperature']}, the same for every arm. "
        f"Wall time: {f(steps.get('total'))} s.", "",
        "## Arms", "",
        "| arm | " + " | ".join(label for _, label in SHOWN) + " | perplexity (held-out answers) | degenerate "
        "| failed |",
        "| --- |" + " ---: |" * (len(SHOWN) + 3),
    ]
    for arm in report["perplexity"]:
        a, rate = report["arms"].get(arm), report["degenerate_rate"].get(arm)
        cells = [ci(a["metrics"][m]) for m, _ in SHOWN] if a else ["no replies"] * len(SHOWN)
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {ci(report['perplexity'][arm])} | "
                     f"{'n/a' if rate is None else f'{rate:.0%}'} | {report.get('failed_replies', {}).get(arm, 0)} |")
    lines += ["", "Each cell: value [95 % bootstrap interval over prompts; perplexity: over held-out records]. "
              "Lower Slop Score and slop rates are better; higher MATTR is more varied language.", "",
              "## Paired differences", "",
              "| pair | prompts | " + " | ".join(f"Δ {label}" for _, label in SHOWN) + " |",
              "| --- | ---: |" + " ---: |" * len(SHOWN)]
    for pair in PAIRS:
        if pair in report["paired"]:
            p = report["paired"][pair]
            lines.append(f"| {pair.replace('_vs_', ' − ')} | {p['prompts']} | "
                         + " | ".join(ci(p[m]) for m, _ in SHOWN) + " |")
    lines += ["", "An interval that excludes 0 is a difference these prompts resolve; one that includes 0 is "
              "\"no significant change\".", "",
              *(["![paired differences](charts/paired_differences.png)", ""] if report.get("chart") else []),
              "## Definitions", "",
              f"- Degenerate reply: {report['degenerate_definition']}.",
              "- Perplexity: exp(mean negative log-likelihood) of the held-out human-written answer tokens and "
              "their end of turn, given the question in the arm's own prompt (base+prompt: with its instruction), "
              "scored by llama.cpp on the arm's GGUF.",
              "- base in Gemma's turn format is a pretrained model that never learned to answer; training on "
              "any answers changes that, so the rewrite's own effect is dada (and merge) against sft-original.",
              "", "## Run", "",
              f"Steps (seconds): {', '.join(f'{k} {f(v)}' for k, v in steps.items())}.",
              f"Packages: {', '.join(f'{k} {v}' for k, v in run['packages'].items() if v)}.",
              f"CPU: {run['cpu']['model']} ({run['cpu']['cores']} cores; bfloat16: {run['cpu']['bf16']}).", ""]
    return "\n".join(lines)


def chart(report: dict, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    pairs = [p for p in PAIRS if p in report["paired"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(pairs) + 1.6))
    for ax, (metric, label) in zip(axes, (SHOWN[0], SHOWN[-1])):
        means = [report["paired"][p][metric]["mean"] for p in pairs]
        lows = [max(0.0, m - report["paired"][p][metric]["ci95"][0]) for p, m in zip(pairs, means)]
        highs = [max(0.0, report["paired"][p][metric]["ci95"][1] - m) for p, m in zip(pairs, means)]
        ax.errorbar(means, range(len(pairs)), xerr=[lows, highs], fmt="o", capsize=4)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(range(len(pairs)), [p.replace("_vs_", " − ") for p in pairs])
        ax.invert_yaxis()
        ax.set_title(f"Δ {label} (95 % interval)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_real_report(demo, timings: dict) -> dict:
    from dada_plugin.real import model as M
    from dada_plugin.real.demo import cpu_flags, read_json
    from dada_plugin.real.quality import DEGENERATE_DEFINITION

    out, s = demo.out, demo.s
    generated = read_json(out / "eval" / "samples.json")
    samples = {arm: [tuple(x) for x in rows] for arm, rows in generated["samples"].items() if rows}
    quality = read_json(out / "eval" / "quality.json")
    arms, paired = figures(samples, s.seed)
    results = timings.get("results", {})
    report = {
        "model": {"id": M.MODEL_ID, "license": M.LICENSE, "source_gguf_sha256": M.SHA256},
        "arms": arms, "paired": paired,
        "perplexity": {arm: {"value": q["value"], "ci95": q["ci95"]} for arm, q in quality["perplexity"].items()},
        "degenerate_rate": quality["degenerate_rate"], "degenerate_definition": DEGENERATE_DEFINITION,
        "failed_replies": generated["failures"],
        "run": {"settings": asdict(s), "seeds": {"split": s.seed, "prompts": s.seed, "training": s.seed,
                                                 "sampling": s.seed, "bootstrap": s.seed},
                "prompts": demo.prompt_sample(), "data": results.get("data", {}),
                "losses": {arm: results.get(f"train-{arm}", {}).get("losses") for arm in ("dada", "sft-original")},
                "steps": timings["steps"], "packages": _versions(), "cpu": cpu_flags()},
    }
    drawn = chart(report, out / "charts" / "paired_differences.png")
    report["chart"] = str(drawn.relative_to(out)) if drawn else None
    io.write_json(out / "report.json", report)
    text = markdown(report)
    io.write_text(out / "report.md", text)
    card = demo.models["merge"] / "README.md"
    if card.is_file():  # the figures replace an earlier run's
        head = io.read_text(card).split(MEASURED, 1)[0].rstrip()
        io.write_text(card, head + "\n\n" + MEASURED + "\n\n"
                      + text.split("## Arms", 1)[1].split("## Definitions", 1)[0].strip()
                      .replace("](charts/", f"]({Path('..') / '..' / 'charts'}/") + "\n")
    return report
