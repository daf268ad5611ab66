"""Stage 1, load: read and validate Alpaca JSON (a list) or JSONL, merge instruction and input
into one user turn, clean the seams, drop ``<nooutput>`` and empty answers with a reason.

The joiner: ``instruction + "\\n\\n" + input`` when the input is not empty, else the instruction
alone. No "Input:" label. At each seam, and in every field, trailing spaces at line ends are
removed, the ends are stripped and runs of three or more newlines become one blank line.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from dada_plugin import io
from dada_plugin.errors import InputError
from dataset_builders.records import Record, StageResult

FIELDS = ("instruction", "input", "output")
JOINER = "\n\n"
STAGE = "load"
_TRAILING = re.compile(r"[ \t]+(?=\n)")
_BLANKS = re.compile(r"\n{3,}")
_NOOUTPUT = re.compile(r"<\s*no\s*output\s*>", re.I)


def clean_seam(text: str) -> str:
    if "\n" not in text and "\r" not in text:
        return text.strip()
    return _BLANKS.sub("\n\n", _TRAILING.sub("", text.replace("\r\n", "\n"))).strip()


def merge_turn(instruction: str, input_: str) -> str:
    return JOINER.join(part for part in (clean_seam(instruction), clean_seam(input_)) if part)


def record_id(index: int, raw: dict) -> str:
    blob = "\0".join((raw["instruction"], raw["input"], raw["output"]))
    digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    return f"{index}-{digest[:12]}"


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise InputError(path, "empty file")
    return text


def _locate_json_error(path: Path, text: str, exc: json.JSONDecodeError) -> InputError:
    """Walk the list element by element (one comma between elements) to name the record a
    syntax error lies in, or right after."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")
    pos = ws.match(text, text.index("[") + 1).end()
    index = 0
    while pos < len(text) and text[pos] != "]":
        try:
            _, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            break  # inside record `index`
        pos = ws.match(text, pos).end()
        if pos >= len(text) or text[pos] != ",":
            break  # a missing comma (or bracket) right after record `index`
        pos = ws.match(text, pos + 1).end()
        if pos < len(text) and text[pos] == "]":
            break  # a trailing comma after record `index`
        index += 1
    return InputError(path, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                      record=index)


def read_raw(path: str | Path) -> list[dict]:
    """The raw Alpaca records of a JSON list or a JSONL file, each checked for the three keys."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    text = _decode(path)
    rows: list = []
    if path.suffix == ".jsonl" or (path.suffix != ".json" and text.lstrip()[0] == "{"):
        rows = [row for _, row in io.jsonl_rows(path, text)]
    else:
        try:
            rows = io.loads_json(text)
        except json.JSONDecodeError as exc:
            if text.lstrip().startswith("["):
                raise _locate_json_error(path, text, exc) from None
            hint = " (one object per line is JSONL: name the file .jsonl)" if exc.msg == "Extra data" else ""
            raise InputError(path, f"malformed JSON: {exc.msg} (line {exc.lineno}){hint}") from None
        if not isinstance(rows, list):
            raise InputError(path, f"the top level must be a list of records, not {type(rows).__name__}")
    if not rows:
        raise InputError(path, "no records")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(path, f"a record must be an object, not {type(row).__name__}", record=index)
        for key in FIELDS:
            if key not in row:
                raise InputError(path, f"missing key {key!r}", record=index)
            if not isinstance(row[key], str):
                raise InputError(path, f"{key!r} must be a string, not {type(row[key]).__name__}",
                                 record=index)
            try:
                row[key].encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(path, f"{key!r} holds an unpaired surrogate ({exc.object[exc.start]!r})",
                                 record=index) from None
    return rows


def load(path: str | Path) -> StageResult:
    """Read, validate and merge; drops become rejections with a reason."""
    result = StageResult()
    for index, raw in enumerate(read_raw(path)):
        rec = Record(id=record_id(index, raw), index=index,
                     question=merge_turn(raw["instruction"], raw["input"]),
                     original_answer=clean_seam(raw["output"]))
        if _NOOUTPUT.search(raw["output"]):
            result.reject(rec, STAGE, "nooutput", rec.original_answer[:80])
        elif not rec.original_answer:
            result.reject(rec, STAGE, "empty_answer")
        elif not rec.question:
            result.reject(rec, STAGE, "empty_question")
        else:
            result.kept.append(rec)
    return result
