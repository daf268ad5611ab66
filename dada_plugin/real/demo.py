"""``dada demo --real -o OUT``: the recipe on google/gemma-3-270m on a CPU, five arms side by side.

model (assembled, checked, converted once; its Q8_0 GGUF) -> data (``dada build`` of the bundled
Alpaca sample in the gemma3 format, the offline heuristic rewriter; a seeded part held out) ->
train-dada and train-original (the same axolotl LoRA, steps and seed, on the rewrites and on the
original answers) -> fold (each adapter folded in) -> merge (the seed's SLERP of dada onto the
base, t = 0.5) -> gguf (Q8_0, the release's own vocabulary, the Gemma licence) -> generate (five
arms on one seeded sample of slop-score's prompts) -> quality (perplexity on the held-out answers,
degenerate replies) -> report (OUT/report.md, OUT/report.json, the merge's card).

Arms: ``base``; ``base+prompt`` (the base told to answer in short, simple words like a small
child); ``sft-original`` (the control that isolates the rewrite); ``dada``; ``merge``.
"""

from __future__ import annotations

import platform
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from dada_plugin import io
from dada_plugin.steps import Step, StepRunner

ARMS = ("base", "base+prompt", "sft-original", "dada", "merge")
TRAINED = ("sft-original", "dada")
CHILD_PROMPT = ("Answer in short, simple words, like a small child would: short sentences, easy words, "
                "no fancy language.")
CONFIG = "gemma3-270m-cpu-lora.yml"


@dataclass(frozen=True)
class RealSettings:
    steps: int = 100          # training steps of each LoRA
    prompts: int = 24         # slop-score prompts per arm
    new_tokens: int = 192     # most new tokens per reply
    heldout: int = 20         # Alpaca records held out for perplexity
    seed: int = 0             # data split, prompt sample, training and sampling
    micro_batch: int = 4
    learning_rate: float = 1e-4
    temperature: float = 0.7

    @classmethod
    def quick(cls) -> "RealSettings":
        return cls(steps=4, prompts=4, new_tokens=48, heldout=8)


def read_rows(path: Path) -> list[dict]:
    return [io.loads_json(line) for line in io.read_text(path).splitlines() if line.strip()]


def read_json(path: Path):
    return io.loads_json(io.read_text(path))


