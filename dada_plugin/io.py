"""Atomic file output: a temp file in the same folder, fsync, then rename. Never half a file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from dada_plugin.errors import ConfigError, InputError


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
        Path(tmp).unlink(missing_ok=True)
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
    fh.writelines(_JSONL.encode(row) + "\n" for row in rows)


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    with atomic_open(path) as fh:
        write_rows(fh, rows)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def loads_json(text: str):
    """``json.loads``, with nesting too deep for the parser reported as a JSONDecodeError (so
    every reader's "malformed JSON" message covers it) instead of a RecursionError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


MAX_YAML_ALIASES = 100


def load_yaml(path: str | Path) -> object:
    """The one YAML reader: safe, duplicate keys refused (YAML keeps the last one silently, so a
    second ``parameters:`` would drop the first), every failure one ConfigError naming the file
    and, where known, the line."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:  # "billion laughs": refuse before expanding
                    raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} aliases (*name)")
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:  # an unhashable key: let PyYAML report it
                    continue
                if first != key_node.start_mark.line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first + 1})",
                        key_node.start_mark)
            return super().construct_mapping(node, deep)

    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (bad byte at offset {exc.start})", source=str(path)) from None
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
        json.dumps(data, default=str)  # a structure that contains itself (&a [*a]) fails here
        return data
    except ValueError:
        raise ConfigError("not valid YAML: a recursive alias (a value that contains itself)",
                          source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                          source=str(path)) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", source=str(path)) from None


def jsonl_rows(path: str | Path, text: str | None = None) -> Iterator[tuple[int, object]]:
    """(line number, value) of each non-blank line of a JSON-lines file (``text``: its content,
    already read). Lines are split on "\\n" only: U+2028 and friends may stand raw inside JSON
    strings. InputError names the line (and the record: its index among the rows) of bad JSON."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except UnicodeDecodeError as exc:
            raise InputError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    record = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield lineno, loads_json(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"malformed JSON: {exc.msg}", record=record, line=lineno) from None
        record += 1


SEAL = "# dada-sha256: "


def seal(text: str) -> str:
    """``text`` with a last comment line holding the sha256 of the rest: a file dada wrote and
    nobody edited since can be told from any other (see :func:`sealed`)."""
    text = text if text.endswith("\n") else text + "\n"
    return f"{text}{SEAL}{hashlib.sha256(text.encode('utf-8')).hexdigest()}\n"


def sealed(path: str | Path) -> bool:
    """``path`` is a file :func:`seal` wrote, unchanged since."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    body, sep, last = text.rstrip("\n").rpartition("\n")
    if not sep or not last.startswith(SEAL):
        return False
    return hashlib.sha256((body + "\n").encode("utf-8")).hexdigest() == last[len(SEAL):]
