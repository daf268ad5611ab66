"""The durable, resumable completion store (SQLite, one committed row per finished completion),
shared by the builder's rewrites and eval's generations.

A completion is committed (WAL, ``synchronous=FULL``) before it is counted, so a run killed at
any moment (kill -9 included) loses nothing it was told: rerunning the same command finds every
finished completion here and asks the backend only for what is missing. The key covers backend,
model, prompt template, sampling parameters and the record's content (see :func:`cache_key`).
Stores written by earlier versions (a ``rewrites`` table) are read as they are: their keys are
unchanged, so a rewrite paid for is never requested again after an upgrade.
"""

from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading
import time
from pathlib import Path

from dada_plugin.errors import InputError
from dataset_builders.rewrite.registry import Completion, Job

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    text TEXT,
    finish_reason TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
);
CREATE TABLE IF NOT EXISTS retired (
    key TEXT NOT NULL,
    owner TEXT NOT NULL,
    text TEXT,
    finish_reason TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL,
    retired REAL NOT NULL DEFAULT (julianday('now'))
);
"""


def key_prefix(identity: dict, template: str) -> bytes:
    """The part of every key shared by one run (backend identity and prompt template)."""
    return json.dumps([identity, template], sort_keys=True, ensure_ascii=False).encode("utf-8")


def cache_key(prefix: bytes, question: str, answer: str) -> str:
    h = hashlib.sha256(prefix)
    for part in (question, answer):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class CompletionStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "rewrites" in tables and "completions" not in tables:  # a store of an earlier version
            self._db.executescript("ALTER TABLE rewrites RENAME TO completions;"
                                   "ALTER TABLE completions RENAME COLUMN record_id TO owner;")
        self._db.executescript(SCHEMA)

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text, reason, meta in self._db.execute(
                f"SELECT key, text, finish_reason, meta FROM completions WHERE key IN ({marks})", chunk
            ):
                found[key] = Completion(text, reason, None, json.loads(meta))
        return found

    def put_many(self, items: list[tuple[str, str, Completion]]) -> None:
        """Durably store finished completions in one transaction (one fsync). Only answered
        requests are stored; failed ones are not, so a rerun asks again."""
        rows = [(key, owner, c.text, c.finish_reason, json.dumps(c.meta, ensure_ascii=False))
                for key, owner, c in items]
        try:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO completions (key, owner, text, finish_reason, meta) "
                    "VALUES (?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:  # a full disk: what was committed before stays
            raise InputError(self.path, f"cannot store completions: {exc}") from exc

    def retire(self, keys: list[str]) -> None:
        """Move stored completions to the ``retired`` table (a paid answer is never deleted),
        so the next run asks for them again."""
        if not keys:
            return
        self._db.execute("BEGIN")
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute("INSERT INTO retired (key, owner, text, finish_reason, meta, created) "
                                 f"SELECT key, owner, text, finish_reason, meta, created FROM completions "
                                 f"WHERE key IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM completions WHERE key IN ({marks})", chunk)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class GroupWriter:
    """Commits completions from a background thread, many per transaction (group commit), so
    the backend's request loop never waits on fsync. ``on_committed`` is called for each item
    only after its transaction committed: a completion is on disk before it is counted."""

    def __init__(self, store: CompletionStore, on_committed):
        self._store = store
        self._on_committed = on_committed
        self._queue: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="dada-store-writer", daemon=True)
        self._thread.start()

    def submit(self, key: str, owner: str, completion: Completion) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((key, owner, completion))

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is None
            items = [b for b in batch if b is not None]
            if items and self._error is None:
                try:  # an error is surfaced to the producer on its next submit, or at close
                    self._store.put_many(items)
                    for key, _, completion in items:
                        self._on_committed(key, completion)
                except BaseException as exc:
                    self._error = exc
            if stop:
                return

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def run_cached(jobs: list[Job], owners: list[str], backend, store: CompletionStore | None, *,
               desc: str, progress: bool = True, before=None) -> tuple[dict[str, Completion], dict]:
    """Complete every job whose key the store does not hold yet (duplicates once), with a
    progress bar (rate, ETA). Answered completions are committed before they are counted;
    returns ``{key: completion}`` for all jobs and throughput figures. ``before()`` runs once
    before the first request, only when there is one to make (the pre-flight checks)."""
    from tqdm import tqdm

    done: dict[str, Completion] = store.get_many([j.key for j in jobs]) if store is not None else {}
    todo = list({j.key: j for j in jobs if j.key not in done}.values())
    if todo and before is not None:
        before()
    owner = dict(zip((j.key for j in jobs), owners)) if store is not None else {}
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="rec", dynamic_ncols=True,
               desc=desc, disable=not progress or not todo)

    def counted(key: str, completion: Completion) -> None:
        done[key] = completion
        bar.update(1)

    writer = GroupWriter(store, counted) if store is not None else None

    def on_result(job: Job, completion: Completion) -> None:
        if writer is not None and completion.error is None:
            writer.submit(job.key, owner[job.key], completion)  # counted once committed
        elif bar.disable:
            done[job.key] = completion
        else:
            counted(job.key, completion)

    started = time.monotonic()
    try:
        backend.complete(todo, on_result)
    finally:
        try:
            if writer is not None:
                writer.close()
        finally:
            bar.close()
    return done, throughput_stats(len(todo), len(jobs) - len(todo), time.monotonic() - started)


def throughput_stats(requested: int, cached: int, seconds: float) -> dict:
    return {"requested": requested, "cached": cached, "seconds": round(seconds, 3),
            "records_per_s": round(requested / seconds, 2) if requested and seconds > 0 else None}
