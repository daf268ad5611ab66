"""The one YAML and JSON readers: bounded, strict, one error naming the file."""

import json
import resource
import subprocess
import sys
import time

import pytest

from dada_plugin.errors import ConfigError
from dada_plugin.io import load_yaml, loads_json, loads_yaml

# 583 bytes: 9 strings, each level 9 aliases of the one before (9**12 strings once expanded)
BOMB = "a0: &a0 [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 12))


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="expands to more than 1,000,000 values"):
        load_yaml(path)
    assert time.monotonic() - started < 5
    # a few aliases are fine
    assert loads_yaml("a: &x [1, 2]\nb: *x\nc: *x\n", "s") == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}


def test_merge_config_check_refuses_a_bomb_in_a_small_process(tmp_path):
    """Read and bounded before anything heavy is imported: refused within seconds in a process
    limited to 3 GB of address space."""
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "dada_plugin.cli", "merge-config", "--check", str(path)],
                          capture_output=True, text=True, timeout=60, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "an alias bomb?" in proc.stdout + proc.stderr
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "not valid YAML: a recursive alias (a value that contains itself)"),
    ("x: " + "9" * 100_000 + "\n", "not valid YAML: an integer of more than 4300 digits"),
    ("a: 1\na: 2\n", "duplicate key 'a' (first on line 1)"),
])
def test_bad_yaml_is_one_line(text, message):
    with pytest.raises(ConfigError) as info:
        loads_yaml(text, "f.yml")
    assert str(info.value).startswith("f.yml: ") and message in str(info.value)


def test_card_redaction_of_a_bomb_is_quick():
    from dada_plugin.mergekit.card import redact

    started = time.monotonic()
    redact(BOMB + "hf_token: hf_abcdefghijklmnopqrstuvwxyz\n")
    assert time.monotonic() - started < 5


def test_json_duplicate_keys_are_refused():
    with pytest.raises(json.JSONDecodeError, match="duplicate key 'output'"):
        loads_json('{"output": "a", "output": "b"}')
    assert loads_json('{"a": {"b": 1}, "b": {"b": 2}}') == {"a": {"b": 1}, "b": {"b": 2}}
