"""The whole chain: `dada demo` for real (build, tiny models, axolotl QLoRA, mergekit, eval)."""

import json
import math
import re

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import StepError
from dada_plugin.steps import Step, StepRunner

STEPS = ["build", "models", "axolotl-config", "train", "merge", "gguf", "eval-dataset", "eval-models"]


@pytest.mark.demo
@pytest.mark.slow
@pytest.mark.llamacpp
def test_demo_end_to_end_and_rerun_skips(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(dada, ["demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    heads = re.findall(r"^\[(\d)/8\] ([a-z-]+): ", result.output, re.M)
    assert [name for _, name in heads] == STEPS
    assert "axolotl train " in result.output and "dada merge " in result.output
    assert result.output.endswith(f"report: {out / 'report.md'}\n")

    report = (out / "report.md").read_text()
    assert "Kept **87** of 100 records" in report  # 5 not simplified enough, 7 over 128 tokens
    losses = [float(x) for x in re.search(r"loss per step: (.*)\.$", report, re.M).group(1).split(", ")]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    tensors = int(re.search(r"Merged model: (\d+) tensors", report).group(1))
    assert tensors == 41  # tiny Mixtral in the Hub layout: embed, norm, lm_head + 19 per layer (4 experts x 3)
    card = (out / "merged" / "README.md").read_text()
    assert "- mergekit" in card and "- dada" in card and "dada_slerp_base" in card  # both YAMLs
    dataset = json.loads((out / "eval" / "dataset" / "report.json").read_text())
    assert set(dataset["models"]) == {"original_answer", "answer"}
    assert (out / "eval" / "dataset" / "charts" / "slop_list_matches_per_1k_words.png").read_bytes()[:4] == b"\x89PNG"
    models = json.loads((out / "eval" / "models" / "report.json").read_text())
    assert set(models["models"]) == {"base", "merge"}
    assert models["models"]["merge"]["sample_count"] == 6  # the merge's Q8_0 GGUF, served by llama.cpp
    assert (out / "gguf" / "merged-Q8_0.gguf").read_bytes()[:4] == b"GGUF"

    again = CliRunner().invoke(dada, ["demo", "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped (finished earlier") == 8


def test_failed_step_names_itself_and_its_log(tmp_path):
    def boom():
        print("working...")
        raise RuntimeError("no space left")

    ran = []
    steps = [Step("first", "dada first", lambda: ran.append(1) or {"n": 1}),
             Step("second", "dada second", boom), Step("third", "dada third", lambda: ran.append(3))]
    lines = []
    with pytest.raises(StepError) as info:
        StepRunner(tmp_path, echo=lines.append).run(steps)
    log = tmp_path / "logs" / "second.log"
    assert str(info.value) == f"step 'second' failed: RuntimeError: no space left (log: {log})"
    assert "working..." in log.read_text() and "Traceback" in log.read_text()
    assert ran == [1]
    assert lines == ["[1/3] first: dada first", "      done in 0.0 s", "[2/3] second: dada second"]
    # a rerun skips the finished step and retries the failed one
    lines.clear()
    steps[1] = Step("second", "dada second", lambda: {"ok": True})
    results = StepRunner(tmp_path, echo=lines.append).run(steps)
    assert lines[0].startswith("[1/3] first: dada first\n      skipped (finished earlier")
    assert results["first"]["n"] == 1 and ran == [1, 3]


def test_a_long_steps_progress_bars_reach_the_console(tmp_path, capfd):
    """A step marked ``progress``: its tqdm frames (its own or a tool's it passes on) are shown on
    the console, one line redrawn; everything still goes to its log; a plain step shows nothing."""
    import sys

    def work():
        print("loading model...")
        sys.stderr.write("  3/10 [00:03<00:07,  1.00s/it]\r 10/10 [00:10<00:00,  1.00s/it]\n")
        return {}

    StepRunner(tmp_path, echo=lambda line: None).run([Step("train", "axolotl train x.yml", work, progress=True),
                                                      Step("quiet", "x", work)])
    err = capfd.readouterr().err
    assert "train: 3/10 [00:03<00:07" in err and "train: 10/10 [00:10<00:00" in err and "loading" not in err
    assert "quiet:" not in err
    assert "loading model..." in (tmp_path / "logs" / "train.log").read_text()
    assert "10/10" in (tmp_path / "logs" / "quiet.log").read_text()
