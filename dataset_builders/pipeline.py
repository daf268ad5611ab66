"""The stages in order: ``load -> rewrite (store) -> clean -> compile -> filter -> write``.

Every stage maps records to kept records plus rejections with a reason; outputs are written
atomically at the end (nothing is written when the input is bad; the rewrite store is the
only thing written while a run is in flight, and it only ever grows).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from dada_plugin import io
from dataset_builders import card
from dataset_builders.clean import clean
from dataset_builders.load import load
from dataset_builders.records import Record, Rejection, StageResult
from dataset_builders.rewrite import BackendOptions, Job, get_backend
from dataset_builders.rewrite.prompt import load_template, render
from dataset_builders.rewrite.simple import OfflineRewrite
from dataset_builders.store import RewriteStore, cache_key, key_prefix, run_cached, throughput_stats
from dataset_builders.template import compile_pair
from dataset_builders.tokens import load_tokenizer

OUTPUTS = ("dada.jsonl", "rejected.jsonl", "stats.json", "README.md")
HIST_BIN = 16


@dataclass
class BuildOptions:
    backend: str = "heuristic"
    backend_options: BackendOptions = field(default_factory=BackendOptions)
    style_prompt: str | Path | None = None
    tokenizer: str | None = None
    max_tokens: int = 128
    limit: int | None = None
    progress: bool = True
    source_name: str = "Stanford Alpaca (tatsu-lab/stanford_alpaca)"
    source_license: str = "cc-by-nc-4.0"


@dataclass
class BuildResult:
    outdir: Path
    kept: list[Record]
    rejected: list[Rejection]
    stats: dict


def _stage_stats(n_in: int, result: StageResult) -> dict:
    reasons: dict[str, int] = {}
    for rej in result.rejected:
        reasons[rej.reason] = reasons.get(rej.reason, 0) + 1
    return {"in": n_in, "out": len(result.kept), "rejected": reasons}


def rewrite(records: list[Record], backend, template: str, store: RewriteStore | None,
            progress: bool = True) -> tuple[StageResult, dict]:
    """Ask the backend for every record the store does not hold yet; each completion is in the
    store before it is counted."""
    if isinstance(backend, OfflineRewrite):  # in-process, per pair: no jobs, keys or store
        started = time.monotonic()
        for rec in records:
            rec.answer = backend.rewrite_pair(rec.question, rec.original_answer)
        seconds = time.monotonic() - started
        return StageResult(kept=list(records)), throughput_stats(len(records), 0, seconds)
    prefix = key_prefix(backend.identity(), template)
    jobs = [Job(cache_key(prefix, r.question, r.original_answer), r.question, r.original_answer,
                render(template, r.question, r.original_answer)) for r in records]
    done, throughput = run_cached(jobs, [r.id for r in records], backend, store,
                                  desc=f"rewrite [{backend.describe()}]", progress=progress)
    result = StageResult()
    for job, rec in zip(jobs, records):
        c = done.get(job.key)
        if c is None or c.error is not None:
            result.reject(rec, "rewrite", "backend_error", c.error if c else "no answer")
        elif c.finish_reason == "length":
            result.reject(rec, "rewrite", "truncated", "finish_reason=length")
        elif c.finish_reason == "content_filter":
            result.reject(rec, "rewrite", "content_filter", "finish_reason=content_filter")
        else:
            rec.answer = c.text
            result.kept.append(rec)
    return result, throughput


def compile_records(records: list[Record], tokenizer) -> None:
    counts = tokenizer.count_batch([[(r.question, r.answer)] for r in records])
    for rec, n in zip(records, counts):
        rec.text = compile_pair(rec.question, rec.answer)
        rec.n_tokens = n


def filter_length(records: list[Record], max_tokens: int) -> StageResult:
    result = StageResult()
    for rec in records:
        if rec.n_tokens > max_tokens:
            result.reject(rec, "filter", "too_long", f"{rec.n_tokens} > {max_tokens} tokens")
        else:
            result.kept.append(rec)
    return result


def length_stats(lengths: list[int], max_tokens: int) -> dict:
    if not lengths:
        return {"count": 0}
    ordered = sorted(lengths)
    hist: dict[str, int] = {}
    for n in ordered:
        lo = (n // HIST_BIN) * HIST_BIN
        label = f"{lo}-{lo + HIST_BIN - 1}"
        hist[label] = hist.get(label, 0) + 1
    return {"count": len(lengths), "min": ordered[0], "max": ordered[-1],
            "mean": round(statistics.fmean(lengths), 2), "p50": ordered[len(ordered) // 2],
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
            "over_max_tokens": sum(n > max_tokens for n in lengths), "histogram": hist}


def build(input_path: str | Path, outdir: str | Path, options: BuildOptions | None = None) -> BuildResult:
    """Run every stage and write the outputs into ``outdir``."""
    options = options or BuildOptions()
    started = time.monotonic()
    outdir = Path(outdir)
    template = load_template(options.style_prompt)
    backend = get_backend(options.backend, options.backend_options)
    tokenizer = load_tokenizer(options.tokenizer)

    loaded = load(input_path)
    n_read = len(loaded.kept) + len(loaded.rejected)
    records = loaded.kept[:options.limit] if options.limit else loaded.kept
    stages = {"load": _stage_stats(n_read, loaded)}
    rejected = list(loaded.rejected)

    store = RewriteStore(outdir / "cache" / "rewrites.sqlite") if backend.cacheable else None
    try:
        rewritten, throughput = rewrite(records, backend, template, store, options.progress)
    finally:
        if store is not None:
            store.close()
    stages["rewrite"] = _stage_stats(len(records), rewritten)
    cleaned = clean(rewritten.kept)
    stages["clean"] = _stage_stats(len(rewritten.kept), cleaned)
    compile_records(cleaned.kept, tokenizer)
    filtered = filter_length(cleaned.kept, options.max_tokens)
    stages["filter"] = _stage_stats(len(cleaned.kept), filtered)
    for result in (rewritten, cleaned, filtered):
        rejected += result.rejected
    rejected.sort(key=lambda r: int(r.id.split("-", 1)[0]))

    kept = filtered.kept
    stats = {
        "input": str(input_path), "records_read": n_read, "kept": len(kept),
        "rejected": len(rejected), "stages": stages, "backend": backend.describe(),
        "tokenizer": tokenizer.name, "max_tokens": options.max_tokens,
        "token_lengths": length_stats([r.n_tokens for r in cleaned.kept], options.max_tokens),
        "rewrite": throughput, "elapsed_s": round(time.monotonic() - started, 3),
    }
    io.write_jsonl(outdir / "dada.jsonl", (r.output_row() for r in kept))
    io.write_jsonl(outdir / "rejected.jsonl", (r.output_row() for r in rejected))
    io.write_json(outdir / "stats.json", stats)
    io.write_text(outdir / "README.md", card.dataset_card(stats, template, options))
    return BuildResult(outdir, kept, rejected, stats)
