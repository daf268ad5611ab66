"""Session fixtures shared by every test folder: the Alpaca fixture and tiny random Mixtrals
(real Mixtral tokenizer) built once per session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from dada_plugin.offline import set_offline

set_offline()
# the session's own Hugging Face caches (before datasets or transformers is imported): nothing the
# machine cached earlier can change a result
HF_CACHE = Path(tempfile.mkdtemp(prefix="dada-tests-hf-"))
os.environ.update(HF_HOME=str(HF_CACHE), HF_DATASETS_CACHE=str(HF_CACHE / "datasets"),
                  HF_HUB_CACHE=str(HF_CACHE / "hub"))


# a test that needs one of these builds or runs a model (tiny models, training, merging,
# llama.cpp): marked slow, left out by `make test-fast`
MODEL_FIXTURES = {"tiny_mixtral", "tiny_mixtral_b", "llama_cpp_works", "tiny_dense"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(item.fixturenames) or item.get_closest_marker("llamacpp"):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(HF_CACHE, ignore_errors=True)

DATA = Path(__file__).parent / "data"
ALPACA = DATA / "alpaca_first100.json"


@pytest.fixture(scope="session")
def alpaca_path() -> Path:
    return ALPACA


@pytest.fixture(scope="session")
def alpaca_records() -> list[dict]:
    return json.loads(ALPACA.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_mixtral(tmp_path_factory) -> Path:
    """A tiny random Mixtral (seed 0): the Mixtral-Instruct stand-in."""
    from dada_plugin.tiny import build_tiny_mixtral

    return build_tiny_mixtral(tmp_path_factory.mktemp("tiny") / "itr", seed=0)


@pytest.fixture(scope="session")
def tiny_mixtral_b(tmp_path_factory) -> Path:
    """A second tiny random Mixtral (seed 1): the Verdict stand-in (merge base)."""
    from dada_plugin.tiny import build_tiny_mixtral

    return build_tiny_mixtral(tmp_path_factory.mktemp("tiny") / "verdict", seed=1)


@pytest.fixture(scope="session")
def tiny_dense(tmp_path_factory, alpaca_records):
    """``tiny_dense(family, seed=0) -> folder``: a tiny random dense model of ``family`` (llama,
    mistral, qwen2, qwen3, gemma3; :data:`dada_plugin.tiny.DENSE`) with a byte-level BPE
    tokenizer in the family's chat format trained on the Alpaca fixture (mistral: the real v1
    SentencePiece one), built once per session and shared."""
    from dada_plugin.tiny import DENSE, build_bpe_tokenizer, build_tiny_dense

    built: dict[tuple[str, int], Path] = {}
    root = tmp_path_factory.mktemp("dense")
    texts = [" ".join((r["instruction"], r["input"], r["output"])) for r in alpaca_records]

    def make(family: str, seed: int = 0) -> Path:
        if (family, seed) not in built:
            fmt = DENSE[family][3]
            tok = None if fmt == "mistral-v1" else root / f"tok-{fmt}"
            if tok is not None and not tok.exists():
                build_bpe_tokenizer(tok, fmt, texts)
            built[family, seed] = build_tiny_dense(root / f"{family}-{seed}", family, seed, tokenizer=tok)
        return built[family, seed]

    return make


@pytest.fixture(scope="session")
def llama_cpp_works(tiny_mixtral, tmp_path_factory) -> None:
    """llama.cpp loads a tiny GGUF and generates, checked once in a child process: a build for
    another CPU (SIGILL) fails every llama.cpp test with that one message instead of killing
    pytest, and the rest of the suite runs."""
    pytest.importorskip("llama_cpp")
    from dada_plugin.errors import BackendError
    from dada_plugin.llamacpp.export import export_gguf
    from dada_plugin.llamacpp.serve import check_engine

    gguf = export_gguf(tiny_mixtral, tmp_path_factory.mktemp("engine") / "tiny-q8_0.gguf")
    try:
        check_engine(gguf)
    except BackendError as exc:
        pytest.fail(f"llama.cpp does not run here: {exc}", pytrace=False)


@pytest.fixture(autouse=True)
def _llama_cpp_first(request):
    """Tests marked ``llamacpp`` run the engine only once it is known to work."""
    if request.node.get_closest_marker("llamacpp"):
        request.getfixturevalue("llama_cpp_works")


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Mount a tmpfs with the given options (a read-only or a tiny folder: root ignores
    permission bits, so an unwritable folder needs a mount); skipped where mounting is not
    allowed. Unmounted after the test."""
    import subprocess

    mounted = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