def cpu_flags() -> dict:
    flags: set[str] = set()
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import os

    return {"model": model, "cores": os.cpu_count(), "bf16": bool({"avx512_bf16", "amx_bf16"} & flags),
            "flags": sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c")))}


def answer_pair(fmt, question: str, answer: str, system: str | None = None) -> tuple[str, str]:
    """(text before the answer, text through the answer's end of turn) in ``fmt``."""
    pieces = fmt.pieces([(question, answer)], system)
    i = next(k for k, (_, trained) in enumerate(pieces) if trained)
    prefix = "".join(text for text, _ in pieces[:i])
    return prefix, prefix + pieces[i][0]


class RealDemo:
    def __init__(self, out: Path, s: RealSettings, echo: Callable[[str], None]):
        self.out, self.s, self.echo = out, s, echo
        self.hf: Path | None = None
        self.gguf = {arm: out / "gguf" / f"{arm}-Q8_0.gguf" for arm in ("base", *TRAINED, "merge")}
        self.data = out / "data"
        self.train = {arm: out / "train" / arm for arm in TRAINED}
        self.models = {arm: out / "models" / arm for arm in (*TRAINED, "merge")}

    # -- the settings each step runs with (its printed command is rendered from them)
    def gguf_settings(self):
        from dada_plugin.llamacpp.export import GgufSettings
        from dada_plugin.real import model as M

        return GgufSettings(vocab_from=str(M.cache_root() / M.GGUF_NAME), license=M.LICENSE)

    def build_settings(self):
        from dada_plugin.data import sample_path
        from dada_plugin.real.model import cache_root
        from dataset_builders.settings import BuildSettings

        return BuildSettings(input=str(sample_path()), backend="heuristic", tokenizer=str(cache_root() / "hf"),
                             progress=False)

    def train_settings(self, arm: str):
        from dada_plugin.axolotl.config import TrainSettings
        from dada_plugin.demo import shipped_config
        from dada_plugin.real.model import cache_root

        hf = str(cache_root() / "hf")
        data = self.data / ("train-dada.jsonl" if arm == "dada" else "train-original.jsonl")
        overrides = {"max_steps": self.s.steps, "seed": self.s.seed, "micro_batch_size": self.s.micro_batch,
                     "learning_rate": self.s.learning_rate, "bf16": cpu_flags()["bf16"], "dada_use_cpu": True,
                     "logging_steps": max(1, min(5, self.s.steps // 4))}
        return TrainSettings(base_config=str(shipped_config(CONFIG)), base_model=hf, dataset=str(data),
                             output_dir=str(self.train[arm]), prepared_path=str(self.out / "train" / f"{arm}-prepared"),
                             merge_base=hf if arm == "dada" else "", launcher="python", overrides=overrides)

    def merge_settings(self, arm: str):
        from dada_plugin.mergekit.settings import MergeSettings
        from dada_plugin.real.model import LICENSE, MODEL_ID, cache_root

        return MergeSettings(license=LICENSE, base_model_ids={str(cache_root() / "hf"): MODEL_ID}, force=True,
                             axolotl_config=str(self.out / "train" / f"{'dada' if arm == 'merge' else arm}.yml"))

    def commands(self) -> dict[str, str]:
        from dada_plugin.real.model import cache_root
        from dada_plugin.settings import command_line

        def gguf(src, dst) -> str:
            return command_line(["dada", "gguf", str(src), "-o", str(dst)], self.gguf_settings())

        def merge(arm: str) -> str:
            config = self.train["dada"] / "slerp.yml" if arm == "merge" else self.out / "train" / f"fold-{arm}.yml"
            return command_line(["dada", "merge", str(config), str(self.models[arm])], self.merge_settings(arm))

        def train(arm: str) -> str:
            path = self.out / "train" / f"{arm}.yml"
            return (command_line(["dada", "axolotl-config", "-o", str(path)], self.train_settings(arm),
                                 skip=("force", "launcher")) + f" && axolotl train {path} --launcher python")

        arms = " ".join(f"--model {a}={self.arm_gguf(a)}" for a in ARMS if a != "base+prompt")
        build = self.build_settings()
        return {
            "model": "make real  # google/gemma-3-270m, converted once; then: " + gguf(cache_root() / "hf",
                                                                                      self.gguf["base"]),
            "data": command_line(["dada", "build", build.input, "-o", str(self.data / "build")], build,
                                 skip=("input",)) + "  # then a seeded held-out split",
            **{f"train-{arm}": train(arm) for arm in ("dada", "sft-original")},
            "fold-merge": " && ".join(merge(arm) for arm in (*TRAINED, "merge")),
            "gguf": " && ".join(gguf(self.models[arm], self.gguf[arm]) for arm in (*TRAINED, "merge")),
            "generate": (f"dada eval -o {self.out / 'eval'} {arms} --n-prompts {self.s.prompts} --max-new-tokens "
                         f"{self.s.new_tokens} --gen-seed {self.s.seed}  # plus base+prompt: the base GGUF "
                         "with the child-speech instruction; prompts: a seeded sample of slop-score's"),
            "quality": "perplexity of the held-out answers in llama.cpp (each arm's GGUF); degenerate replies",
        }

    # -- the model
    def model(self) -> dict:
        from dada_plugin.llamacpp.export import export_gguf
        from dada_plugin.real import model as M

        self.hf = M.hf_folder(progress=print)
        export_gguf(self.hf, self.gguf["base"], self.gguf_settings())
        return {"hf": str(self.hf), "source": str(M.source_gguf()), "sha256": M.SHA256}

    def folder(self) -> Path:
        if self.hf is None:
            from dada_plugin.real.model import hf_folder

            self.hf = hf_folder(progress=print)
        return self.hf

    # -- data
    def build(self) -> dict:
        from dada_plugin.data import sample_path
        from dataset_builders.formats import get_format
        from dataset_builders.pipeline import build
        from dataset_builders.tokens import HFChatTokenizer

        folder = self.folder()
        build(sample_path(), self.data / "build", self.build_settings())
        rows = read_rows(self.data / "build" / "dada.jsonl")
        tok, fmt = HFChatTokenizer(str(folder)), get_format("gemma3")
        originals = tok.count_batch([[(r["question"], r["original_answer"])] for r in rows])
        both = [(r, n) for r, n in zip(rows, originals) if n <= 128]  # the control trains on the same questions
        random.Random(self.s.seed).shuffle(both)
        held, train = [r for r, _ in both[:self.s.heldout]], both[self.s.heldout:]
        original_rows = []
        for r, n in train:
            turns = [(r["question"], r["original_answer"])]
            original_rows.append({**r, "answer": r["original_answer"], "text": fmt.render(turns), "n_tokens": n,
                                  "messages": [{"role": "user", "content": r["question"]},
                                               {"role": "assistant", "content": r["original_answer"]}]})
        io.write_jsonl(self.data / "train-dada.jsonl", [r for r, _ in train])
        io.write_jsonl(self.data / "train-original.jsonl", original_rows)
        io.write_jsonl(self.data / "heldout.jsonl", held)
        return {"built": len(rows), "both_fit": len(both), "train": len(train), "heldout": len(held)}

    # -- training
    def train_config(self, arm: str) -> Path:
        from dada_plugin.axolotl.config import write_config

        self.folder()
        path = self.out / "train" / f"{arm}.yml"
        write_config(self.train_settings(arm), path)
        return path

    def train_arm(self, arm: str) -> dict:
        from dada_plugin.axolotl.train import axolotl_train

        result = axolotl_train(self.train_config(arm), self.out / "logs" / f"axolotl-{arm}.log",
                               echo=sys.stdout.write)  # its progress bar, to the console
        return {"losses": result["losses"], "trainable": result.get("trainable_params")}

    # -- fold, merge, gguf
    def fold(self) -> dict:
        from dada_plugin.mergekit.config import build_lora_fold_config, write_merge_config
        from dada_plugin.mergekit.run import run_merge
        from dada_plugin.real.model import LICENSE_FILES

        for arm in TRAINED:
            config = write_merge_config(build_lora_fold_config(str(self.folder()), str(self.train[arm]), "float32"),
                                        self.out / "train" / f"fold-{arm}.yml")
            run_merge(config, self.models[arm], self.merge_settings(arm))  # mergekit's progress shown
        run_merge(self.train["dada"] / "slerp.yml", self.models["merge"], self.merge_settings("merge"))
        for folder in self.models.values():  # the Gemma Terms of Use travel with every derived model
            for name in LICENSE_FILES:
                if (self.folder() / name).is_file():
                    shutil.copyfile(self.folder() / name, folder / name)
        return {arm: str(path) for arm, path in self.models.items()}

    def convert(self) -> dict:
        from dada_plugin.llamacpp.export import export_gguf

        for arm in (*TRAINED, "merge"):
            export_gguf(self.models[arm], self.gguf[arm], self.gguf_settings())
        return {arm: str(path) for arm, path in self.gguf.items()}

    # -- measure
    def prompt_sample(self) -> list[str]:
        from dada_plugin.text.lists import benchmark_prompts

        return random.Random(self.s.seed).sample(benchmark_prompts(), self.s.prompts)

    def arm_gguf(self, arm: str) -> Path:
        return self.gguf["base" if arm == "base+prompt" else arm]

    def generate(self) -> dict:
        from dada_plugin.eval.generate import generate
        from dataset_builders.rewrite import ClientOptions

        sampling = ClientOptions(temperature=self.s.temperature, max_new_tokens=self.s.new_tokens,
                                 seed=self.s.seed, concurrency=2, max_retries=2, timeout=600)
        folder = self.out / "eval"
        folder.mkdir(parents=True, exist_ok=True)
        samples, failures = generate([f"{arm}={self.arm_gguf(arm)}" for arm in ARMS], self.prompt_sample(), folder,
                                     sampling, progress=True, systems={"base+prompt": CHILD_PROMPT})
        io.write_json(folder / "samples.json", {"samples": samples, "failures": failures})
        return {"failures": failures, "samples": {arm: len(rows) for arm, rows in samples.items()}}

    def quality(self) -> dict:
        from dada_plugin.real.quality import answer_nll, degenerate, perplexity
        from dataset_builders.formats import get_format

        fmt = get_format("gemma3")
        held = read_rows(self.data / "heldout.jsonl")
        generated = read_json(self.out / "eval" / "samples.json")
        samples, failures = generated["samples"], generated["failures"]
        out: dict = {"perplexity": {}, "degenerate_rate": {}, "failed_replies": failures}
        for arm in ARMS:
            system = CHILD_PROMPT if arm == "base+prompt" else None
            pairs = [answer_pair(fmt, r["question"], r["original_answer"], system) for r in held]
            out["perplexity"][arm] = perplexity(answer_nll(self.arm_gguf(arm), pairs), seed=self.s.seed)
            replies = [text for _, text in samples.get(arm, [])]
            failed = failures.get(arm, 0)  # an empty reply or an error: degenerate too
            total = len(replies) + failed
            out["degenerate_rate"][arm] = (sum(map(degenerate, replies)) + failed) / total if total else None
        io.write_json(self.out / "eval" / "quality.json", out)
        return out

    def report(self, timings: dict) -> dict:
        from dada_plugin.real.report import write_real_report

        return write_real_report(self, timings)

    def steps(self) -> list[Step]:
        cmd, inputs = self.commands(), asdict(self.s)
        work = {"model": self.model, "data": self.build, "train-dada": lambda: self.train_arm("dada"),
                "train-sft-original": lambda: self.train_arm("sft-original"), "fold-merge": self.fold,
                "gguf": self.convert, "generate": self.generate, "quality": self.quality}
        quiet = {"data", "quality"}
        return [Step(name, cmd[name], run, inputs, progress=name not in quiet) for name, run in work.items()]


def run_real_demo(out: str | Path, quick: bool = False, echo: Callable[[str], None] = print,
                  force: bool = False, settings: RealSettings | None = None) -> Path:
    """Run the real demo into ``out``; returns OUT/report.md."""
    from dada_plugin.real.model import installed

    installed()  # one line saying how to install the model, before any folder is made
    out = Path(out)
    s = settings or (RealSettings.quick() if quick else RealSettings())
    demo = RealDemo(out, s, echo)
    runner = StepRunner(out, echo=echo, force=force)
    results = runner.run(demo.steps())
    timings = {name: r.get("seconds") for name, r in results.items()}
    timings["total"] = round(sum(t or 0 for t in timings.values()), 1)  # the steps' own times (a rerun skips)
    try:
        report = demo.report({"steps": timings, "results": results})
    finally:  # the report's files are the run's own: a rerun may replace them
        runner.folder.record(["report.md", "report.json", "charts"])
    empty = [arm for arm in ARMS if arm not in report["arms"]]
    if empty:  # an arm with no replies would read as "no slop"
        from dada_plugin.errors import ResultError

        raise ResultError(f"no replies from {', '.join(empty)} (see {out / 'logs' / 'generate.log'}); "
                          f"the report of the others is in {out / 'report.md'}")
    return out / "report.md"
