"""Stage 1, load: read and validate the instruction set, merge instruction and input into one
user turn, clean the seams, drop ``<nooutput>`` and empty answers with a reason.

Inputs: Alpaca JSON (a list) or JSONL through dada's own reader (it names the bad record, which
``datasets``' JSON loader cannot); Parquet (read by pyarrow, ``datasets``' Parquet engine) and
a folder ``Dataset.save_to_disk`` wrote (read by ``datasets.load_from_disk``; a DatasetDict gives
its ``train`` split, or its only one). Rows are Alpaca columns (renamed with :class:`Fields`) or
chat rows: ``messages`` (``role``/``content``) or ShareGPT ``conversations`` (``from``/``value``),
of which the first user/assistant pair is taken; a chat row that opens with a system prompt or
does not open with a user turn answered by the assistant is rejected with a reason.

The joiner: ``instruction + "\\n\\n" + input`` when the input is not empty, else the instruction
alone. No "Input:" label. At each seam, and in every field, trailing spaces at line ends are
removed, the ends are stripped and runs of three or more newlines become one blank line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from dada_plugin import io
from dada_plugin.errors import InputError
from dataset_builders.records import Record, StageResult

FIELDS = ("instruction", "input", "output")
JOINER = "\n\n"
STAGE = "load"
CHAT_KEYS = {"messages": ("role", "content"), "conversations": ("from", "value")}
ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
         "model": "assistant", "system": "system"}
LOAD_REASONS = ("nooutput", "empty_answer", "empty_question", "system_prompt", "no_pair")
_TRAILING = re.compile(r"[ \t]+(?=\n)")
_BLANKS = re.compile(r"\n{3,}")
_NOOUTPUT = re.compile(r"<\s*no\s*output\s*>", re.I)


@dataclass(frozen=True)
class Fields:
    """The columns that hold an Alpaca record's parts; ``input`` None: there is none."""

    instruction: str = "instruction"
    input: str | None = "input"
    output: str = "output"


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
    text = io.read_text(path)
    if not text.strip():
        raise InputError(path, "empty file")
    return text


def _locate_json_error(path: Path, text: str, exc: json.JSONDecodeError) -> InputError:
    """Walk the list element by element (one comma between elements) to name the record a
    syntax error lies in, or right after."""
    decoder = io.JSON_DECODER
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
    where = "" if isinstance(exc, io.DuplicateKey) else f" (line {exc.lineno}, column {exc.colno})"
    return InputError(path, f"malformed JSON: {exc.msg}{where}", record=index)


