"""``review.md``: what the model will learn, to read before spending GPU hours: N random kept
pairs (seeded: the same build gives the same sample), original and rewrite side by side, and the
first few rejects of every reason with what was rejected."""

from __future__ import annotations

import random

from dataset_builders.records import Record, Rejection

PER_REASON = 3


def _quote(text: str | None, limit: int = 600) -> str:
    text = (text or "").strip()
    text = text if len(text) <= limit else text[:limit] + " …"
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def review_markdown(kept: list[Record], rejected: list[Rejection], records: dict[str, Record],
                    n: int, seed: int) -> str:
    sample = random.Random(seed).sample(kept, min(n, len(kept)))
    sample.sort(key=lambda r: r.index)
    lines = ["# Review: what the model will learn", "",
             f"{len(sample)} of the {len(kept)} kept pairs, drawn at random (seed {seed}), then the first "
             f"{PER_REASON} rejects of every reason. `dada build --review N --review-seed S` draws others.", ""]
    for rec in sample:
        lines += [f"## {rec.id} ({rec.n_tokens} tokens)", "", "**Question**", "", _quote(rec.question), "",
                  "**Original answer**", "", _quote(rec.original_answer), "", "**Rewrite (trained)**", "",
                  _quote(rec.answer), ""]
    by_reason: dict[str, list[Rejection]] = {}
    for rej in rejected:
        by_reason.setdefault(f"{rej.stage}: {rej.reason}", []).append(rej)
    if by_reason:
        lines += ["# Rejected", ""]
    for reason, rejs in sorted(by_reason.items()):
        lines += [f"## {reason} ({len(rejs)})", ""]
        for rej in rejs[:PER_REASON]:
            rec = records.get(rej.id)
            lines += [f"### {rej.id}" + (f": {rej.detail}" if rej.detail else ""), ""]
            if rec is not None:
                lines += ["**Question**", "", _quote(rec.question, 300), ""]
                if rec.answer and rec.answer != rec.original_answer:
                    lines += ["**Rewrite**", "", _quote(rec.answer, 400), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
