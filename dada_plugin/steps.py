"""A small step runner for multi-step chains (``dada demo``, ``dada run``): each step prints
the real command a user would type and its time, is skipped on a rerun once finished with the
same inputs (a fingerprint chained through the steps before it, so a changed setting redoes its
step and everything after), and on failure names itself and points at its log."""

from __future__ import annotations

import contextlib
import hashlib
import io as io_module
import json
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dada_plugin import io
from dada_plugin.errors import StepError
from dada_plugin.outputs import OwnedFolder


@dataclass
class Step:
    name: str
    command: str                     # what a user would type on a GPU box
    run: Callable[[], dict | None]   # returns a small summary (JSON-able) or None
    inputs: Any = None               # the settings its output depends on (JSON-able)
    reads: tuple = ()                # files and folders it reads: a change to them redoes it
    progress: bool = False           # show its progress bars (tqdm frames in its output) on the console


PROGRESS = re.compile(r"\d+/\d+ \[[\d:]+<[\d:?]+|\d+%\|")  # a tqdm frame: done/total [elapsed<left


class _Tee(io_module.TextIOBase):
    """A step's output: everything to its log; tqdm frames also to the console, on one line."""

    def __init__(self, log, console, label: str):
        self.log, self.console, self.label, self.shown = log, console, label, False

    def write(self, text: str) -> int:
        self.log.write(text)
        for part in re.split(r"[\r\n]", text):
            if PROGRESS.search(part):
                self.console.write(f"\r      {self.label}: {part.strip()[-110:]}\033[K")
                self.console.flush()
                self.shown = True
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def end(self) -> None:
        if self.shown:
            self.console.write("\n")


def file_ids(paths) -> list:
    """What a step's fingerprint knows of the files it reads: (size, mtime, inode) of each file,
    and of each file directly in a folder (a model's config.json, weights, adapter)."""
    def ident(path: Path) -> list:
        st = path.stat()
        return [st.st_size, st.st_mtime_ns, st.st_ino]

    def state(path: Path) -> list | None:
        if path.is_dir():
            return [[e.name, ident(Path(e.path))] for e in sorted(os.scandir(path), key=lambda e: e.name)
                    if e.is_file()]
        return ident(path) if path.is_file() else None

    return [[str(Path(p)), state(Path(p))] for p in paths if p is not None and "://" not in str(p)]


# what a chain writes at the top of its work folder (the folder is refused if it holds anything
# else and was not made by a chain: the steps would write over a user's files)
WORKDIR_ENTRIES = (".steps", "logs", "data", "models", "train", "merge", "merged", "gguf", "eval", "report.md",
                   "report.json", "charts")


def _finished(marker: Path) -> dict:
    """What a finished step recorded; {} (redo it) when missing or damaged."""
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return done if isinstance(done, dict) else {}


class StepRunner:
    def __init__(self, workdir: str | Path, echo: Callable[[str], None] = print, force: bool = False):
        self.workdir = Path(workdir)
        self.folder = OwnedFolder(self.workdir, "dada run", (), dirs=WORKDIR_ENTRIES, can_force=False)
        self.echo = echo
        self.force = force
        self.state_dir = self.workdir / ".steps"
        self.log_dir = self.workdir / "logs"

    def run(self, steps: list[Step], selected: list[str] | None = None) -> dict[str, dict]:
        """Run ``steps`` in order (only those named in ``selected``, if given); fingerprints are
        chained over all of them, so a selection does not change what counts as finished."""
        self.folder.check()
        self.folder.claim(creating=(".steps", "logs"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict] = {}
        fingerprint = ""
        chosen = [s for s in steps if selected is None or s.name in selected]
        for step in steps:
            blob = json.dumps([fingerprint, step.name, step.inputs, file_ids(step.reads)],
                              sort_keys=True, default=str)
            fingerprint = hashlib.sha256(blob.encode("utf-8")).hexdigest()
            if step not in chosen:
                continue
            marker = self.state_dir / f"{step.name}.json"
            head = f"[{chosen.index(step) + 1}/{len(chosen)}] {step.name}: {step.command}"
            done = _finished(marker)
            if done.get("fingerprint") == fingerprint and not self.force:
                results[step.name] = done
                self.echo(f"{head}\n      skipped (finished earlier; delete {marker} to redo)")
                continue
            self.echo(head)
            log = self.log_dir / f"{step.name}.log"
            started = time.monotonic()
            with open(log, "w", encoding="utf-8", buffering=1) as fh:  # written as it happens
                out = _Tee(fh, sys.__stderr__, step.name) if step.progress and sys.__stderr__ else fh
                try:
                    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                        summary = step.run() or {}
                except Exception as exc:
                    fh.write(traceback.format_exc())
                    raise StepError(step.name, f"{type(exc).__name__}: {exc}", str(log)) from exc
                finally:
                    if out is not fh:
                        out.end()
            seconds = round(time.monotonic() - started, 2)
            summary = {**summary, "seconds": seconds, "fingerprint": fingerprint}
            io.write_json(marker, summary)
            self.folder.record(WORKDIR_ENTRIES)  # what the step made at the top of the work folder
            results[step.name] = summary
            self.echo(f"      done in {seconds:.1f} s")
        return results
