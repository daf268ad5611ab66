"""Output safety: dada never replaces or deletes a file it did not write, nor one it reads.

A folder dada writes into holds a marker, ``.dada.json``: the command that owns the folder and,
for every file it wrote there, the file's identity when written (inode, size, mtime in ns). A
file at one of dada's output names is replaced only when the marker says dada wrote it and it
has not changed since; anything else is refused, named in the error. A non-empty folder without
the marker is refused unless ``force`` (then dada writes beside what is there, never over it).

All outputs of one run are written to temporary names first and renamed into place only once
every one is complete (:meth:`OwnedFolder.transaction`), the last one named last (``stats.json``
lists the set), so a reader can tell a complete set from an interrupted one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterable, Iterator

from dada_plugin import io
from dada_plugin.errors import InputError

MARKER = ".dada.json"
LOCK = ".dada.lock"  # one writer per output folder: an flock on this file, held while a command writes
_HELD: dict[str, list] = {}  # locks this process holds: lock file's realpath -> [fd, {holder tokens}]


def lock_folder(path: Path, owner: object | None = None, name: str = LOCK):
    """Take the exclusive lock of the folder ``path`` (an flock on ``path/name``) for as long as
    ``owner`` lives (None: until the returned release is called), or InputError naming the pid
    of the dada run that holds it. The OS releases it when the process dies, however it dies; a
    second holder in the same process shares it. The lock file is removed when the last holder
    lets go. Returns the release (a callable, to let go earlier)."""
    import fcntl
    import weakref

    lock = os.path.join(os.path.realpath(path), name)  # the folder resolved, never the file
    if lock not in _HELD:
        while True:
            try:  # never through a symlink: the lock file is ours, not what it points to
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, io.file_mode())
            except OSError as exc:
                raise InputError(path / name, f"cannot take the folder's lock: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise InputError(path, f"another dada run (pid {pid}) is writing this folder; wait for it "
                                       "to finish or choose another folder") from None
            try:  # the file a finishing holder removed is no lock: take the one now there
                if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[lock] = [fd, set()]
    token = object()
    _HELD[lock][1].add(token)
    if owner is None:  # the caller lets go
        return functools.partial(_unlock, lock, token)
    return weakref.finalize(owner, _unlock, lock, token)


def _unlock(lock: str, token: object | None = None) -> None:
    """A holder lets go (``token`` None: all of them); the last one removes and closes the file."""
    held = _HELD.get(lock)
    if held is None:
        return
    if token is None:
        held[1].clear()
    else:
        held[1].discard(token)
    if not held[1]:
        del _HELD[lock]
        with suppress(OSError):
            os.unlink(lock)  # while still held: nobody takes a lock on a removed file
        os.close(held[0])


def release_locks() -> None:
    """Let go of every folder lock this process holds (a command has finished)."""
    for lock in list(_HELD):
        _unlock(lock)


def identity(path: str | Path) -> list[int]:
    st = os.stat(path, follow_symlinks=False)
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def same_file(a: str | Path, b: str | Path) -> bool:
    """``a`` and ``b`` are one file: the same real path (symlinks, ``..``) or hard links."""
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def inside(child: str | Path, parent: str | Path) -> bool:
    """``child`` is ``parent`` or lies under it (real paths)."""
    child, parent = _real(child), _real(parent)
    return child == parent or parent in child.parents


def refuse_inputs(outputs: Iterable[str | Path], inputs: dict[str, str | Path | None], *,
                  folder: str | Path | None = None) -> None:
    """Raise InputError when an output would overwrite an input: an output path that resolves
    to an input, or (``folder``) an output folder that equals, contains or lies inside one."""
    for label, src in inputs.items():
        if src is None:
            continue
        for out in outputs:
            if same_file(out, src):
                raise InputError(out, f"is the {label} ({src}); write the output somewhere else")
        if folder is not None and (inside(src, folder) or inside(folder, src)):
            how = "is" if _real(src) == _real(folder) else "holds" if inside(src, folder) else "lies inside"
            raise InputError(folder, f"{how} the {label} ({src}); choose an output folder apart "
                                     "from every input")


def check_writable(folder: str | Path) -> None:
    """``folder`` is (or can be made) a writable folder: checked before any expensive work."""
    folder = Path(os.path.abspath(os.path.expanduser(str(folder))))
    if os.path.lexists(folder) and not folder.is_dir():
        raise InputError(folder, "is not a folder")
    probe = folder
    while not os.path.lexists(probe):
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(folder, f"cannot be created: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(folder, f"cannot write into {probe} (read-only or no permission)")


def check_file(path: str | Path, inputs: dict[str, str | Path | None], *, force: bool = False,
               ours: Callable[[Path], bool] | None = None,
               within: dict[str, str | Path | None] | None = None) -> None:
    """A single output file: never an input nor inside a folder that is read (``within``: model
    folders), even with ``force``; an existing file is replaced only with ``force`` or when
    ``ours`` says dada wrote it (and nobody changed it since: :func:`dada_plugin.io.sealed`)."""
    path = Path(path)
    refuse_inputs([path], inputs)
    for label, folder in (within or {}).items():
        if folder and Path(folder).is_dir() and inside(path, folder):
            raise InputError(path, f"lies inside the {label} ({folder}); write it somewhere else")
    if path.is_dir():
        raise InputError(path, "is a folder; give a file name")
    check_writable(path.parent)
    if not os.path.lexists(path) or force or (ours is not None and not path.is_symlink() and ours(path)):
        return
    raise InputError(path, "exists and dada did not write it (or it was changed since); pass "
                           "--force to replace it")


def read_marker(folder: Path, command: str) -> dict | None:
    """The marker of ``folder`` when ``command`` wrote it and it is well formed, else None."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("command") != command:
        return None
    files, dirs = data.get("files", {}), data.get("dirs", [])
    ok = (isinstance(files, dict) and isinstance(dirs, list) and all(isinstance(d, str) for d in dirs)
          and all(isinstance(v, list) and all(isinstance(i, list) and len(i) == 3 for i in v)
                  for v in files.values()))
    return {**data, "files": files, "dirs": dirs} if ok else None


