"""The one record type that flows through every stage, and the rejection that leaves the flow.

A stage is a function ``list[Record] -> StageResult``: what it keeps flows on, what it drops
becomes a :class:`Rejection` with a reason. No stage re-parses what an earlier stage produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Record:
    """One instruction/answer pair on its way from Alpaca to a Mixtral-Instruct sequence."""

    id: str                      # "<index>-<12 hex of the content hash>", stable across runs
    index: int                   # position in the input file (0-based)
    question: str                # instruction and input merged into one user turn
    original_answer: str         # the Alpaca output, seams cleaned
    answer: str | None = None    # the rewritten (then cleaned) answer
    text: str | None = None      # the raw Mixtral-Instruct sequence
    n_tokens: int | None = None  # tokens of ``text`` incl. BOS and EOS
    judge: dict | None = None    # the LLM judge's verdict and reason, when one judged
    system: str | None = None    # a system prompt the input row had (formats with a system role)

    def output_row(self) -> dict:
        """The ``dada.jsonl`` row: the pair, the raw sequence, its length and chat messages."""
        row = {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "original_answer": self.original_answer,
            "text": self.text,
            "n_tokens": self.n_tokens,
            "messages": [
                *([{"role": "system", "content": self.system}] if self.system is not None else []),
                {"role": "user", "content": self.question},
                {"role": "assistant", "content": self.answer},
            ],
        }
        if self.system is not None:
            row["system"] = self.system
        if self.judge is not None:
            row["judge"] = self.judge
        return row


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record dropped by a stage, with the reason (a short stable key) and a detail."""

    id: str
    stage: str
    reason: str
    detail: str = ""

    def output_row(self) -> dict:
        row = {"id": self.id, "stage": self.stage, "reason": self.reason}
        if self.detail:
            row["detail"] = self.detail
        return row


@dataclass(slots=True)
class StageResult:
    kept: list[Record] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    cuts: list[tuple[str, str, str]] = field(default_factory=list)  # (record id, kind, text cut)

    def reject(self, rec: Record, stage: str, reason: str, detail: str = "") -> None:
        self.rejected.append(Rejection(rec.id, stage, reason, detail))