def _read_json(path: Path) -> list:
    text = _decode(path)
    if path.suffix == ".jsonl" or (path.suffix != ".json" and text.lstrip()[0] == "{"):
        return [row for _, row in io.jsonl_rows(path, text)]
    try:
        rows = io.loads_json(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("["):
            raise _locate_json_error(path, text, exc) from None
        hint = " (one object per line is JSONL: name the file .jsonl)" if exc.msg == "Extra data" else ""
        raise InputError(path, f"malformed JSON: {exc.msg} (line {exc.lineno}){hint}") from None
    if not isinstance(rows, list):
        raise InputError(path, f"the top level must be a list of records, not {type(rows).__name__}")
    return rows


def _read_parquet(path: Path) -> list:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file ({exc})") from None


def _read_saved(path: Path) -> list:
    """A folder ``save_to_disk`` wrote: a Dataset, or a DatasetDict's train (or only) split."""
    import datasets

    try:
        data = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001 - damaged metadata raises KeyError, TypeError, ...
        raise InputError(path, f"not a dataset folder that datasets can load "
                               f"({type(exc).__name__}: {exc})") from None
    if isinstance(data, datasets.DatasetDict):
        splits = list(data)
        if "train" not in data and len(splits) != 1:
            raise InputError(path, f"a DatasetDict without a train split (splits: {', '.join(splits)})")
        data = data["train" if "train" in data else splits[0]]
    return data.to_list()


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


def read_raw(path: str | Path) -> list:
    """The rows of the input, as read (JSON list, JSONL, Parquet or a saved dataset folder)."""
    path = Path(path)
    if path.is_dir():
        if not any((path / n).is_file() for n in ("state.json", "dataset_dict.json")):
            raise InputError(path, "a folder, but not one datasets' save_to_disk wrote (no state.json "
                                   "or dataset_dict.json)")
        rows = _read_saved(path)
    elif not path.is_file():
        raise InputError(path, "no such file")
    elif path.suffix == ".parquet" or _magic(path) == b"PAR1":
        rows = _read_parquet(path)
    else:
        rows = _read_json(path)
    if not rows:
        raise InputError(path, "no records")
    return rows


def _text(path, index: int, key: str, value, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise InputError(path, f"{key!r} must be a string, not {type(value).__name__}", record=index)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(path, f"{key!r} holds an unpaired surrogate ({exc.object[exc.start]!r})",
                         record=index) from None
    return value


def _chat_pair(path, index: int, key: str, turns, keep_system: bool = False) -> tuple[dict | None, str]:
    """(the first user/assistant pair as an Alpaca record, '') or (None, the reason it has none).
    A system prompt first is kept (``system`` in the record) when ``keep_system`` (the target
    format has a system role), else the row is rejected as ``system_prompt``."""
    role_key, text_key = CHAT_KEYS[key]
    if not isinstance(turns, list):
        raise InputError(path, f"{key!r} must be a list of turns, not {type(turns).__name__}", record=index)
    system = None
    if keep_system and turns and isinstance(turns[0], dict) and \
            ROLES.get(turns[0].get(role_key), turns[0].get(role_key)) == "system":
        system = _text(path, index, f"{key}.0.{text_key}", turns[0].get(text_key))
        turns = turns[1:]
    roles = []
    for turn in turns[:2]:
        if not isinstance(turn, dict) or role_key not in turn or text_key not in turn:
            raise InputError(path, f"a turn of {key!r} must be an object with {role_key!r} and "
                                   f"{text_key!r}", record=index)
        if not isinstance(turn[role_key], str):
            raise InputError(path, f"the {role_key!r} of a turn of {key!r} must be a string, not "
                                   f"{type(turn[role_key]).__name__}", record=index)
        roles.append(ROLES.get(turn[role_key], turn[role_key]))
    if roles[:1] == ["system"]:
        return None, "system_prompt"
    if roles != ["user", "assistant"]:
        return None, "no_pair"
    first = 1 if system is not None else 0
    raw = {"instruction": _text(path, index, f"{key}.{first}.{text_key}", turns[0][text_key]), "input": "",
           "output": _text(path, index, f"{key}.{first + 1}.{text_key}", turns[1][text_key])}
    return ({**raw, "system": system} if system is not None else raw), ""


def alpaca_record(path, index: int, row, fields: Fields = Fields(),
                  keep_system: bool = False) -> tuple[dict | None, str]:
    """One row as ``{instruction, input, output}`` strings, or (None, reason) for a chat row with
    no pair to take. InputError (naming file and record) for a row that is neither."""
    if not isinstance(row, dict):
        raise InputError(path, f"a record must be an object, not {type(row).__name__}", record=index)
    if fields.instruction not in row:
        chat = next((k for k in CHAT_KEYS if k in row), None)
        if chat and fields.instruction == Fields.instruction and fields.output == Fields.output:
            return _chat_pair(path, index, chat, row[chat], keep_system)  # --input-field means nothing here
        columns = ", ".join(map(str, list(row)[:8])) or "none"
        hint = (f"a {chat} row is read as a chat only without --instruction-field/--output-field" if chat
                else "name yours with --instruction-field/--input-field/--output-field, or give "
                     "messages/conversations rows")
        raise InputError(path, f"missing key {fields.instruction!r} (its keys: {columns}; {hint})",
                         record=index)
    out = {}
    for part, key in (("instruction", fields.instruction), ("input", fields.input), ("output", fields.output)):
        if key is None:
            out[part] = ""
        elif key not in row:
            raise InputError(path, f"missing key {key!r}", record=index)
        else:
            out[part] = _text(path, index, key, row[key], optional=part == "input")
    return out, ""


def load(path: str | Path, fields: Fields = Fields(), keep_system: bool = False) -> StageResult:
    """Read, validate and merge; drops become rejections with a reason. ``keep_system``: chat
    rows keep a leading system prompt (the target format has a system role)."""
    result = StageResult()
    for index, row in enumerate(read_raw(path)):
        raw, reason = alpaca_record(path, index, row, fields, keep_system)
        if raw is None:
            blob = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
            rec = Record(id=f"{index}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}", index=index,
                         question="", original_answer="")
            result.reject(rec, STAGE, reason)
            continue
        rec = Record(id=record_id(index, raw), index=index,
                     question=merge_turn(raw["instruction"], raw["input"]),
                     original_answer=clean_seam(raw["output"]), system=raw.get("system"))
        if _NOOUTPUT.search(raw["output"]):
            result.reject(rec, STAGE, "nooutput", rec.original_answer[:80])
        elif not rec.original_answer:
            result.reject(rec, STAGE, "empty_answer")
        elif not rec.question:
            result.reject(rec, STAGE, "empty_question")
        else:
            result.kept.append(rec)
    return result
