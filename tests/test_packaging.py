"""The wheel carries what dada reads at run time (bundled sample, configs, slop lists)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDED = [
    "dada_plugin/data/alpaca_sample.json",
    "dada_plugin/data/README.md",
    "axolotl_configs/tiny-cpu-lora.yml",
    "axolotl_configs/mixtral-itr-dada-qlora.yml",
    "mergekit_configs/verdict-dada-slerp.yml",
    "dada_plugin/eval/data/slop_list.json",
    "dada_plugin/eval/data/LICENSE-slop-score.md",
]


@pytest.mark.slow
def test_wheel_has_the_package_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []
