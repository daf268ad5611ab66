"""Output safety (dada_plugin.outputs): dada never replaces a file it did not write or reads."""

import json
import os

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.errors import InputError
from dada_plugin.outputs import LOCK, MARKER, OwnedFolder, check_whole, mark_all, refuse_inputs

SMALL = [{"instruction": f"Say {i}.", "input": "", "output": f"{i}."} for i in range(5)]


def _build(*args):
    return CliRunner().invoke(dada, ["build", *map(str, args), "--backend", "none", "--no-progress"])


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return path


def test_build_refuses_a_foreign_folder_and_keeps_its_readme(small, tmp_path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "README.md").write_text("my notes\n")
    result = _build(small, "-o", mine)
    assert result.exit_code == 1
    assert result.output == (f"Error: {mine}: is not empty and `dada build` did not write it; choose "
                             "a new or empty folder, or pass --force to write beside its files "
                             "(dada never replaces a file it did not write)\n")
    forced = _build(small, "-o", mine, "--force")
    assert forced.exit_code == 1
    assert forced.output == (f"Error: {mine}: holds files dada did not write (or that changed since): "
                             "README.md; move them away, dada never replaces them\n")
    assert (mine / "README.md").read_text() == "my notes\n"
    assert sorted(p.name for p in mine.iterdir()) == ["README.md"]


