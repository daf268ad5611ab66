"""The stages in order: ``load -> rewrite (store) -> clean -> compile -> filter -> write``.

Every stage maps records to kept records plus rejections with a reason; outputs are written
atomically at the end (nothing is written when the input is bad; the rewrite store is the
only thing written while a run is in flight, and it only ever grows).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from dada_plugin import outputs
from dada_plugin.errors import ResultError
from dataset_builders import card
from dataset_builders.clean import CLEAN_REASONS, clean
from dataset_builders.judge import judge, judge_backend, load_judge_prompt
from dataset_builders.load import load
from dataset_builders.records import Record, Rejection, StageResult
from dataset_builders.review import review_markdown
from dataset_builders.style import dataset_shift, grade_histogram, histogram_available
from dataset_builders.rewrite import Completion, Job, get_backend
from dataset_builders.rewrite.prompt import echo_chunks, is_echo, load_template, render
from dataset_builders.settings import BuildSettings
from dataset_builders.store import (
    CompletionStore,
    cache_key,
    key_prefix,
    run_cached,
    throughput_stats,
)
from dataset_builders.tokens import load_tokenizer

OUTPUTS = ("dada.jsonl", "dada.parquet", "rejected.jsonl", "review.md", "grades.png", "README.md",
           "stats.json")  # stats.json last
STORE_NAME = "rewrites.sqlite"
HIST_BIN = 16
CUT_EXAMPLES = 5  # cuts shown in stats.json and the card


@dataclass
class BuildResult:
    outdir: Path
    kept: list[Record]
    rejected: list[Rejection]
    stats: dict


def _stage_stats(n_in: int, result: StageResult) -> dict:
    return {"in": n_in, "out": len(result.kept), "rejected": dict(Counter(r.reason for r in result.rejected))}


def verdict(c, rec: Record, chunks: list[str]) -> tuple[str, str] | None:
    """Why a completion cannot be used as ``rec``'s answer, or None when it can."""
    if c is None or c.error is not None:
        return "backend_error", c.error if c else "no answer"
    if c.finish_reason == "length":
        return "truncated", "finish_reason=length"
    if c.finish_reason == "content_filter":
        return "content_filter", "finish_reason=content_filter"
    if c.finish_reason == "too_large":
        return "too_large", f"reply over {c.meta.get('bytes_over', '?')} bytes"
    if is_echo(c.text or "", chunks, rec.question, rec.original_answer):
        return "echo", "the reply repeats the rewrite prompt"
    return None


def retire_rejected(records: list[Record], jobs: list[Job], store: CompletionStore, chunks: list[str],
                    reasons: set[str], checks: dict | None = None) -> int:
    """Set aside the stored rewrites that ended with one of ``reasons`` (kept in the store's
    history, never deleted), so they are asked again; returns how many."""
    cached = store.get_many([j.key for j in jobs])
    again, trial, keys = [], [], {}
    for job, rec in zip(jobs, records):
        c = cached.get(job.key)
        if c is None:
            continue
        why = verdict(c, rec, chunks)
        if why is not None:
            if why[0] in reasons:
                again.append(job.key)
        elif reasons & set(CLEAN_REASONS):
            trial.append(Record(rec.id, rec.index, rec.question, rec.original_answer, c.text))
            keys[rec.id] = job.key
    if trial:
        again += [keys[r.id] for r in clean(trial, **(checks or {})).rejected if r.reason in reasons]
    store.retire(again)
    return len(again)


def rewrite(records: list[Record], backend, template: str, store: CompletionStore | None,
            progress: bool = True, retry: Iterable[str] = (), checks: dict | None = None,
            before=None) -> tuple[StageResult, dict]:
    """Ask the backend for every record the store does not hold yet; each completion is in the
    store before it is counted (``before()``: the pre-flight, run before the first request)."""
    if not backend.cacheable:  # in-process and free: no prompt, key or store
        started = time.monotonic()
        answers: dict[str, Completion] = {}
        backend.complete([Job(r.id, [], (r.question, r.original_answer)) for r in records],
                         lambda job, c: answers.__setitem__(job.key, c))
        for rec in records:
            rec.answer = answers[rec.id].text
        return StageResult(kept=list(records)), throughput_stats(len(records), 0, time.monotonic() - started)
    chunks = echo_chunks(template)
    prefix = key_prefix(backend.identity(), template)
    jobs = [Job(cache_key(prefix, r.question, r.original_answer), render(template, r.question, r.original_answer))
            for r in records]
    retried = retire_rejected(records, jobs, store, chunks, set(retry), checks) if retry and store else 0
    done, throughput = run_cached(jobs, [r.id for r in records], backend, store,
                                  desc=f"rewrite [{backend.describe()}]", progress=progress, before=before)
    throughput["retried_rejected"] = retried
    result = StageResult()
    for job, rec in zip(jobs, records):
        c = done.get(job.key)
        why = verdict(c, rec, chunks)
        if why is not None:
            result.reject(rec, "rewrite", *why)
        else:
            rec.answer = c.text
            result.kept.append(rec)
    return result, throughput


