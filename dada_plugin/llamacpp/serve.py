"""Serve a GGUF file with llama.cpp (llama-cpp-python's OpenAI-compatible server) on 127.0.0.1
for as long as a ``with`` block runs: started on a free port, waited for, always stopped.

A server that dies is reported as that crash, with its signal and last log lines
(:meth:`LlamaServer.check`, which the OpenAI backend calls on a dropped connection), never as
"connection error" retried until the circuit breaker gives up."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dada_plugin.errors import BackendError, InputError
from dada_plugin.offline import offline_env

START_TIMEOUT = 120.0
TAIL_LINES = 8
# what a dead process's signal usually means
SIGNAL_CAUSES = {"SIGILL": "illegal instruction", "SIGSEGV": "segmentation fault", "SIGABRT": "aborted",
                 "SIGBUS": "bus error", "SIGFPE": "arithmetic error",
                 "SIGKILL": "killed: out of memory, or by another process"}
REBUILD = ('llama-cpp-python was compiled for another CPU; rebuild it without native CPU tuning: '
           'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
           'pip install --force-reinstall --no-cache-dir --no-deps "llama-cpp-python==VERSION" '
           '(in a dada checkout: make venv)')


def crash_message(what: str, returncode: int, log_tail: list[str]) -> str:
    """``what`` died: its signal (and, for SIGILL, how to rebuild llama.cpp) or exit status, then
    the last lines it wrote."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        how = f"died with {name}"
        if name in SIGNAL_CAUSES:
            how += f" ({SIGNAL_CAUSES[name]})"
        if name == "SIGILL":
            how += ": " + REBUILD.replace("VERSION", _llama_version())
    else:
        how = f"exited with status {returncode}"
    lines = [line for line in log_tail if line.strip()][-TAIL_LINES:]
    return f"{what} {how}" + ("\n  its last lines:\n" + "\n".join(f"    {line}" for line in lines)
                              if lines else " (it wrote nothing)")


def _llama_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "0.3.36"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/models", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class LlamaServer:
    """A running llama.cpp server: its ``url`` (``http://127.0.0.1:PORT/v1``), its ``pid``, and
    :meth:`check`, which raises the crash as a BackendError once it has died."""

    def __init__(self, path: Path, proc: subprocess.Popen, url: str, log: Path):
        self.path, self.proc, self.url, self.log = path, proc, url, log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self) -> list[str]:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL_LINES * 4:]
        except OSError:
            return []

    def check(self, grace: float = 0.1) -> None:
        """BackendError naming the crash when the server has died (``grace`` seconds allowed for
        a process whose sockets are closed but that has not been reaped yet)."""
        try:
            code = self.proc.wait(timeout=grace) if grace else self.proc.poll()
        except subprocess.TimeoutExpired:
            return
        if code is not None:
            raise BackendError(crash_message(f"llama.cpp (serving {self.path})", code, self.tail()))


@contextmanager
def serve_gguf(path: str | Path, *, alias: str, n_ctx: int = 2048,
               start_timeout: float = START_TIMEOUT) -> Iterator[LlamaServer]:
    """Yield the :class:`LlamaServer` of llama.cpp serving ``path`` as model ``alias``, the chat
    template taken from the file. BackendError (with the server's last words) when it dies or
    does not come up."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such GGUF file")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise BackendError("serving a GGUF needs llama-cpp-python: pip install 'dada[llama]'") from None
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--verbose", "False"]
    with tempfile.TemporaryDirectory(prefix="dada-llama-") as tmp:
        log = Path(tmp) / "server.log"
        with open(log, "ab") as sink:  # append mode: the server's writes never clash with reads
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=offline_env())
        server = LlamaServer(path, proc, url, log)
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(url):
                server.check(grace=0)
                if time.monotonic() > deadline:
                    tail = [line for line in server.tail() if line.strip()][-1:] or ["no output"]
                    raise BackendError(f"llama.cpp did not come up serving {path} within "
                                       f"{start_timeout:.0f} s: {tail[0]}")
                time.sleep(0.2)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


ENGINE_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=1, verbose=False)
out = llm.create_completion("[INST] Hello [/INST]", max_tokens=4, temperature=0.0)
print(out["usage"]["completion_tokens"])
"""


def check_engine(gguf: str | Path, timeout: float = 300.0) -> None:
    """Load ``gguf`` with llama.cpp and generate a few tokens, in a child process (a llama.cpp
    built for another CPU dies with SIGILL: the child dies, not the caller). BackendError naming
    the crash when it fails."""
    what = f"llama.cpp (llama-cpp-python {_llama_version()}, generating from {gguf})"
    try:
        proc = subprocess.run([sys.executable, "-c", ENGINE_PROBE, str(gguf)], capture_output=True,
                              text=True, errors="replace", timeout=timeout, env=offline_env())
    except subprocess.TimeoutExpired:
        raise BackendError(f"{what} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise BackendError(crash_message(what, proc.returncode, (proc.stdout + proc.stderr).splitlines()))
