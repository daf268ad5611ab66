"""The face: one group, every subcommand with -h and examples, no heavy imports at start-up."""

import subprocess
import sys

from click.testing import CliRunner

from dada_plugin.cli import COMMANDS, dada

HEAVY = ("torch", "transformers", "axolotl", "mergekit", "datasets", "peft", "matplotlib")


def test_help_does_not_import_heavy_packages():
    code = (
        "import sys; from click.testing import CliRunner; from dada_plugin.cli import dada;"
        "r = CliRunner();"
        "assert r.invoke(dada, ['--help']).exit_code == 0;"
        "assert r.invoke(dada, ['build', '--help']).exit_code == 0;"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_subcommand_has_short_help_and_examples():
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(dada, [name, "-h"])
        assert result.exit_code == 0, (name, result.output)
        assert "Example usage:" in result.output, name


def test_group_help_lists_commands():
    result = CliRunner().invoke(dada, ["-h"])
    assert result.exit_code == 0
    for name in ("build", "decompile", "demo"):
        assert f"  {name}" in result.output


def test_no_gpu_kernel_warnings_reach_the_user():
    """bitsandbytes' kernels-community lookup (offline) and torchao's pytree notices are about
    GPU kernels dada's process never uses: `dada merge-config --check` prints none of them."""
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "mergekit_configs" / "verdict-dada-slerp.yml"
    proc = subprocess.run([sys.executable, "-m", "dada_plugin.cli", "merge-config", "--check", str(config)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for noise in ("gemm_4bit", "kernels-community", "Enum subclass", "publisher trust"):
        assert noise not in proc.stderr, proc.stderr
