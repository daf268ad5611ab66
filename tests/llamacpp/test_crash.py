"""How a llama.cpp that dies is reported (no model needed: the crash is real, the engine is a
stand-in that kills itself the way an AMX kernel on the wrong CPU does)."""

import signal

import pytest

from dada_plugin.errors import BackendError
from dada_plugin.llamacpp import serve
from dada_plugin.llamacpp.serve import check_engine, crash_message


def test_crash_messages():
    assert crash_message("x", -signal.SIGSEGV, ["a", "", "b"]) == \
        "x died with SIGSEGV (segmentation fault)\n  its last lines:\n    a\n    b"
    assert crash_message("x", 3, []) == "x exited with status 3 (it wrote nothing)"
    sigill = crash_message("x", -signal.SIGILL, [])
    assert sigill.startswith("x died with SIGILL (illegal instruction): llama-cpp-python was compiled for "
                             "another CPU; rebuild it without native CPU tuning: CMAKE_ARGS=")
    assert "pip install --force-reinstall --no-cache-dir" in sigill


def test_the_engine_check_survives_an_engine_that_dies(monkeypatch, tmp_path):
    """The suite's first llama.cpp check runs the engine in a child: a SIGILL there is one
    error naming it, and this process goes on."""
    monkeypatch.setattr(serve, "ENGINE_PROBE", "import os, signal, sys\nprint('loading', sys.argv[1])\n"
                                               "sys.stdout.flush()\nos.kill(os.getpid(), signal.SIGILL)\n")
    with pytest.raises(BackendError) as info:
        check_engine(tmp_path / "tiny.gguf")
    message = str(info.value)
    assert "died with SIGILL (illegal instruction): llama-cpp-python was compiled for another CPU" in message
    assert f"loading {tmp_path / 'tiny.gguf'}" in message  # its last words
