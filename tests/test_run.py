"""`dada run RECIPE.yml`: recipe validation, step selection, dry run, and real steps on the
fixture (the whole chain on tiny models runs in tests/test_demo.py through the same code)."""

import json

import yaml
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.run import load_recipe


def write_recipe(tmp_path, **changes):
    recipe = {
        "workdir": "work", "base_model": "Mixtral-Instruct-ITR-8x7B",
        "data": {"input": str(tmp_path / "alpaca.json"), "backend": "heuristic"},
        "merge": {"base": "Verdict-8x7B", "t": 0.5},
    }
    for key, value in changes.items():
        recipe[key] = value
    path = tmp_path / "recipe.yml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_paths_resolve_against_the_recipe_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    r = load_recipe(write_recipe(tmp_path, eval={"models": {"a": "http://h/v1", "b": "./m", "c": "org/model"}}))
    assert r.workdir == str(tmp_path / "work")
    assert r.base_model == "Mixtral-Instruct-ITR-8x7B"
    assert r.eval.models == {"a": "http://h/v1", "b": str(tmp_path / "m"), "c": "org/model"}


def test_bad_recipe_one_line_per_field(tmp_path):
    path = write_recipe(tmp_path, merge={"base": "V", "t": 1.5, "colour": "red"},
                        train={"lora_r": 0})
    result = CliRunner().invoke(dada, ["run", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: invalid Recipe:\n"
        "  train.lora_r: must be a positive integer, got 0\n"
        "  merge.t: must be within [0, 1] (0 = the merge base, 1 = the trained model), got 1.5\n"
        "  merge.colour: Extra inputs are not permitted\n")
    chain_set = write_recipe(tmp_path, train={"base_model": "x", "dataset": "y"}, eval={"dataset": "z"})
    result = CliRunner().invoke(dada, ["run", str(chain_set), "--dry-run"])
    assert result.output == (
        "Error: invalid Recipe:\n"
        "  (top level): train.base_model: set by the recipe's other sections, not here; train.dataset: "
        "set by the recipe's other sections, not here; eval.dataset: set by the recipe's other "
        "sections, not here\n")


def test_the_sample_limit_is_one_number(tmp_path):
    """data.max_tokens is the training row limit too (the printed axolotl-config command carries
    it); a train.sequence_len that disagrees is refused before any step, naming both keys."""
    path = write_recipe(tmp_path, data={"input": "alpaca.json", "backend": "heuristic", "max_tokens": 256})
    result = CliRunner().invoke(dada, ["run", str(path), "--dry-run", "--only", "axolotl-config"])
    assert result.exit_code == 0, result.output
    assert " --sequence-len 256" in result.output
    assert load_recipe(path).train.sequence_len == 128  # the section as written; the chain sets it
    agree = write_recipe(tmp_path, data={"input": "a.json", "max_tokens": 256}, train={"sequence_len": 256})
    assert CliRunner().invoke(dada, ["run", str(agree), "--dry-run"]).exit_code == 0
    clash = write_recipe(tmp_path, data={"input": "a.json", "max_tokens": 256}, train={"sequence_len": 128})
    result = CliRunner().invoke(dada, ["run", str(clash), "--dry-run"])
    assert result.exit_code == 1
    assert "train.sequence_len (128) and data.max_tokens (256) must agree" in result.output
    short = write_recipe(tmp_path, data={"input": "a.json", "max_tokens": 4096})
    result = CliRunner().invoke(dada, ["run", str(short), "--dry-run"])
    assert result.exit_code == 1 and "train.pack_len (2048) is shorter than data.max_tokens (4096)" in result.output


def test_dry_run_and_step_selection(tmp_path):
    path = write_recipe(tmp_path)
    work = tmp_path / "work"
    result = CliRunner().invoke(dada, ["run", str(path), "--dry-run", "--skip", "train,merge,gguf,eval-models"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"[1/3] build: dada build {tmp_path / 'alpaca.json'} -o {work / 'data'}\n"
        f"[2/3] axolotl-config: dada axolotl-config -o {work / 'train' / 'dada.yml'} --dataset "
        f"{work / 'data' / 'dada.jsonl'} --output-dir {work / 'train' / 'adapter'} --prepared-path "
        f"{work / 'train' / 'prepared'}\n"
        f"[3/3] eval-dataset: dada eval -o {work / 'eval' / 'dataset'} --dataset {work / 'data' / 'dada.jsonl'} "
        "--title 'Dataset: original vs rewritten answers' --no-progress\n")
    bad = CliRunner().invoke(dada, ["run", str(path), "--only", "build,deploy"])
    assert bad.exit_code == 1
    assert bad.output == ("Error: unknown step(s): deploy; steps are: build, axolotl-config, train, merge, "
                          "gguf, eval-dataset, eval-models\n")


def test_real_steps_build_config_eval(tmp_path, alpaca_path):
    (tmp_path / "alpaca.json").write_bytes(alpaca_path.read_bytes())
    path = write_recipe(tmp_path)
    result = CliRunner().invoke(dada, ["run", str(path), "--only", "build,axolotl-config,eval-dataset"])
    assert result.exit_code == 0, result.output
    work = tmp_path / "work"
    assert len((work / "data" / "dada.jsonl").read_text().splitlines()) == 87  # 5 not simplified enough, 7 over 128 tokens
    cfg = yaml.safe_load((work / "train" / "dada.yml").read_text())
    assert (cfg["base_model"], cfg["lora_r"], cfg["learning_rate"], cfg["num_epochs"]) == (
        "Mixtral-Instruct-ITR-8x7B", 512, 2e-6, 4)
    assert cfg["datasets"][0]["path"] == str(work / "data" / "dada.jsonl")
    assert cfg["output_dir"] == str(work / "train" / "adapter")
    assert cfg["dada_slerp_base"] == "Verdict-8x7B"
    report = json.loads((work / "eval" / "dataset" / "report.json").read_text())
    assert set(report["models"]) == {"original_answer", "answer"}
    again = CliRunner().invoke(dada, ["run", str(path), "--only", "build,eval-dataset"])
    assert again.output.count("skipped (finished earlier") == 2
    # a changed setting redoes its step and every step after it
    changed = write_recipe(tmp_path, data={"input": str(tmp_path / "alpaca.json"), "backend": "heuristic",
                                           "max_tokens": 64})
    redo = CliRunner().invoke(dada, ["run", str(changed), "--only", "build,eval-dataset"])
    assert redo.exit_code == 0, redo.output
    assert "skipped" not in redo.output
    assert len((work / "data" / "dada.jsonl").read_text().splitlines()) < 87


def test_a_changed_input_file_redoes_its_step(tmp_path):
    data = tmp_path / "alpaca.json"
    data.write_text(json.dumps([{"instruction": f"Say {i}.", "input": "", "output": f"{i}."} for i in range(5)]))
    path = write_recipe(tmp_path)
    assert CliRunner().invoke(dada, ["run", str(path), "--only", "build"]).exit_code == 0
    data.write_text(json.dumps([{"instruction": f"Say {i}.", "input": "", "output": f"{i}."} for i in range(40)]))
    redo = CliRunner().invoke(dada, ["run", str(path), "--only", "build"])
    assert redo.exit_code == 0, redo.output
    assert "skipped" not in redo.output
    assert len((tmp_path / "work" / "data" / "dada.jsonl").read_text().splitlines()) == 40


def test_workdir_holding_other_files_is_refused(tmp_path):
    (tmp_path / "alpaca.json").write_text("[]")
    path = write_recipe(tmp_path, workdir=".")
    result = CliRunner().invoke(dada, ["run", str(path), "--only", "build"])
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path}: is not empty and `dada run` did not write it; choose a "
                             "new or empty folder\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpaca.json", "recipe.yml"]


