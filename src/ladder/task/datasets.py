"""Dataset readers: OpenAI chat JSONL and `{"input", "expected"}` JSONL (Alpaca, ShareGPT and
prompt/completion rows too, parsed by ladder.task.formats), or the same records as the rows of a
CSV or TSV file whose header names their keys (a spreadsheet's export: `input,expected`).

Every bad line is reported as ``file:line: reason``; no line is dropped silently. A file with
any bad line raises DataError listing all of them, so a user fixes everything in one pass.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ladder.metrics.checks import validate_check
from ladder.task import formats
from ladder.validation_errors import format_validation_error
from ladder.types import CheckSpec, Example, Message

class DataError(Exception):
    """Problems found in a data file, one `file:line: reason` per entry."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t"}  # a data file with one of these suffixes is a table
# cells of a table that hold JSON where the JSONL record holds a list or an object
JSON_CELLS = ("messages", "conversations", "checks", "gold_doc")
# optional keys: an empty cell is no value (an empty `input` or `expected` is a value, and an error)
OPTIONAL_CELLS = ("id", "system", "checks", "gold_doc", "gold_passage")


@dataclass(frozen=True)
class Row:
    """One record of a data file: where it starts, what it holds, and its JSONL line (the line
    itself for a JSONL file; the record written as one for a table's row)."""

    line: int
    record: Any
    jsonl: str


Problem = tuple[int, str]  # (line, "file:line: reason")


