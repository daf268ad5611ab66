"""``dada merge``: run mergekit on a checked config with safe defaults.

- the config is checked first (strictly: local paths must exist), so nothing runs for 90 GB
  and then fails;
- a fresh ``--lora-merge-cache`` per run (mergekit keys the cache by adapter path, not content,
  so a re-trained adapter at the same path would otherwise be merged stale), removed after;
- ``--out-shard-size`` sized to the RAM available (mergekit holds a whole shard in memory);
- mergekit's offline environment (``dada_plugin.offline.offline_env``), no model card lookups on the
  hub (``--no-write-model-card``: dada writes its own card);
- output written to a staging folder beside OUT and renamed into place when complete;
- tokenizer files that mergekit does not write (``tokenizer.model``) copied from the source;
- ``mergekit_config.yml`` and README.md (the card, :mod:`.card`) written beside the weights.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from dada_plugin.errors import ConfigError, InputError, StepError
from dada_plugin.io import file_mode, load_yaml, seal, sealed, umask, write_text
from dada_plugin.mergekit.card import model_card, redact
from dada_plugin.mergekit.config import referenced_models
from dada_plugin.mergekit.layout import layout, output_layout, to_hub_layout
from dada_plugin.mergekit.lint import inspect_config
from dada_plugin.mergekit.models import path_kind, paths
from dada_plugin.mergekit.settings import MergeSettings
from dada_plugin.offline import offline_env
from dada_plugin.outputs import (check_file, check_whole, check_writable, lock_folder, mark_all, read_marker,
                                 refuse_inputs, replace_folder)

TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "chat_template.jinja")
_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4, "float64": 8}
COMMAND = "dada merge"
LOG_HEAD = "# mergekit's output, written by `dada merge` when mergekit failed\n"
MIN_SHARD, MAX_SHARD = 100_000_000, 5_000_000_000  # mergekit's default is 5B


def available_memory() -> int:
    """Bytes of RAM available now (MemAvailable), or total RAM where /proc is missing."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def shard_size(dtype: str | None, memory: int | None = None) -> str:
    """``--out-shard-size`` for ``memory`` bytes: a shard takes at most 1/12 of it (the inputs'
    tensors and the merge's scratch need the rest); between 100M and 5B params, in 100M steps."""
    memory = available_memory() if memory is None else memory
    per_param = _BYTES.get((dtype or "float32").removeprefix("torch."), 4)
    params = memory // 12 // per_param
    params = max(MIN_SHARD, min(MAX_SHARD, params // MIN_SHARD * MIN_SHARD))
    return f"{params // 1_000_000}M"


def tokenizer_dir(cfg: dict) -> Path | None:
    """The local folder the merged model's tokenizer comes from, if any: the tokenizer_source,
    else the first model."""
    source = cfg.get("tokenizer_source")
    if source in (None, "base", "union"):
        source = next(iter(referenced_models(cfg)), None)
    path = paths(source)[0] if source else None
    return Path(path) if path and path_kind(path) == "local" and Path(path).is_dir() else None


def copy_tokenizer(cfg: dict, out: Path) -> None:
    """Copy tokenizer files missing from ``out`` out of the tokenizer source."""
    src = tokenizer_dir(cfg)
    for name in TOKENIZER_FILES if src else ():
        if (src / name).is_file() and not (out / name).exists():
            shutil.copy2(src / name, out / name)


def local_inputs(cfg: dict) -> dict[str, Path]:
    """Every local folder a merge reads: models, adapters and the tokenizer source."""
    found: dict[str, Path] = {}
    for ref in referenced_models(cfg):
        for label, path in zip(("model", "adapter"), paths(ref)):
            if path and (path.startswith(("/", ".", "~")) or Path(path).exists()):
                found[f"{label} {path}"] = Path(path).expanduser()
    source = cfg.get("tokenizer_source")
    if isinstance(source, str) and source not in ("base", "union") and Path(source).expanduser().exists():
        found[f"tokenizer source {source}"] = Path(source).expanduser()
    return found


SCRATCH_MARK = ".dada-scratch"  # inside each scratch folder a merge makes beside OUT


def _scratch(out: Path, kind: str) -> Path:
    """A scratch folder beside ``out`` (staging, LoRA cache), marked as dada's."""
    path = Path(tempfile.mkdtemp(prefix=f".{out.name}.{kind}-", dir=out.parent))
    (path / SCRATCH_MARK).touch()
    return path


def remove_leftovers(out: Path) -> None:
    """Remove what a killed merge into ``out`` left beside it: only folders of mkdtemp's shape
    that dada marked (a scratch mark, or an old merge moved aside), never a user's."""
    shape = re.compile(rf"^\.{re.escape(out.name)}\.(?:(partial|lora-cache)-[a-z0-9_]{{8}}|old-\d+)$")
    for left in out.parent.iterdir():
        if (shape.match(left.name) and not left.is_symlink() and left.is_dir()
                and ((left / SCRATCH_MARK).is_file() or read_marker(left, COMMAND) is not None)):
            shutil.rmtree(left, ignore_errors=True)


def _stream(cmd: list[str], env: dict, echo: Callable[[bytes], None] | None) -> tuple[int, str]:
    """Run ``cmd``, passing its output (tqdm bars included) to ``echo``; (exit code, tail)."""
    tail: collections.deque[bytes] = collections.deque(maxlen=64)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    buf = b""
    try:
        while chunk := proc.stdout.read1(4096):
            if echo:
                echo(chunk)
            buf += chunk
            *lines, buf = buf.replace(b"\r", b"\n").split(b"\n")
            tail.extend(line for line in lines if line.strip())
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop mergekit before cleaning up
        proc.terminate()
        proc.wait()
        raise
    tail.append(buf)
    return proc.wait(), b"\n".join(tail).decode("utf-8", "replace").strip()


def _stderr(chunk: bytes) -> None:
    """Pass mergekit's output (progress bars) through to our stderr."""
    buffer = getattr(sys.stderr, "buffer", None)
    if buffer is not None:
        buffer.write(chunk)
    else:
        sys.stderr.write(chunk.decode("utf-8", "replace"))
    sys.stderr.flush()


def run_merge(config: str | Path, out: str | Path, settings: MergeSettings | None = None, *,
              echo: Callable[[bytes], None] | None = _stderr, extra_args: tuple[str, ...] = ()) -> Path:
    """Check ``config``, run ``mergekit-yaml`` into ``out``, copy the tokenizer, write the card
    (``settings``: its axolotl_config, out_shard_size, device, quiet and force).

    ``echo`` receives mergekit's output as it comes (None or ``quiet``: silent). Raises
    ConfigError for a bad config, InputError when ``out`` exists (unless ``force``), StepError
    when mergekit fails (its output is kept in ``OUT.mergekit.log``)."""
    settings = settings or MergeSettings()
    axolotl_config, force = settings.axolotl_config, settings.force
    echo = None if settings.quiet else echo

    config, out = Path(config).resolve(), Path(out).resolve()
    cfg = load_yaml(config)
    report = inspect_config(cfg, strict=True)
    if report.problems:
        raise ConfigError(report.problems, source=str(config))
    axolotl_text = None
    if axolotl_config is not None:
        try:
            axolotl_text = Path(axolotl_config).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(axolotl_config, f"cannot read: {exc.strerror}") from None
    inputs = {"merge config": config, "axolotl config": axolotl_config, **local_inputs(cfg)}
    refuse_inputs([], inputs, folder=out)
    check_whole(out, COMMAND, force=force)
    check_writable(out.parent)

    out.parent.mkdir(parents=True, exist_ok=True)
    # one writer per OUT (which is replaced whole, so the lock lies beside it), before any
    # leftover is removed
    release = lock_folder(out.parent, name=f".{out.name}.dada.lock")
    try:
        return _merge(config, cfg, out, settings, echo, axolotl_text, extra_args)
    finally:
        release()


def _merge(config: Path, cfg: dict, out: Path, settings: MergeSettings, echo, axolotl_text: str | None,
           extra_args: tuple[str, ...]) -> Path:
    remove_leftovers(out)
    staging = _scratch(out, "partial")
    cache = _scratch(out, "lora-cache")
    log = out.parent / f"{out.name}.mergekit.log"
    cmd = [sys.executable, "-m", "mergekit.scripts.run_yaml", str(config), str(staging),
           "--lora-merge-cache", str(cache),
           "--out-shard-size", settings.out_shard_size or shard_size(cfg.get("out_dtype") or cfg.get("dtype")),
           "--device", settings.device, "--copy-tokenizer", "--no-write-model-card", *extra_args]
    try:
        code, tail = _stream(cmd, offline_env(), echo)
        if code != 0:
            check_file(log, {}, ours=sealed)  # never over a file of the user's
            write_text(log, seal(f"{LOG_HEAD}{tail}\n"))
            last = tail.splitlines()[-1] if tail else "no output"
            raise StepError("mergekit", f"exit code {code}: {last}", log=str(log))
        models = [p for label, p in local_inputs(cfg).items() if label.startswith("model ")]
        if output_layout(models) == "hub" and layout(staging) == "fused":
            to_hub_layout(staging)  # the layout its inputs had, which llama.cpp & co. read
        copy_tokenizer(cfg, staging)
        config_text = config.read_text(encoding="utf-8")
        if not (staging / "mergekit_config.yml").exists():
            write_text(staging / "mergekit_config.yml", redact(config_text))
        write_text(staging / "README.md", model_card(
            cfg, config_text, axolotl_text, base_model_ids=settings.base_model_ids, license=settings.license,
            dataset_ids=tuple(settings.dataset_ids), title=settings.title))
        os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes 0700: the model is meant to be shared
        for path in staging.iterdir():  # and every file follows the umask (mergekit's may not)
            if path.is_file() and not path.is_symlink():
                os.chmod(path, file_mode())
        (staging / SCRATCH_MARK).unlink()
        mark_all(staging, COMMAND)
        replace_folder(staging, out, COMMAND)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    return out
