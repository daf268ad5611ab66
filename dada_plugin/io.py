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


def read_text(path: str | Path) -> str:
    """The one reader of a text input: UTF-8, a byte-order mark dropped; a missing, unreadable
    or non-UTF-8 file is one InputError naming it."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "a folder, not a file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None


class DuplicateKey(json.JSONDecodeError):
    """A JSON object with a key twice (``json`` keeps the last value silently)."""


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(f"duplicate key {key!r}", "", 0)
        obj[key] = value
    return obj


JSON_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def loads_json(text: str):
    """``json.loads`` that refuses duplicate keys (DuplicateKey, a JSONDecodeError), with
    nesting too deep for the parser reported as a JSONDecodeError (so every reader's "malformed
    JSON" message covers both) instead of a RecursionError."""
    try:
        return JSON_DECODER.decode(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


MAX_YAML_VALUES = 1_000_000     # values a YAML may expand to, aliases followed ("billion laughs")
MAX_YAML_CHARS = 64 * 1024 * 1024  # characters of its scalars, aliases followed


def _strict_loader():
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader refusing duplicate keys (YAML keeps the last one silently, so a second
        ``parameters:`` would drop the first)."""

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

    return StrictLoader


def _expanded_size(root) -> tuple[int, int]:
    """(values, scalar characters) the composed document expands to with every alias followed,
    computed on the node graph without expanding it (a node shared by aliases is sized once).
    ValueError for a node that contains itself."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}
    state: dict[int, bool] = {}  # False: being sized (on the stack), True: done
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = (1, len(node.value))
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        if not children_done:
            if state.get(key) is True:
                continue
            if state.get(key) is False:
                raise ValueError("a recursive alias (a value that contains itself)")
            state[key] = False
            stack.append((node, True))
            for kid in kids:
                if state.get(id(kid)) is False:
                    raise ValueError("a recursive alias (a value that contains itself)")
                if state.get(id(kid)) is not True:
                    stack.append((kid, False))
            continue
        values, chars = 1, 0
        for kid in kids:
            v, c = sizes[id(kid)]
            values, chars = values + v, chars + c
        sizes[key] = (min(values, 1 << 62), min(chars, 1 << 62))
        state[key] = True
    return sizes[id(root)]


def loads_yaml(text: str, source: str) -> object:
    """The one YAML parser: safe, duplicate keys refused, what the document expands to bounded
    (values and characters, aliases followed) before anything is built, every failure one
    ConfigError naming ``source`` and, where known, the line."""
    import yaml

    loader = _strict_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        values, chars = _expanded_size(node)
        if values > MAX_YAML_VALUES or chars > MAX_YAML_CHARS:
            raise ConfigError(f"not valid YAML: it expands to more than {MAX_YAML_VALUES:,} values or "
                              f"{MAX_YAML_CHARS // 2**20} MiB of text (aliases followed; an alias bomb?)",
                              source=source)
        return loader.construct_document(node)
    except ValueError as exc:  # a recursive alias, or an integer too long for Python to read
        why = "an integer of more than 4300 digits" if "integer string conversion" in str(exc) else exc
        raise ConfigError(f"not valid YAML: {why}", source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                          source=source) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", source=source) from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> object:
    """A YAML file through :func:`loads_yaml` (a byte-order mark dropped); an unreadable or
    non-UTF-8 file is one ConfigError naming it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (bad byte at offset {exc.start})", source=str(path)) from None
    return loads_yaml(text, str(path))


def jsonl_rows(path: str | Path, text: str | None = None) -> Iterator[tuple[int, object]]:
    """(line number, value) of each non-blank line of a JSON-lines file (``text``: its content,
    already read). Lines are split on "\\n" only: U+2028 and friends may stand raw inside JSON
    strings. InputError names the line (and the record: its index among the rows) of bad JSON."""
    if text is None:
        text = read_text(path)
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
