import sqlite3

from dataset_builders.rewrite import Completion
from dataset_builders.store import CompletionStore, GroupWriter, cache_key, key_prefix


def test_key_covers_identity_template_and_record():
    p1 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.7}, "T {question} {answer}")
    p2 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.8}, "T {question} {answer}")
    p3 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.7}, "U {question} {answer}")
    keys = {cache_key(p, q, a) for p in (p1, p2, p3) for q, a in (("q", "a"), ("q", "b"), ("qa", ""))}
    assert len(keys) == 9
    assert cache_key(p1, "q", "a") == cache_key(p1, "q", "a")


def test_counted_only_after_commit(tmp_path):
    db = tmp_path / "r.sqlite"
    store = CompletionStore(db)
    seen = []

    def on_committed(key, completion):
        # another connection already sees the row when it is counted
        with sqlite3.connect(db) as con:
            row = con.execute("SELECT text FROM completions WHERE key = ?", (key,)).fetchone()
        seen.append((key, row[0], completion.text))

    writer = GroupWriter(store, on_committed)
    for i in range(50):
        writer.submit(f"k{i}", f"{i}-r", Completion(f"t{i}", meta={"i": i}))
    writer.close()
    assert sorted(seen) == sorted((f"k{i}", f"t{i}", f"t{i}") for i in range(50))
    got = store.get_many([f"k{i}" for i in range(60)])
    assert len(got) == 50 and got["k7"].meta == {"i": 7}
    store.close()
    assert len(CompletionStore(db)) == 50


def test_a_store_of_an_earlier_version_is_read_as_it_is(tmp_path):
    """Rewrites paid for before the upgrade (a `rewrites` table keyed the same way) are found,
    never requested again."""
    db = tmp_path / "rewrites.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE rewrites (key TEXT PRIMARY KEY, record_id TEXT NOT NULL, text TEXT, "
                    "finish_reason TEXT NOT NULL, meta TEXT NOT NULL, "
                    "created REAL NOT NULL DEFAULT (julianday('now')))")
        con.execute("INSERT INTO rewrites (key, record_id, text, finish_reason, meta) "
                    "VALUES ('k1', '0-abc', 'paid for', 'stop', '{}')")
    store = CompletionStore(db)
    assert store.get_many(["k1", "k2"])["k1"].text == "paid for"
    store.put_many([("k2", "1-def", Completion("new"))])
    assert len(store) == 2
