"""The durable, resumable rewrite store (SQLite, one committed row per finished rewrite).

A completion is committed (WAL, ``synchronous=FULL``) before it is counted, so a run killed at
any moment (kill -9 included) loses nothing it was told: rerunning the same command finds every
finished rewrite here and asks the backend only for what is missing. The key covers backend,
model, prompt template, sampling parameters and the record's content (see :func:`cache_key`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from dataset_builders.rewrite.registry import Completion

SCHEMA = """
CREATE TABLE IF NOT EXISTS rewrites (
    key TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    text TEXT,
    finish_reason TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
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


class RewriteStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text, reason, meta in self._db.execute(
                f"SELECT key, text, finish_reason, meta FROM rewrites WHERE key IN ({marks})", chunk
            ):
                found[key] = Completion(text, reason, None, json.loads(meta))
        return found

    def put(self, key: str, record_id: str, completion: Completion) -> None:
        """Durably store a finished completion (only those the backend answered: failed
        requests are not stored, so a rerun asks again)."""
        self._db.execute(
            "INSERT OR REPLACE INTO rewrites (key, record_id, text, finish_reason, meta) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, record_id, completion.text, completion.finish_reason,
             json.dumps(completion.meta, ensure_ascii=False)),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM rewrites").fetchone()[0]

    def close(self) -> None:
        self._db.close()