def compile_records(records: list[Record], tokenizer) -> None:
    """Each record's sequence in the tokenizer's conversation format, and its token count (the
    ids training will see)."""
    systems = [r.system for r in records]
    counts = tokenizer.count_batch([[(r.question, r.answer)] for r in records],
                                   systems if any(s is not None for s in systems) else None)
    render = tokenizer.format.render
    for rec, n in zip(records, counts):
        rec.text = render([(rec.question, rec.answer)], system=rec.system)
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
    lows = Counter(n // HIST_BIN * HIST_BIN for n in ordered)
    hist = {f"{lo}-{lo + HIST_BIN - 1}": count for lo, count in lows.items()}
    return {"count": len(lengths), "min": ordered[0], "max": ordered[-1],
            "mean": round(statistics.fmean(lengths), 2), "p50": ordered[len(ordered) // 2],
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
            "over_max_tokens": sum(n > max_tokens for n in lengths), "histogram": hist}


def build(input_path: str | Path, outdir: str | Path, options: BuildSettings | None = None) -> BuildResult:
    """Run every stage and write the outputs into ``outdir``."""
    options = options or BuildSettings()
    started = time.monotonic()
    outdir = Path(outdir)
    folder = outputs.OwnedFolder(outdir, "dada build", OUTPUTS, dirs=("cache",), force=options.force)
    outputs.refuse_inputs([outdir / n for n in (*OUTPUTS, outputs.MARKER)] + [outdir / "cache" / STORE_NAME],
                          {"input": input_path, "style prompt": options.style_prompt,
                           "judge prompt": options.judge_prompt})
    folder.check()
    template = load_template(options.style_prompt)
    backend = get_backend(options.backend, options)
    tokenizer = load_tokenizer(options.tokenizer, options.chat_format)

    fmt = tokenizer.format
    loaded = load(input_path, options.fields, keep_system=fmt.system is not None or fmt.system_in_user)
    n_read = len(loaded.kept) + len(loaded.rejected)
    records = loaded.kept[:options.limit] if options.limit else loaded.kept
    stages = {"load": _stage_stats(n_read, loaded)}
    rejected = list(loaded.rejected)
    checks = options.model_dump(include={"fact_check", "style_check", "min_grade_drop", "max_slop_rate"})

    rewrites = options.backend != "none"  # the checks and the judge judge rewrites
    judging = bool(options.judge_model) and rewrites
    if judging:
        load_judge_prompt(options.judge_prompt)  # a bad prompt file stops the run before any request
    judge_client = judge_backend(options) if judging else None

    def preflight() -> None:
        """Every endpoint the run will use answers before its first paid request: a dead judge
        is not found after every rewrite was paid for."""
        backend.preflight()
        if judge_client is not None:
            judge_client.preflight("judge")

    stored = backend.cacheable or judging
    created = not outdir.exists()
    fresh = created or not any(outdir.iterdir())
    folder.claim(creating=("cache",) if stored else (), inputs=(input_path, options.style_prompt,
                                                                options.judge_prompt))
    store = CompletionStore(outdir / "cache" / STORE_NAME) if stored else None

    def withdraw_unless_paid(paid: int) -> None:
        """A run that stops with nothing paid for leaves no trace in a folder that was empty."""
        if fresh and not paid:
            folder.withdraw([f"cache/{STORE_NAME}{end}" for end in ("", "-wal", "-shm", "-journal")],
                            remove_folder=created)

    failed = True
    try:
        rewritten, throughput = rewrite(records, backend, template, store if backend.cacheable else None,
                                        options.progress, options.retry_rejected, checks, preflight)
        stages["rewrite"] = _stage_stats(len(records), rewritten)
        cleaned = clean(rewritten.kept, rewritten=rewrites, chat_format=fmt, **checks)
        answers = {r.id: r.answer for r in cleaned.kept}
        stages["clean"] = {**_stage_stats(len(rewritten.kept), cleaned),
                           "cuts": dict(Counter(kind for _, kind, _ in cleaned.cuts)),
                           "cut_examples": [{"id": i, "kind": kind, "cut": text, "answer": answers[i]}
                                            for i, kind, text in cleaned.cuts[:CUT_EXAMPLES]]}
        judged = cleaned
        if judging:
            judged, throughput["judge"] = judge(cleaned.kept, options, store, options.progress, judge_client)
            stages["judge"] = _stage_stats(len(cleaned.kept), judged)
        failed = False
    finally:
        paid = len(store) if store is not None else 0
        if store is not None:
            store.close()
        if failed:
            withdraw_unless_paid(paid)
    compile_records(judged.kept, tokenizer)
    filtered = filter_length(judged.kept, options.max_tokens)
    stages["filter"] = _stage_stats(len(judged.kept), filtered)
    for result in (rewritten, cleaned, *([judged] if judged is not cleaned else []), filtered):
        rejected += result.rejected
    rejected.sort(key=lambda r: int(r.id.split("-", 1)[0]))

    kept = filtered.kept
    style = dataset_shift([(r.original_answer, r.answer) for r in kept]) if rewrites else {}
    grades = style.pop("grades", None)
    stats = {
        "input": str(input_path), "records_read": n_read, "kept": len(kept),
        "rejected": len(rejected), "stages": stages, "backend": backend.describe(),
        "tokenizer": tokenizer.name, "chat_format": fmt.name, "max_tokens": options.max_tokens,
        "token_lengths": length_stats([r.n_tokens for r in judged.kept], options.max_tokens),
        "rewrite": throughput, "style": style, "elapsed_s": round(time.monotonic() - started, 3),
        "outputs": [n for n in OUTPUTS if (n != "dada.parquet" or "parquet" in options.formats)
                    and (n != "grades.png" or (grades and histogram_available()))],
    }
    try:
        check_result(stats, rejected, options.max_failed_share, paid)
    except ResultError:
        withdraw_unless_paid(paid)
        raise
    with folder.transaction() as tx:  # stats.json, which lists the set, is renamed last
        # each row says the format it was rendered and counted in; built once for both copies
        rows = [{**r.output_row(), "chat_format": fmt.name} for r in kept]
        tx.write_jsonl("dada.jsonl", rows)
        if "parquet" in options.formats:
            tx.write_bytes("dada.parquet", lambda fh: parquet_copy(rows, fh))
        else:
            tx.drop("dada.parquet")
        if "grades.png" in stats["outputs"]:
            tx.write_bytes("grades.png", lambda fh: grade_histogram(grades, fh))
        else:
            tx.drop("grades.png")
        tx.write_jsonl("rejected.jsonl", (r.output_row() for r in rejected))
        tx.write_text("review.md", review_markdown(kept, rejected, {r.id: r for r in records},
                                                   options.review, options.review_seed))
        # the card's configs carry the files' sha256: datasets keys its cache of a folder by
        # the card, so a rebuild (or another folder of the same name) never loads stale rows
        stats["sha256"] = {name: tx.sha256(name) for name in ("dada.jsonl", "rejected.jsonl")}
        tx.write_text("README.md", card.dataset_card(stats, template, options))
        tx.write_json("stats.json", stats)
    return BuildResult(outdir, kept, rejected, stats)


def parquet_copy(rows: list[dict], fh) -> None:
    """The kept rows as Parquet, written by ``datasets`` (its features in the file's metadata,
    as the Hub's viewer reads them)."""
    import datasets

    was_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        datasets.Dataset.from_list(rows).to_parquet(fh)
    finally:
        if was_on:
            datasets.enable_progress_bars()


def check_result(stats: dict, rejected: list[Rejection], max_failed_share: float, paid: int = 0) -> None:
    """ResultError when the build kept nothing or too many records failed at the backend. Then
    nothing is written (the outputs of an earlier run stay as they were); every rewrite that
    came back is in the store, so a rerun asks only for the rest."""
    after = "nothing written (earlier outputs are kept); " + (
        "rerun to ask only for what is missing" if paid else "nothing was stored")
    # the share holds for the rewrites and for the verdicts each: verdicts that came back must
    # not hide rewrites that did not
    for name, what in (("rewrite", "rewrites"), ("judge", "verdicts")):
        stage = stats["stages"].get(name)
        failed = stage["rejected"].get("backend_error", 0) if stage else 0
        if stage and stage["in"] and failed / stage["in"] > max_failed_share:
            last = next((r.detail for r in reversed(rejected)
                         if r.reason == "backend_error" and r.stage == name), "")
            raise ResultError(f"{failed} of {stage['in']} {what} failed at the backend (more than "
                              f"{max_failed_share:.0%}; last error: {last}); {after}")
    if stats["kept"] == 0:
        reasons = Counter(r.reason for r in rejected).most_common()
        why = ", ".join(f"{reason} {n}" for reason, n in reasons) or "none"
        raise ResultError(f"no record was kept (of {stats['records_read']} read; rejected: {why}); {after}")
