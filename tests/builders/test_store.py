import sqlite3

from dataset_builders.rewrite import Completion
from dataset_builders.store import GroupWriter, RewriteStore, cache_key, key_prefix


def test_key_covers_identity_template_and_record():
    p1 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.7}, "T {question} {answer}")
    p2 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.8}, "T {question} {answer}")
    p3 = key_prefix({"backend": "openai", "model": "a", "temperature": 0.7}, "U {question} {answer}")
    keys = {cache_key(p, q, a) for p in (p1, p2, p3) for q, a in (("q", "a"), ("q", "b"), ("qa", ""))}
    assert len(keys) == 9
    assert cache_key(p1, "q", "a") == cache_key(p1, "q", "a")


def test_counted_only_after_commit(tmp_path):
    db = tmp_path / "r.sqlite"
    store = RewriteStore(db)
    seen = []

    def on_committed(key, completion):
        # another connection already sees the row when it is counted
        with sqlite3.connect(db) as con:
            row = con.execute("SELECT text FROM rewrites WHERE key = ?", (key,)).fetchone()
        seen.append((key, row[0], completion.text))

    writer = GroupWriter(store, on_committed)
    for i in range(50):
        writer.submit(f"k{i}", f"{i}-r", Completion(f"t{i}", meta={"i": i}))
    writer.close()
    assert sorted(seen) == sorted((f"k{i}", f"t{i}", f"t{i}") for i in range(50))
    got = store.get_many([f"k{i}" for i in range(60)])
    assert len(got) == 50 and got["k7"].meta == {"i": 7}
    store.close()
    assert len(RewriteStore(db)) == 50
