"""A small step runner for multi-step chains (``dada demo``, ``dada run``): each step prints
the real command a user would type and its time, is skipped on a rerun once finished, and on
failure names itself and points at its log."""

from __future__ import annotations

import contextlib
import io as _io
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dada_plugin.errors import StepError


@dataclass
class Step:
    name: str
    command: str                     # what a user would type on a GPU box
    run: Callable[[], dict | None]   # returns a small summary (JSON-able) or None


class StepRunner:
    def __init__(self, workdir: str | Path, echo: Callable[[str], None] = print, force: bool = False):
        self.workdir = Path(workdir)
        self.echo = echo
        self.force = force
        self.state_dir = self.workdir / ".steps"
        self.log_dir = self.workdir / "logs"

    def _marker(self, step: Step) -> Path:
        return self.state_dir / f"{step.name}.json"

    def run(self, steps: list[Step]) -> dict[str, dict]:
        from dada_plugin import io

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict] = {}
        for i, step in enumerate(steps, 1):
            marker = self._marker(step)
            head = f"[{i}/{len(steps)}] {step.name}: {step.command}"
            if marker.exists() and not self.force:
                results[step.name] = json.loads(marker.read_text(encoding="utf-8"))
                self.echo(f"{head}\n      skipped (finished earlier; delete {marker} to redo)")
                continue
            self.echo(head)
            log = self.log_dir / f"{step.name}.log"
            started = time.monotonic()
            buffer = _io.StringIO()
            try:
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    summary = step.run() or {}
            except Exception as exc:
                buffer.write(traceback.format_exc())
                log.write_text(buffer.getvalue(), encoding="utf-8")
                raise StepError(step.name, f"{type(exc).__name__}: {exc}", str(log)) from exc
            log.write_text(buffer.getvalue(), encoding="utf-8")
            seconds = round(time.monotonic() - started, 2)
            summary = {**summary, "seconds": seconds}
            io.write_json(marker, summary)
            results[step.name] = summary
            self.echo(f"      done in {seconds:.1f} s")
        return results
