"""Generation for ``dada eval``: answers from several models on one prompt set, with the same
sampling settings for each, cached and resumable like the builder's rewrites (same store, same
backends: an OpenAI-compatible URL or a local transformers path)."""

from __future__ import annotations

import hashlib
import json
from contextlib import ExitStack
from pathlib import Path

from dada_plugin import io
from dada_plugin.data import sample_path
from dada_plugin.errors import BackendError, ConfigError, InputError, ResultError
from dada_plugin.text.lists import benchmark_prompts
from dada_plugin.eval.report import write_report
from dada_plugin.io import loads_json, read_text
from dada_plugin.llamacpp.serve import serve_gguf
from dataset_builders.load import load
from dataset_builders.rewrite import BackendOptions, Job, get_backend
from dataset_builders.store import CompletionStore, cache_key, key_prefix, run_cached

N_SLOP_PROMPTS, N_ALPACA_PROMPTS = 12, 12
CONTEXT_FOR_PROMPT = 2048  # tokens kept for the prompt when llama.cpp serves a GGUF


def parse_model(spec: str) -> tuple[str, str, dict]:
    """``NAME=URL`` (served model id = NAME), ``NAME=MODEL_ID@URL``, ``NAME=FILE.gguf`` (served
    by llama.cpp) or ``NAME=PATH`` (transformers) -> (name, kind, BackendOptions fields)."""
    name, sep, target = spec.partition("=")
    if not sep or not name or not target:
        raise ConfigError(f"--model {spec!r}: expected NAME=URL, NAME=MODEL_ID@URL or NAME=PATH")
    model_id, at, url = target.rpartition("@")
    if at and url.startswith(("http://", "https://")):
        return name, "openai", {"model": model_id, "base_urls": [url]}
    if target.startswith(("http://", "https://")):
        return name, "openai", {"model": name, "base_urls": [target]}
    if target.endswith(".gguf") and Path(target).is_file():  # served by llama.cpp for the run
        return name, "gguf", {"model": f"{name}@{file_fingerprint(target)}", "gguf": str(Path(target).resolve())}
    if not Path(target).is_dir():
        raise ConfigError(f"--model {spec!r}: {target} is neither an http(s) URL, a GGUF file nor a "
                          "local model folder")
    if not (Path(target) / "config.json").is_file():
        raise InputError(target, "not a model folder (no config.json); give a Hugging Face model "
                                 "folder, a .gguf file or an http(s) URL")
    return name, "transformers", {"model": str(Path(target).resolve())}


def file_fingerprint(path: str | Path) -> str:
    """12 hex of sha256 over a file's identity (size, mtime, inode) and first MiB: a file
    written anew under the same name (dada writes to a temporary name, then renames) is a new
    model for the cache, without hashing 50 GB."""
    path = Path(path)
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:12]


def default_prompts(n_slop: int = N_SLOP_PROMPTS, n_alpaca: int = N_ALPACA_PROMPTS) -> list[str]:
    """A fixed subset: the first slop-score benchmark prompts plus the first Alpaca questions of
    the bundled sample (no ``<nooutput>`` ones)."""
    alpaca = [r.question for r in load(sample_path()).kept[:n_alpaca]]
    return benchmark_prompts()[:n_slop] + alpaca


def read_prompts(path: str | Path) -> list[str]:
    """A JSON list of strings, or a text file with one prompt per line."""
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            prompts = loads_json(text)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from None
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise InputError(path, "a prompt list must hold strings only")
    else:
        prompts = [line for line in text.split("\n") if line.strip()]
    if not any(p.strip() for p in prompts):
        raise InputError(path, "no prompts (a JSON list of strings, or one prompt per line)")
    return prompts


def generate(specs: list[str], prompts: list[str], outdir: str | Path, sampling,
             progress: bool = True, errors: dict[str, str] | None = None,
             systems: dict[str, str] | None = None) -> tuple[dict[str, list[tuple[str, str]]], dict]:
    """Generate per model; returns ({name: [(prompt, output), ...]}, {name: failures}). A model
    whose backend gives up (a dead server) gets no samples, its error in ``errors``; the other
    models still run. ``systems``: a system prompt per model name, sent before each prompt
    (the samples keep the bare prompt, so models pair by prompt)."""
    outdir = Path(outdir)
    parsed = [parse_model(spec) for spec in specs]
    names = [name for name, _, _ in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(f"model names must be distinct: {', '.join(names)}")
    store = CompletionStore(outdir / "cache" / "generations.sqlite")
    samples: dict[str, list[tuple[str, str]]] = {name: [] for name in names}
    failures = dict.fromkeys(names, 0)
    rows = []
    try:
        for name, kind, fields in parsed:
            try:
                with ExitStack() as stack:
                    server = None
                    if kind == "gguf":
                        path = fields.pop("gguf")
                        n_ctx = CONTEXT_FOR_PROMPT + sampling.max_new_tokens  # room for every reply
                        server = stack.enter_context(serve_gguf(path, alias=fields["model"], n_ctx=n_ctx))
                        fields["base_urls"] = [server.url]
                        kind = "openai"
                    backend = get_backend(kind, BackendOptions(**sampling.model_dump(), **fields))
                    backend.watch = server.check if server else None
                    prefix = key_prefix(backend.identity(), "generate")
                    system = (systems or {}).get(name)
                    head = [{"role": "system", "content": system}] if system else []
                    jobs = [Job(cache_key(prefix, p, system or ""), [*head, {"role": "user", "content": p}])
                            for p in prompts]
                    done, _ = run_cached(jobs, [f"{name}:{i}" for i in range(len(jobs))], backend, store,
                                         desc=f"generate [{name}]", progress=progress)
            except BackendError as exc:
                failures[name] = len(prompts)
                if errors is not None:
                    errors[name] = str(exc)
                continue
            for job in jobs:
                c = done[job.key]
                if c.error is not None or not c.text:
                    failures[name] += 1
                    continue
                prompt = job.messages[-1]["content"]
                samples[name].append((prompt, c.text))
                rows.append({"model": name, "prompt": prompt, "output": c.text,
                             "finish_reason": c.finish_reason})
    finally:
        store.close()
    io.write_jsonl(outdir / "generations.jsonl", rows)
    return samples, failures


def compare_models(specs: list[str], prompts: list[str], outdir: str | Path, sampling, *,
                   progress: bool = True, title: str | None = None, **report_options) -> dict:
    """Generate from every model, then write the side-by-side report of those that gave
    samples. ResultError (after the report of the others is written) when a model gave none:
    an empty column would read as "no slop"."""
    errors: dict[str, str] = {}
    samples, failures = generate(specs, prompts, outdir, sampling, progress=progress, errors=errors)
    columns = {name: rows for name, rows in samples.items() if rows}
    paths = {}
    if columns:
        paths = write_report(columns, outdir, title=title or f"Slop and diversity: {', '.join(columns)} "
                                                             f"on {len(prompts)} prompts", **report_options)
    empty = [name for name, rows in samples.items() if not rows]
    if empty:
        why = "; ".join(f"{name}: {errors.get(name, f'all {len(prompts)} generations failed')}"
                        for name in empty)
        done = f"; the report of {', '.join(columns)} is in {outdir}" if columns else ""
        raise ResultError(f"no samples from {', '.join(empty)} ({why}){done}")
    return {"paths": paths, "failures": failures, "prompts": len(prompts)}
