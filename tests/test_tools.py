"""dada_plugin.tools.stream: a tool's output reaches the handler as it comes (no waiting for a
line), its exit status comes back, and a handler that fails kills the tool."""

from __future__ import annotations

import sys
import time

import pytest

from dada_plugin.tools import stream

CHILD = """
import sys, time
sys.stdout.write("step 1/2 \\r"); sys.stdout.flush()
time.sleep(float(sys.argv[1]))
sys.stdout.write("step 2/2 ünïcode\\n"); sys.stdout.flush()
sys.exit(3)
"""


def test_output_as_it_comes_and_the_exit_status():
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    code = stream([sys.executable, "-c", CHILD, "0.5"], lambda text: seen.append((time.monotonic() - started, text)))
    assert code == 3 and "".join(t for _, t in seen) == "step 1/2 \rstep 2/2 ünïcode\n"
    assert seen[0][1] == "step 1/2 \r" and seen[0][0] < seen[-1][0] - 0.3  # the bar before the line ended


def test_a_failing_handler_kills_the_tool():
    started = time.monotonic()

    def boom(text: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stream([sys.executable, "-c", CHILD, "30"], boom)
    assert time.monotonic() - started < 10  # not the child's 30 s
