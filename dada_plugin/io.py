"""Atomic file output: a temp file in the same folder, fsync, then rename. Never half a file."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, TextIO


def umask() -> int:
    """The process umask, read from /proc (no change to it: setting and restoring it races with
    threads creating files); elsewhere by the set-and-restore fallback."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """What open() would give a new file (mkstemp's files are 0600)."""
    return 0o666 & ~umask()


def fsync_dir(path: str | Path) -> None:
    """Make the renames inside ``path`` survive a power cut."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def temp_open(path: str | Path, mode: str = "w") -> Iterator[tuple[TextIO, Path]]:
    """Write a temp file beside ``path`` (fsynced, the umask's mode on close); the caller
    renames it into place. Removed if the block raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh, Path(tmp)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[TextIO]:
    """Write to a temp file beside ``path``; on success fsync and rename over ``path``;
    on error remove the temp file and leave ``path`` untouched."""
    path = Path(path)
    with temp_open(path, mode) as (fh, tmp):
        yield fh
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_text(path: str | Path, text: str) -> Path:
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def write_json(path: str | Path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


_JSONL = json.JSONEncoder(ensure_ascii=False)


def write_rows(fh: TextIO, rows: Iterable[dict]) -> None:
    encode = _JSONL.encode
    fh.writelines(encode(row) + "\n" for row in rows)


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    with atomic_open(path) as fh:
        write_rows(fh, rows)
    return Path(path)