def read_rows(path: Path) -> tuple[list[Row], list[Problem]]:
    """Every record of a JSONL, CSV or TSV data file, and a `file:line: reason` (with its line) for
    each line that holds none it can read. An unreadable file raises DataError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError([f"{path}: file not found"]) from None
    except OSError as e:
        raise DataError([f"{path}: cannot read: {e.strerror or e}"]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte order mark
    delimiter = TABLE_DELIMITERS.get(path.suffix.lower())
    return _jsonl_rows(path, raw) if delimiter is None else _table_rows(path, raw, delimiter)


def _jsonl_rows(path: Path, raw: bytes) -> tuple[list[Row], list[Problem]]:
    rows: list[Row] = []
    problems: list[Problem] = []
    # Split on "\n" only: str.splitlines() would also split inside a record at U+2028, U+0085
    # or a form feed, all of which JSON allows unescaped in strings, and shift the line numbers.
    for lineno, raw_line in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}:{lineno}"
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append((lineno, f"{where}: not valid UTF-8 (byte {e.start} of the line)"))
            continue
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) carry no record
        try:
            rows.append(Row(lineno, json.loads(line), line.rstrip("\r")))
        except json.JSONDecodeError as e:
            problems.append((lineno, f"{where}: invalid JSON: {e.msg} (column {e.colno})"))
    return rows, problems


def _table_rows(path: Path, raw: bytes, delimiter: str) -> tuple[list[Row], list[Problem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError([f"{path}:{line}: not valid UTF-8 (save the table as UTF-8)"]) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        return [], []
    except csv.Error as e:
        raise DataError([f"{path}:1: unreadable header: {e}"]) from None
    unnamed = [i + 1 for i, name in enumerate(header) if not name]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if unnamed or repeated:
        raise DataError([f"{path}:1: the header names each column once"
                         + (f"; column(s) {', '.join(map(str, unnamed))} have no name" if unnamed else "")
                         + (f"; repeated: {', '.join(repeated)}" if repeated else "")])
    rows: list[Row] = []
    problems: list[Problem] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # e.g. a quote left open: the rest of the file is one cell
            hint = ": is a quote opened on this row left open?" if "end of data" in str(e) else ""
            problems.append((start, f"{path}:{start}: unreadable row ({e}){hint}"))
            break
        lineno, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a row of empty cells
        if len(cells) != len(header):
            problems.append((lineno, f"{path}:{lineno}: {len(cells)} cells where the header has {len(header)}"))
            continue
        try:
            record = _table_record(dict(zip(header, cells)))
        except ValueError as e:
            problems.append((lineno, f"{path}:{lineno}: {e}"))
            continue
        rows.append(Row(lineno, record, json.dumps(record, ensure_ascii=False)))
    return rows, problems


def _table_record(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in cells.items():
        if key in OPTIONAL_CELLS and not value.strip():
            continue
        if key in JSON_CELLS and value.lstrip()[:1] in ("[", "{"):
            try:
                record[key] = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"column {key!r} holds invalid JSON: {e.msg} (character {e.pos + 1})") from None
            continue
        record[key] = value
    return record


def read_examples(path: Path) -> list[Example]:
    """Read a JSONL, CSV or TSV file of chat or input/expected records into Examples."""
    rows, problems = read_rows(path)
    examples: list[Example] = []
    first_line_of: dict[str, int] = {}
    for row in rows:
        where = f"{path}:{row.line}"
        try:
            example = _parse_record(row.record, where, row.line, path)
        except ValueError as e:
            problems.append((row.line, f"{where}: {e}"))
            continue
        if example.id in first_line_of:
            problems.append((row.line, f"{where}: duplicate id {example.id!r} (first on line "
                                       f"{first_line_of[example.id]})"))
            continue
        first_line_of[example.id] = row.line
        examples.append(example)
    if problems:  # the file's problems top to bottom, whichever reader found them
        raise DataError([text for _, text in sorted(problems, key=lambda p: p[0])])
    if not examples:
        raise DataError([f"{path}: no examples (the file is empty)"])
    return examples



def _parse_record(obj: Any, where: str, lineno: int, path: Path) -> Example:
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    ex_id = obj.get("id", f"{path.stem}-{lineno}")
    if isinstance(ex_id, bool) or not isinstance(ex_id, (str, int)):
        raise ValueError(f"'id' must be a string or an integer (got {ex_id!r})")
    ex_id = str(ex_id)
    try:
        fmt = formats.detect(obj)
    except formats.FormatError:
        fmt = None
    if fmt == "openai":
        return _parse_chat(obj, ex_id, where)
    if fmt == "pair":
        return _parse_pair(obj, ex_id, where)
    if fmt in ("alpaca", "sharegpt", "prompt_completion"):
        record = formats.parse(obj, fmt)  # FormatError is a ValueError: reported as file:line
        turns = [Message(t.role, t.content) for t in record.turns]  # type: ignore[union-attr]
        return _chat_example(turns, obj, ex_id, where)
    if fmt is not None:
        raise ValueError(
            f"a row of format {fmt} has no single reference answer; use it for training, not as an example")
    raise ValueError(
        "missing key: expected 'messages' (chat format), 'input' + 'expected', "
        "or an alpaca / sharegpt / prompt-completion row"
    )


def _parse_chat(obj: dict[str, Any], ex_id: str, where: str) -> Example:
    turns = formats.parse_messages(obj["messages"], "messages", need_assistant=False)
    return _chat_example([Message(t.role, t.content) for t in turns], obj, ex_id, where)  # type: ignore[arg-type]


def _chat_example(parsed: list[Message], obj: dict[str, Any], ex_id: str, where: str) -> Example:
    """The last assistant message is the reference; what comes before it is system + history."""
    if parsed[-1].role != "assistant":
        raise ValueError("the last message must be the assistant's reference answer")
    if len(parsed) < 2 or parsed[-2].role != "user":
        raise ValueError("the reference answer must follow a user message")
    system = parsed[0].content if parsed[0].role == "system" else None
    body = parsed[1:] if system is not None else parsed
    if any(m.role == "system" for m in body):
        raise ValueError("a system message may only come first")
    return Example(
        id=ex_id,
        input=body[-2].content,
        expected=body[-1].content,
        system=system,
        history=tuple(body[:-2]),
        checks=_parse_checks(obj.get("checks")),
        source=where,
        **_parse_gold(obj),
    )


def _parse_pair(obj: dict[str, Any], ex_id: str, where: str) -> Example:
    for key in ("input", "expected"):
        if key not in obj:
            raise ValueError(f"missing key {key!r}")
        if not isinstance(obj[key], str):
            raise ValueError(f"{key!r} must be a string")
    if not obj["expected"].strip():
        raise ValueError("'expected' is empty: an example needs its reference answer")
    if obj.get("system") is not None and not isinstance(obj["system"], str):
        raise ValueError("'system' must be a string")
    return Example(
        id=ex_id,
        input=obj["input"],
        expected=obj["expected"],
        system=obj.get("system"),
        checks=_parse_checks(obj.get("checks")),
        source=where,
        **_parse_gold(obj),
    )


def _parse_gold(obj: dict[str, Any]) -> dict[str, Any]:
    """`gold_doc` (a corpus path or a list of them) and `gold_passage`, for retrieval metrics."""
    docs = obj.get("gold_doc")
    docs = [docs] if isinstance(docs, str) else docs
    if docs is not None and (not isinstance(docs, list) or not all(isinstance(d, str) and d for d in docs)):
        raise ValueError("'gold_doc' must be a path in the corpus folder or a list of them")
    for d in docs or ():
        if d.startswith("/") or ".." in Path(d).parts:
            raise ValueError(f"'gold_doc' {d!r} must be a path inside the corpus folder (no '/' start, no '..')")
    passage = obj.get("gold_passage")
    if passage is not None and (not isinstance(passage, str) or not passage.strip()):
        raise ValueError("'gold_passage' must be a non-empty string")
    return {"gold_docs": tuple(docs or ()), "gold_passage": passage}


def _parse_checks(raw: Any) -> tuple[CheckSpec, ...]:
    """Per-example checks, validated exactly like the checks in task.yaml."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("'checks' must be a list")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise ValueError(f"checks[{i}] must be an object")
        try:
            out.append(validate_check(c))
        except ValidationError as e:
            raise ValueError("; ".join(f"checks[{i}].{p}" for p in format_validation_error(e))) from None
    return tuple(out)
