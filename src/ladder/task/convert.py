"""`ladder data convert`: rewrite a training-data file in the openai, alpaca or sharegpt format.

All or nothing: every line is read (any format ladder.task.formats knows, mixed formats too,
or the rows of a CSV or TSV table whose header names their keys) and converted; if any line is broken or would lose information in the target format (a
multi-turn chat as alpaca, an assistant turn with weight 0 as sharegpt, preference rows as
anything but openai), every such line is reported as ``file:line: code: message`` and nothing
is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ladder.fsutil import write_file_atomic
from ladder.task import formats
from ladder.task.datasets import TABLE_DELIMITERS, DataError, read_rows
from ladder.task.validate import decode_line


@dataclass
class ConvertResult:
    written: int = 0
    formats_read: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def exit_code(self) -> int:
        return 2 if self.unreadable else (1 if self.problems else 0)


def convert_file(src: str | Path, dst: str | Path, to: str) -> ConvertResult:
    """Convert `src` into `dst` in format `to` (openai | alpaca | sharegpt)."""
    if to not in formats.TARGETS:
        raise ValueError(f"unknown target format {to!r}; use one of {', '.join(formats.TARGETS)}")
    src, dst = Path(src), Path(dst)
    result = ConvertResult()
    try:
        records = list(_records(src))
    except OSError as e:
        result.unreadable = f"{src}: unreadable: {e.strerror or e}"
        return result
    except DataError as e:  # a table whose header cannot be read
        result.unreadable = "; ".join(e.problems)
        return result
    rows: list[str] = []
    for lineno, problem, obj in records:
        if isinstance(problem, str):  # a table's row that holds no record
            result.problems.append(problem)
            continue
        try:
            if problem:
                raise formats.FormatError(*problem)
            fmt = formats.detect(obj)
            record = formats.parse(obj, fmt)
            rows.append(json.dumps(formats.to_json(record, to), ensure_ascii=False))
            result.formats_read[fmt] = result.formats_read.get(fmt, 0) + 1
        except formats.FormatError as e:
            result.problems.append(f"{src}:{lineno}: {e.code}: {e}")
        except formats.ConversionError as e:
            result.problems.append(f"{src}:{lineno}: would_lose_information: {e}")
    if not rows and not result.problems:
        result.problems.append(f"{src}: no records to convert (the file is empty)")
    if result.problems:
        return result
    write_file_atomic(dst, "".join(r + "\n" for r in rows))  # a reader never sees half a file
    result.written = len(rows)
    return result


def _records(src: Path) -> Iterator[tuple[int, tuple[str, str] | str | None, Any]]:
    """(line, problem, record) of each record of `src`: a JSONL line's problem is a (code,
    message) pair; a table's unreadable row is a `file:line: reason` text."""
    if src.suffix.lower() in TABLE_DELIMITERS:
        rows, problems = read_rows(src)
        found = [(line, text, None) for line, text in problems] + [(row.line, None, row.record) for row in rows]
        yield from sorted(found, key=lambda r: r[0])  # top to bottom, unreadable rows among the others
        return
    raw = src.read_bytes()
    for lineno, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        if line.strip():  # blank lines carry nothing to convert
            problem, obj = decode_line(line.removesuffix(b"\r"))
            yield lineno, problem, obj