def is_ours(path: Path, name: str, marker: dict) -> bool:
    """``path`` (``name`` in the marker) is what the marker recorded: a folder it lists, or a
    file with the identity it had when written; a symlink never."""
    if path.is_symlink():
        return False
    if path.is_dir():
        return name in marker["dirs"]
    try:
        return identity(path) in marker["files"].get(name, [])
    except OSError:
        return False


def _leftover_pattern(names) -> re.Pattern:
    """Temporary files of ours left by a killed run: exactly mkstemp's ``.NAME.XXXXXXXX.tmp``."""
    return re.compile(r"^\.(?:" + "|".join(re.escape(n) for n in names) + r")\.[a-z0-9_]{8}\.tmp$")


class OwnedFolder:
    """A folder one dada command writes a known set of ``names`` into (``dirs``: sub-folders it
    owns whole, such as its cache, once it made them)."""

    def __init__(self, path: str | Path, command: str, names: Iterable[str], *,
                 dirs: Iterable[str] = (), force: bool = False, can_force: bool = True):
        self.path, self.command, self.force, self.can_force = Path(path), command, force, can_force
        self.names, self.dirs = tuple(names), tuple(dirs)
        self._leftover = _leftover_pattern(self.names + (MARKER,)).match

    @property
    def marker(self) -> Path:
        return self.path / MARKER

    def _read_marker(self) -> dict | None:
        return read_marker(self.path, self.command)

    def owned(self, name: str, marker: dict | None) -> bool:
        path = self.path / name
        return (marker is not None and (name in self.dirs or not path.is_dir())
                and is_ours(path, name, marker))

    def check(self) -> None:
        """Raise InputError unless this run may write its outputs here."""
        check_writable(self.path)
        if not self.path.is_dir():
            return
        marker = self._read_marker()
        try:  # a marker that is not ours (another command's, damaged, the user's) is foreign
            entries = [e for e in os.listdir(self.path)
                       if e != LOCK and not (marker is not None and (e == MARKER or self._leftover(e)))]
        except OSError as exc:
            raise InputError(self.path, f"cannot read the folder: {exc.strerror}") from None
        if entries and marker is None and not self.force:
            hint = (", or pass --force to write beside its files (dada never replaces a file it "
                    "did not write)") if self.can_force else ""
            raise InputError(self.path, f"is not empty and `{self.command}` did not write it; "
                                        f"choose a new or empty folder{hint}")
        foreign = [n for n in (MARKER,) + self.names + self.dirs
                   if os.path.lexists(self.path / n) and not (n == MARKER and marker is not None)
                   and not self.owned(n, marker)]
        if foreign:
            raise InputError(self.path, "holds files dada did not write (or that changed since): "
                                        f"{', '.join(foreign)}; move them away, dada never "
                                        "replaces them")

    def claim(self, creating: Iterable[str] = (), inputs: Iterable = ()) -> None:
        """Create the folder, mark it ours, record the sub-folders this run is about to create
        (``creating``), and remove temporary files a killed run of ours left (never an input)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._release = lock_folder(self.path, self)  # before anything is removed or written, or any request
        marker = self._read_marker()
        if marker is not None:
            for entry in os.listdir(self.path):
                if self._leftover(entry) and not any(same_file(self.path / entry, i) for i in inputs if i):
                    with suppress(OSError):
                        os.unlink(self.path / entry)
        self.path.mkdir(parents=True, exist_ok=True)
        marker = marker or {"command": self.command, "files": {}, "dirs": []}
        marker["dirs"] = sorted(set(marker["dirs"]) | set(creating))
        io.write_json(self.marker, marker)

    def withdraw(self, files: Iterable[str] = (), remove_folder: bool = False) -> None:
        """Undo :meth:`claim` for a folder that held nothing before this run and holds nothing of
        value now: the given files of ours, our empty sub-folders, the marker, and the folder
        (``remove_folder``: this run made it) if empty."""
        for name in files:
            with suppress(FileNotFoundError):
                os.unlink(self.path / name)
        for name in self.dirs:
            with suppress(OSError):
                os.rmdir(self.path / name)
        with suppress(FileNotFoundError):
            os.unlink(self.marker)
        if getattr(self, "_release", None) is not None:
            self._release()  # the lock file goes with it
        if remove_folder:
            with suppress(OSError):
                os.rmdir(self.path)

    def record(self, names: Iterable[str]) -> None:
        """Record what this run wrote outside a transaction: files by identity, sub-folders by
        name (those that exist)."""
        marker = self._read_marker() or {"command": self.command, "files": {}, "dirs": []}
        for name in names:
            path = self.path / name
            if name in self.dirs and path.is_dir():
                marker["dirs"] = sorted(set(marker["dirs"]) | {name})
            elif path.is_file():
                marker["files"][name] = [identity(path)]
        io.write_json(self.marker, marker)

    @contextmanager
    def transaction(self) -> Iterator["_Transaction"]:
        """Stage every output; on success rename them into place in the order written."""
        tx = _Transaction(self)
        try:
            yield tx
        except BaseException:
            tx.discard()
            raise
        tx.commit()


class _Transaction:
    def __init__(self, folder: OwnedFolder):
        self.folder = folder
        self.staged: list[tuple[str, Path]] = []
        self.dropped: list[str] = []

    def _stage(self, name: str, writer, mode: str = "w") -> None:
        if name not in self.folder.names:
            raise ValueError(f"{name!r} is not one of the folder's outputs")
        try:
            with io.temp_open(self.folder.path / name, mode) as (fh, tmp):
                writer(fh)
        except OSError as exc:  # a full disk: the old outputs stay as they were
            raise InputError(self.folder.path / name, f"cannot write: {exc.strerror or exc}") from exc
        self.staged.append((name, tmp))

    def write_text(self, name: str, text: str) -> None:
        self._stage(name, lambda fh: fh.write(text))

    def write_json(self, name: str, obj) -> None:
        self.write_text(name, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")

    def write_jsonl(self, name: str, rows) -> None:
        self._stage(name, lambda fh: io.write_rows(fh, rows))

    def write_bytes(self, name: str, writer: Callable) -> None:
        """``writer(binary file)`` writes the output (a Parquet file)."""
        self._stage(name, writer, "wb")

    def sha256(self, name: str) -> str:
        """The sha256 of the output staged as ``name``."""
        return io.sha256_file(dict(self.staged)[name])

    def drop(self, name: str) -> None:
        """An output an earlier run wrote and this one does not: removed on commit, if ours."""
        self.dropped.append(name)

    def discard(self) -> None:
        for _, tmp in self.staged:
            with suppress(OSError):
                os.unlink(tmp)

    def commit(self) -> None:
        folder = self.folder
        marker = folder._read_marker() or {"command": folder.command, "files": {}, "dirs": []}
        new = {name: identity(tmp) for name, tmp in self.staged}
        # first the marker knows both the old and the new files, so a kill between the renames
        # leaves every file recognised as ours; then the renames; then only the new ones
        for name, ident in new.items():
            marker["files"][name] = [i for i in marker["files"].get(name, []) if i != ident] + [ident]
        io.write_json(folder.marker, marker)
        for name, tmp in self.staged:
            os.replace(tmp, folder.path / name)
        io.fsync_dir(folder.path)
        for name, ident in new.items():
            marker["files"][name] = [ident]
        for name in self.dropped:  # stale, so the set on disk is this run's
            if folder.owned(name, marker) and (folder.path / name).is_file():
                os.unlink(folder.path / name)
            if not os.path.lexists(folder.path / name):
                marker["files"].pop(name, None)
        io.write_json(folder.marker, marker)


def replace_folder(staging: Path, out: Path, command: str) -> None:
    """Move a complete ``staging`` folder to ``out``; an old ``out`` (checked again, just now, to
    be ours) is moved aside first and removed only once the new one is in place."""
    old = None
    if os.path.lexists(out):
        check_whole(out, command, force=True)
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    io.fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def mark_all(folder: Path, command: str) -> None:
    """Record every file and sub-folder under ``folder`` as written by ``command`` (a folder
    built whole, such as a merged model, before it is moved into place)."""
    files, dirs = {}, []
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink() or name == MARKER:
            continue
        if path.is_dir():
            dirs.append(name)
        elif path.is_file():
            files[name] = [identity(path)]
    io.write_json(folder / MARKER, {"command": command, "files": files, "dirs": dirs})


def check_whole(folder: Path, command: str, *, force: bool) -> None:
    """``folder`` is about to be replaced whole: it must be missing, empty, or (with ``force``)
    a folder ``command`` wrote, every file and folder in it unchanged since (a symlink never)."""
    if not os.path.lexists(folder):
        return
    if not folder.is_dir() or folder.is_symlink():
        raise InputError(folder, "exists and is not a folder dada wrote")
    entries = [p for p in folder.rglob("*") if p.name != MARKER or p.parent != folder]
    if not entries and not (folder / MARKER).exists():
        return
    if not force:
        raise InputError(folder, "exists and is not empty; pass --force to replace it")
    marker = read_marker(folder, command)
    if marker is None:
        raise InputError(folder, f"was not written by `{command}`; dada never deletes files it did "
                                 "not write: choose another output folder")
    foreign = sorted(name for name in (str(p.relative_to(folder)) for p in entries)
                     if not is_ours(folder / name, name, marker))
    if foreign:
        raise InputError(folder, "holds files dada did not write (or that changed since): "
                                 f"{', '.join(foreign[:5])}; move them away first")