def test_build_force_writes_beside_foreign_files(small, tmp_path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    assert _build(small, "-o", mine, "--force").exit_code == 0
    assert (mine / "notes.txt").read_text() == "keep\n"
    assert len((mine / "dada.jsonl").read_text().splitlines()) == 5


def test_build_reruns_into_its_own_folder_but_not_over_an_edited_output(small, tmp_path):
    out = tmp_path / "out"
    assert _build(small, "-o", out).exit_code == 0
    assert _build(small, "-o", out).exit_code == 0  # its own folder: no --force needed
    stats = json.loads((out / "stats.json").read_text())
    assert stats["outputs"] == ["dada.jsonl", "rejected.jsonl", "review.md", "README.md", "stats.json"]
    (out / "README.md").write_text("my edited card\n")
    result = _build(small, "-o", out, "--force")
    assert result.exit_code == 1 and "README.md; move them away" in result.output
    assert (out / "README.md").read_text() == "my edited card\n"


@pytest.mark.parametrize("how", ["plain", "dotdot", "symlink"])
def test_build_refuses_an_input_among_its_outputs(small, tmp_path, how):
    out = tmp_path / "d"
    assert _build(small, "-o", out).exit_code == 0
    before = (out / "dada.jsonl").read_bytes()
    source = {"plain": out / "dada.jsonl", "dotdot": out / ".." / "d" / "dada.jsonl"}.get(how)
    if how == "symlink":
        source = tmp_path / "link.jsonl"
        source.symlink_to(out / "dada.jsonl")
    result = _build(source, "-o", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {out / 'dada.jsonl'}: is the input ({source}); write the output somewhere else\n"
    assert (out / "dada.jsonl").read_bytes() == before


def test_build_refuses_an_output_folder_under_a_file(small, tmp_path):
    result = _build(small, "-o", small / "sub")
    assert result.exit_code == 1
    assert result.output == f"Error: {small / 'sub'}: cannot be created: {small} is a file\n"


def test_decompile_refuses_its_input_and_foreign_files(tmp_path):
    src = tmp_path / "f.txt"
    src.write_text("<s>[INST] q [/INST] a</s>\n")
    result = CliRunner().invoke(dada, ["decompile", str(src), "-o", str(src)])
    assert result.exit_code == 1
    assert result.output == f"Error: {src}: is the input ({src}); write the output somewhere else\n"
    assert src.read_text() == "<s>[INST] q [/INST] a</s>\n"
    other = tmp_path / "pairs.jsonl"
    other.write_text("mine\n")
    result = CliRunner().invoke(dada, ["decompile", str(src), "-o", str(other)])
    assert result.output == f"Error: {other}: exists and dada did not write it (or it was changed since); pass --force to replace it\n"
    assert CliRunner().invoke(dada, ["decompile", str(src), "-o", str(other), "--force"]).exit_code == 0
    assert json.loads(other.read_text()) == {"instruction": "q", "input": "", "output": "a"}


def test_transaction_leaves_old_outputs_when_a_write_fails(tmp_path):
    folder = OwnedFolder(tmp_path / "o", "test", ("a.txt", "b.txt"))
    folder.check()
    folder.claim()
    with folder.transaction() as tx:
        tx.write_text("a.txt", "old a")
        tx.write_text("b.txt", "old b")

    def rows():
        yield {"x": 1}
        raise OSError(28, "No space left on device")

    with pytest.raises(InputError, match="b.txt: cannot write: No space left on device"):
        with folder.transaction() as tx:
            tx.write_text("a.txt", "new a")
            tx.write_jsonl("b.txt", rows())
    assert (tmp_path / "o" / "a.txt").read_text() == "old a"
    assert sorted(os.listdir(tmp_path / "o")) == [MARKER, LOCK, "a.txt", "b.txt"]  # held while it writes
    folder.check()  # still recognised as ours


def test_claim_removes_only_its_own_leftover_temp_files(tmp_path):
    folder = OwnedFolder(tmp_path, "test", ("a.txt",))
    (tmp_path / ".a.txt.notes.tmp").write_text("the user's")
    (tmp_path / ".a.txt.k2j3abcd.tmp").write_text("half, but no marker: not provably ours")
    with pytest.raises(InputError, match="is not empty"):
        folder.check()
    (tmp_path / ".a.txt.k2j3abcd.tmp").unlink()
    folder = OwnedFolder(tmp_path, "test", ("a.txt",), force=True)
    folder.check()
    folder.claim()
    (tmp_path / ".a.txt.k2j3abcd.tmp").write_text("half, left by a killed run of ours")
    folder.check()
    folder.claim()
    assert sorted(os.listdir(tmp_path)) == [".a.txt.notes.tmp", MARKER, LOCK]


def test_refuse_inputs_for_folders(tmp_path):
    model = tmp_path / "models" / "m"
    model.mkdir(parents=True)
    for out, word in [(model, "is"), (tmp_path / "models", "holds"), (model / "sub", "lies inside")]:
        with pytest.raises(InputError, match=f"{word} the model"):
            refuse_inputs([], {"model": model}, folder=out)
    refuse_inputs([], {"model": model}, folder=tmp_path / "elsewhere")


def test_check_whole(tmp_path):
    out = tmp_path / "merged"
    out.mkdir()
    (out / "w.bin").write_text("x")
    with pytest.raises(InputError, match="pass --force"):
        check_whole(out, "dada merge", force=False)
    with pytest.raises(InputError, match="was not written by `dada merge`"):
        check_whole(out, "dada merge", force=True)
    mark_all(out, "dada merge")
    check_whole(out, "dada merge", force=True)
    (out / "note.txt").write_text("mine")
    with pytest.raises(InputError, match="note.txt; move them away"):
        check_whole(out, "dada merge", force=True)


def test_read_only_output_folder_is_refused_before_any_work(small, mount_tmpfs):
    ro = mount_tmpfs("ro", "ro,size=1m")
    result = _build(small, "-o", ro / "out")
    assert result.exit_code == 1
    assert result.output == f"Error: {ro / 'out'}: cannot write into {ro} (read-only or no permission)\n"


def test_a_full_disk_leaves_the_earlier_outputs_whole(small, alpaca_path, mount_tmpfs):
    disk = mount_tmpfs("small", "size=48k")
    out = disk / "out"
    assert _build(small, "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = _build(alpaca_path, "-o", out, "--max-tokens", "4096")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {out}/") and result.output.endswith(
        ": cannot write: No space left on device\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp file left either


def test_a_rerun_removes_temp_files_left_by_a_killed_run(small, tmp_path):
    out = tmp_path / "out"
    assert _build(small, "-o", out).exit_code == 0
    (out / ".dada.jsonl.x1y2abcd.tmp").write_text("half a file")
    (out / ".stats.json.q9_z0k3w.tmp").write_text("{")
    assert _build(small, "-o", out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "README.md", "dada.jsonl", "rejected.jsonl",
                                                     "review.md", "stats.json"]


def test_a_users_marker_named_file_is_never_replaced(small, tmp_path):
    folder = tmp_path / "t2"
    folder.mkdir()
    (folder / MARKER).write_text(small.read_text())
    as_input = _build(folder / MARKER, "-o", folder)
    assert as_input.exit_code == 1
    assert as_input.output == f"Error: {folder / MARKER}: is the input ({folder / MARKER}); write the output somewhere else\n"
    forced = _build(small, "-o", folder, "--force")
    assert forced.exit_code == 1 and "holds files dada did not write (or that changed since): .dada.json" in forced.output
    assert (folder / MARKER).read_text() == small.read_text()


def test_another_commands_folder_is_not_taken_over(small, tmp_path):
    rep = tmp_path / "rep"
    out = tmp_path / "out"
    assert _build(small, "-o", out).exit_code == 0
    result = CliRunner().invoke(dada, ["eval", "--dataset", str(out / "dada.jsonl"), "-o", str(rep),
                                       "--no-charts", "--bootstrap", "5"])
    assert result.exit_code == 0, result.output
    forced = _build(small, "-o", rep, "--force")
    assert forced.exit_code == 1 and ".dada.json" in forced.output
    (rep / "report.md").write_text("my notes\n")  # the user's now: a rerun must not replace it
    again = CliRunner().invoke(dada, ["eval", "--dataset", str(out / "dada.jsonl"), "-o", str(rep),
                                      "--no-charts", "--bootstrap", "5"])
    assert again.exit_code == 1 and "report.md" in again.output
    assert (rep / "report.md").read_text() == "my notes\n"


def test_check_whole_refuses_symlinks_and_folders_it_did_not_make(tmp_path):
    out = tmp_path / "merged"
    out.mkdir()
    (out / "w.bin").write_text("x")
    mark_all(out, "dada merge")
    (out / "mine").mkdir()
    with pytest.raises(InputError, match="mine; move them away"):
        check_whole(out, "dada merge", force=True)
    (out / "mine").rmdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(InputError, match="link; move them away"):
        check_whole(out, "dada merge", force=True)


@pytest.mark.slow
def test_one_writer_per_output_folder(small, tmp_path):
    """A second build into a folder a running build writes fails at once, naming the first's
    pid, before it asks for anything; the first finishes with its own rows. The lock file goes
    when the run ends (and the OS frees the lock if the run is killed)."""
    import subprocess
    import sys
    import time

    from dada_plugin.offline import offline_env
    from dada_plugin.testing import FakeLLMServer

    out = tmp_path / "out"
    # 5 records x 3 s: the first still writes while the second starts, even on a slow machine
    with FakeLLMServer(latency=3.0) as srv:
        args = [sys.executable, "-m", "dada_plugin.cli", "build", str(small), "-o", str(out), "--backend",
                "openai", "--model", "m", "--base-url", srv.url, "--concurrency", "1", "--no-progress"]
        first = subprocess.Popen(args, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while srv.answered < 1 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        asked = srv.requests
        second = subprocess.run(args, env=offline_env(), capture_output=True, text=True, timeout=120)
        assert srv.requests - asked <= 1  # the second asked for nothing (the first's next request at most)
        assert first.wait(timeout=120) == 0, first.stderr.read()
    assert second.returncode == 1
    assert second.stderr.strip() == (f"Error: {out}: another dada run (pid {first.pid}) is writing this "
                                     "folder; wait for it to finish or choose another folder")
    rows = (out / "dada.jsonl").read_text().splitlines()
    assert len(rows) == json.loads((out / "stats.json").read_text())["kept"] > 0
    assert not (out / LOCK).exists()
