"""The wheel carries what dada reads at run time (bundled sample, configs, slop lists)."""

import os
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
    "dada_plugin/text/data/slop_list.json",
    "dada_plugin/text/data/LICENSE-slop-score.md",
]


@pytest.mark.slow
def test_wheel_has_the_package_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []


@pytest.mark.skipif(os.environ.get("DADA_LLAMA_CMAKE_ARGS"), reason="a llama.cpp built with your own flags")
def test_the_llama_cpp_built_here_runs_on_any_avx2_cpu():
    """make builds llama.cpp without native tuning: its CPU backend holds no AMX and no AVX-512
    instruction (those die with SIGILL where the CPU, or the guest, cannot run them)."""
    import re
    import shutil

    llama_cpp = pytest.importorskip("llama_cpp")
    if not shutil.which("objdump"):
        pytest.skip("no objdump here")
    libs = list((Path(llama_cpp.__file__).parent / "lib").glob("libggml-cpu*.so"))
    assert libs
    for lib in libs:
        code = subprocess.run(["objdump", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
        found = re.findall(r"\t(tilezero|tileloadd|tdpb\w+|ldtilecfg)\b|%zmm\d+|%tmm\d+", code)
        assert not found, f"{lib.name}: {len(found)} AMX/AVX-512 instructions, e.g. {found[:3]}"
        assert "%ymm" in code  # and it is the AVX2 build, not a scalar one