def test_dry_run_quotes_for_the_shell(tmp_path):
    import shlex

    path = write_recipe(tmp_path, workdir="my work", data={"input": "it's data.json", "backend": "openai",
                                                           "model": "m; rm -rf /", "base_urls": ["http://h:1/v1"]})
    result = CliRunner().invoke(dada, ["run", str(path), "--dry-run", "--only", "build,train"])
    assert result.exit_code == 0, result.output
    build, train = result.output.splitlines()
    argv = shlex.split(build.split(": ", 1)[1])
    assert argv == ["dada", "build", str(tmp_path / "it's data.json"), "-o", str(tmp_path / "my work" / "data"),
                    "--model", "m; rm -rf /", "--base-url", "http://h:1/v1", "--backend", "openai"]
    assert shlex.split(train.split(": ", 1)[1])[:3] == ["cd", str(tmp_path / "my work" / "train"), "&&"]
    assert shlex.split(train.split(": ", 1)[1])[-4:] == ["train", "dada.yml", "--launcher", "accelerate"]


def test_printed_commands_do_what_the_steps_did(tmp_path, alpaca_path):
    """The offline steps' printed commands, run by hand, write what the steps write."""
    import shlex

    (tmp_path / "alpaca.json").write_bytes(alpaca_path.read_bytes())
    path = write_recipe(tmp_path, data={"input": "alpaca.json", "backend": "heuristic", "max_tokens": 100,
                                        "backoff": 2.0, "retry_rejected": ["echo"]},
                        train={"lora_r": 64, "num_epochs": 2, "overrides": {
                            "hub_model_id": "yes", "seed": "42", "wandb_name": "run: one", "logging_steps": 5,
                            "lora_target_modules": ["q_proj", "v_proj"], "chat_template_jinja": "{% if x %}y{% endif %}"}},
                        eval={"bootstrap": 20, "charts": False})
    steps = ["--only", "build,axolotl-config,eval-dataset"]
    dry = CliRunner().invoke(dada, ["run", str(path), "--dry-run", *steps])
    assert dry.exit_code == 0, dry.output
    for line in dry.output.splitlines():
        argv = shlex.split(line.split(": ", 1)[1])
        assert argv[0] == "dada"
        by_hand = CliRunner().invoke(dada, argv[1:])
        assert by_hand.exit_code == 0, (line, by_hand.output)
    (tmp_path / "work").rename(tmp_path / "by-hand")
    result = CliRunner().invoke(dada, ["run", str(path), *steps])
    assert result.exit_code == 0, result.output
    hand, chain = tmp_path / "by-hand", tmp_path / "work"
    for name in ("data/dada.jsonl", "data/rejected.jsonl", "data/README.md", "train/dada.yml"):
        assert (hand / name).read_text() == (chain / name).read_text(), name
    volatile = ("elapsed_s", "rewrite")
    stats = [{k: v for k, v in json.loads((d / "data" / "stats.json").read_text()).items() if k not in volatile}
             for d in (hand, chain)]
    assert stats[0] == stats[1]
    reports = [json.loads((d / "eval" / "dataset" / "report.json").read_text()) for d in (hand, chain)]
    assert reports[0] == reports[1]
    cfg = yaml.safe_load((chain / "train" / "dada.yml").read_text())
    assert (cfg["lora_r"], cfg["hub_model_id"], cfg["seed"], cfg["wandb_name"]) == (64, "yes", "42", "run: one")
    assert not (chain / "eval" / "dataset" / "charts").exists()  # the recipe's eval settings apply


def test_recipes_that_could_only_fail_later_are_refused_up_front(tmp_path):
    """Keys the chain owns set through train.overrides, a merge entry the chain would replace,
    eval-models with nothing to evaluate, an openai build with no model or URL: refused before
    any step, a dry run included, naming the key."""
    owned = write_recipe(tmp_path, train={"overrides": {"output_dir": "/tmp/x", "datasets": [{"path": "/etc/passwd"}],
                                                        "lora_dropout": 0.1}},
                         eval={"models": {"merge": "http://h/v1"}})
    result = CliRunner().invoke(dada, ["run", str(owned), "--dry-run"])
    assert result.exit_code == 1
    for key in ("train.overrides.output_dir", "train.overrides.datasets", "eval.models.merge"):
        assert key in result.output
    assert "lora_dropout" not in result.output
    later = write_recipe(tmp_path, data={"input": "a.json", "backend": "openai"}, eval={"include_merge": False})
    result = CliRunner().invoke(dada, ["run", str(later), "--dry-run"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: the recipe: invalid configuration:\n"
        "  - eval-models: no model to evaluate (eval.models is empty and eval.include_merge is false); add "
        "eval.models or skip the step\n"
        "  - data.model: required by the 'openai' backend (build step)\n"
        "  - data.base_urls: required by the 'openai' backend (build step)\n")
    skipped = CliRunner().invoke(dada, ["run", str(later), "--dry-run", "--skip", "build,eval-models"])
    assert skipped.exit_code == 0, skipped.output
