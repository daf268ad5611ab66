"""``dada decompile``: raw sequences back into pairs (the inverse of compile), each in its row's
conversation format (``chat_format`` in dada.jsonl), else ``--chat-format`` (default mistral-v1).

Rows are Alpaca records by default, ``{instruction, input, output}`` with the whole user turn as
the instruction and an empty input (the sequence keeps no seam between the two), so the file is
an instruction set ``dada build`` and other Alpaca tools read; or ``{question, answer}``. A
multi-turn sequence becomes ``{turns: [...]}`` of rows of the same shape."""

from __future__ import annotations

import json
from pathlib import Path

from dada_plugin import io
from dada_plugin.errors import ConfigError, InputError, TemplateError
from dada_plugin.outputs import check_file
from dataset_builders.formats import get_format


def read_sequences(path: str | Path) -> list[tuple[int, str, str | None]]:
    """(line number, raw sequence, its row's ``chat_format`` or None) from JSONL rows with a
    ``text`` field, or plain text with one sequence per line. Blank lines are skipped."""
    path = Path(path)
    lines = io.read_text(path).split("\n")  # not splitlines(): U+2028 in JSON
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                row = io.loads_json(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"malformed JSON: {exc.msg}", line=lineno) from None
            if not isinstance(row.get("text"), str):
                raise InputError(path, "JSON row without a string 'text' field", line=lineno)
            fmt = row.get("chat_format")
            out.append((lineno, row["text"], fmt if isinstance(fmt, str) else None))
        else:
            out.append((lineno, line, None))
    if not out:
        raise InputError(path, "no sequences found")
    return out


ROW_FORMATS = {
    "alpaca": lambda q, a: {"instruction": q, "input": "", "output": a},
    "question-answer": lambda q, a: {"question": q, "answer": a},
}


def pair_row(turns: list[tuple[str, str]], fields: str = "alpaca") -> dict:
    row = ROW_FORMATS[fields]
    if len(turns) == 1:
        return row(*turns[0])
    return {"turns": [row(q, a) for q, a in turns]}


def decompile_file(path: str | Path, out: str | Path, *, fields: str = "alpaca", force: bool = False,
                   chat_format: str | None = None) -> int:
    """Decompile ``path`` into ``out`` as rows of ``fields`` (a :data:`ROW_FORMATS` key; never
    over the input; an existing ``out`` only with ``force``); the number of rows written. Each
    row's sequence is read in the format it names (``chat_format``), else in ``chat_format``
    (default mistral-v1)."""
    default = get_format(chat_format)
    check_file(out, {"input": path}, force=force)
    rows = []
    for lineno, text, named in read_sequences(path):
        try:
            _, turns = (get_format(named) if named else default).decompile(text)
            rows.append(pair_row(turns, fields))
        except (TemplateError, ConfigError) as exc:
            raise InputError(path, str(exc), line=lineno) from None
    io.write_jsonl(out, rows)
    return len(rows)
