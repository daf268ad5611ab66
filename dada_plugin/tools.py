"""Running a tool dada starts (axolotl, llama.cpp's converter) with its output streamed as it
comes: every chunk to a handler, and the tool killed when dada stops (an error in the handler,
Ctrl-C), so no orphan keeps writing."""

from __future__ import annotations

import codecs
import os
import subprocess
from typing import Callable


def stream(cmd: list[str], handle: Callable[[str], None], **popen) -> int:
    """Run ``cmd`` (stdout and stderr together), pass its output to ``handle`` as it arrives
    (decoded UTF-8, never held back for a full line), return its exit status."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        for chunk in iter(lambda: os.read(proc.stdout.fileno(), 4096), b""):
            handle(decoder.decode(chunk))
    except BaseException:
        proc.kill()  # dada stopped: so does the tool
        raise
    finally:
        proc.wait()
        proc.stdout.close()
    return proc.returncode
