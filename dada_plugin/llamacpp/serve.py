"""Serve a GGUF file with llama.cpp (llama-cpp-python's OpenAI-compatible server) on 127.0.0.1
for as long as a ``with`` block runs: started on a free port, waited for, always stopped."""

from __future__ import annotations

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


@contextmanager
def serve_gguf(path: str | Path, *, alias: str, n_ctx: int = 2048,
               start_timeout: float = START_TIMEOUT) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT/v1``) of llama.cpp serving ``path`` as model
    ``alias``, the chat template taken from the file. BackendError (with the server's last
    words) when it does not come up."""
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
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=offline_env())
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().strip().splitlines()[-1:] or ["no output"]
                    raise BackendError(f"llama.cpp did not come up serving {path}: {tail[0]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
