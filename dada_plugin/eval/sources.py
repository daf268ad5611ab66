"""Read texts to measure: every input becomes {column: [(prompt, output), ...]}.

* ``dada.jsonl`` (rows with ``answer`` and ``original_answer``): two columns, the original and
  the rewritten answers; the prompt is the row's ``question``.
* other JSONL, or a JSON list of objects: one column named after the text field (``text``,
  ``output`` or ``answer``, the first a row has); the prompt is ``prompt``, ``question`` or
  ``instruction`` (plus ``input``).
* slop-score result files (``{model: {samples: [{prompt, output}, ...]}}``): one column per
  model; as on the leaderboard, only outputs longer than 300 characters count.
* anything else is plain text: one column ``text``, one record per paragraph (blank-line
  separated), each paragraph its own prompt.

Missing or empty outputs are skipped. A prompt of ``None`` means "a prompt of its own".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from dada_plugin.errors import InputError
from dada_plugin.eval import Sample
from dada_plugin.io import jsonl_rows, loads_json, read_text

TEXT_FIELDS = ("text", "output", "answer")
PROMPT_FIELDS = ("prompt", "question", "instruction")
LEADERBOARD_MIN_CHARS = 300
PARAGRAPH = re.compile(r"\n[ \t]*\n")



@dataclass
class Source:
    path: str
    format: str  # "dada", "jsonl", "json", "slop-score", "text"
    columns: dict[str, list[Sample]]


def _prompt(row: dict) -> str | None:
    for key in PROMPT_FIELDS:
        value = row.get(key)
        if isinstance(value, str) and value:
            extra = row.get("input") if key == "instruction" else None
            return f"{value}\n\n{extra}" if isinstance(extra, str) and extra else value
    return None


def _text(path, row, key: str, where: dict) -> str | None:
    value = row.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise InputError(path, f"field {key!r} is {type(value).__name__}, not text", **where)


def _rows_to_columns(path, rows) -> tuple[str, dict[str, list[Sample]]]:
    """rows: iterable of (where, row) with where = {"line": n} or {"record": i}."""
    columns: dict[str, list[Sample]] = {}
    fmt = None
    for where, row in rows:
        if not isinstance(row, dict):
            raise InputError(path, f"expected a JSON object, got {type(row).__name__}", **where)
        if fmt is None:
            if "answer" in row and "original_answer" in row:
                fmt, fields = "dada", ("original_answer", "answer")
            else:
                key = next((k for k in TEXT_FIELDS if k in row), None)
                if key is None:
                    raise InputError(path, "no 'text', 'output' or 'answer' field", **where)
                fmt, fields = "jsonl", (key,)
            columns = {f: [] for f in fields}
        prompt = _prompt(row)
        for field in fields:
            if field not in row:
                raise InputError(path, f"missing field {field!r}", **where)
            text = _text(path, row, field, where)
            if text:
                columns[field].append((prompt, text))
    return fmt or "jsonl", columns


def _jsonl(path: Path, text: str):
    for n, row in jsonl_rows(path, text):
        yield {"line": n}, row


def _slop_score(path: Path, data: dict, min_chars: int) -> dict[str, list[Sample]]:
    columns = {}
    for model, body in data.items():
        samples = body.get("samples") if isinstance(body, dict) else None
        if not isinstance(samples, list):
            raise InputError(path, f"model {model!r} has no 'samples' list")
        kept = []
        for i, sample in enumerate(samples):
            if not isinstance(sample, dict):
                raise InputError(path, f"sample of {model!r} is not an object", record=i)
            output = _text(path, sample, "output", {"record": i})
            if output and len(output) > min_chars:
                kept.append((_prompt(sample), output))
        columns[str(model)] = kept
    return columns


def is_slop_score(data) -> bool:
    return (isinstance(data, dict) and bool(data)
            and all(isinstance(v, dict) and "samples" in v for v in data.values()))


def read_source(path: str | Path, *, min_chars: int | None = None) -> Source:
    """Read one input file into columns of (prompt, output) samples.

    ``min_chars``: keep only outputs longer than this; default 300 for slop-score result files
    (the leaderboard's rule), 0 otherwise."""
    path = Path(path)
    raw = read_text(path)
    stripped = raw.lstrip()
    if path.suffix == ".jsonl":
        fmt, columns = _rows_to_columns(path, _jsonl(path, raw))
    elif path.suffix == ".json" or stripped[:1] in ("{", "["):
        try:
            data = loads_json(raw)
        except json.JSONDecodeError as exc:
            if path.suffix == ".json":
                raise InputError(path, f"not JSON ({exc.msg})", line=exc.lineno) from exc
            data = None
        if is_slop_score(data):
            floor = LEADERBOARD_MIN_CHARS if min_chars is None else min_chars
            return checked(Source(str(path), "slop-score", _slop_score(path, data, floor)),
                           floor)
        if isinstance(data, list):
            fmt, columns = _rows_to_columns(path, (({"record": i}, r) for i, r in enumerate(data)))
            fmt = "dada" if fmt == "dada" else "json"
        elif data is None:
            fmt, columns = "text", {"text": [(None, p) for p in PARAGRAPH.split(raw) if p.strip()]}
        else:
            raise InputError(path, "JSON that is neither a slop-score result file nor a list "
                                   "of records")
    else:
        fmt, columns = "text", {"text": [(None, p) for p in PARAGRAPH.split(raw) if p.strip()]}
    if min_chars:
        columns = {k: [s for s in v if len(s[1]) > min_chars] for k, v in columns.items()}
    return checked(Source(str(path), fmt, columns), min_chars or 0)


def checked(source: Source, min_chars: int) -> Source:
    """The source, unless it holds no text at all."""
    if not any(source.columns.values()):
        longer = f" longer than {min_chars} characters" if min_chars else ""
        raise InputError(source.path, f"no texts{longer} to measure")
    return source
