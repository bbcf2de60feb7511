"""Dataset readers: OpenAI chat JSONL and `{"input", "expected"}` JSONL.

Every bad line is reported as ``file:line: reason``; no line is dropped silently. A file with
any bad line raises DataError listing all of them, so a user fixes everything in one pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ladder.types import CheckSpec, Example, Message

ROLES = ("system", "user", "assistant")
CHECK_KEYS = {"name", "kind", "tag", "pattern", "extract", "value", "tolerance", "ignore_case", "schema"}


class DataError(Exception):
    """Problems found in a data file, one `file:line: reason` per entry."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_examples(path: Path) -> list[Example]:
    """Read a JSONL file of chat or input/expected records into Examples."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError([f"{path}: file not found"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError([f"{path}:{line}: not valid UTF-8 (byte {e.start})"]) from None

    examples: list[Example] = []
    problems: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"{path}:{lineno}"
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) carry no record
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: invalid JSON: {e.msg} (column {e.colno})")
            continue
        try:
            examples.append(_parse_record(obj, where, lineno, path))
        except ValueError as e:
            problems.append(f"{where}: {e}")
    if problems:
        raise DataError(problems)
    if not examples:
        raise DataError([f"{path}: no examples (the file is empty)"])
    return examples


def _parse_record(obj: Any, where: str, lineno: int, path: Path) -> Example:
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    ex_id = str(obj.get("id", f"{path.stem}-{lineno}"))
    if "messages" in obj:
        return _parse_chat(obj, ex_id, where)
    if "input" in obj or "expected" in obj:
        return _parse_pair(obj, ex_id, where)
    raise ValueError("missing key: expected 'messages' (chat format) or 'input' + 'expected'")


def _parse_chat(obj: dict[str, Any], ex_id: str, where: str) -> Example:
    messages = obj["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    parsed: list[Message] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ValueError(f"messages[{i}] must be an object")
        if "role" not in m:
            raise ValueError(f"messages[{i}] is missing key 'role'")
        if "content" not in m:
            raise ValueError(f"messages[{i}] is missing key 'content'")
        if m["role"] not in ROLES:
            raise ValueError(f"messages[{i}] has unknown role {m['role']!r} (use one of {', '.join(ROLES)})")
        if not isinstance(m["content"], str):
            raise ValueError(f"messages[{i}].content must be a string")
        parsed.append(Message(m["role"], m["content"]))
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
    )


def _parse_pair(obj: dict[str, Any], ex_id: str, where: str) -> Example:
    for key in ("input", "expected"):
        if key not in obj:
            raise ValueError(f"missing key {key!r}")
        if not isinstance(obj[key], str):
            raise ValueError(f"{key!r} must be a string")
    return Example(
        id=ex_id,
        input=obj["input"],
        expected=obj["expected"],
        system=obj.get("system"),
        checks=_parse_checks(obj.get("checks")),
        source=where,
    )


def _parse_checks(raw: Any) -> tuple[CheckSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("'checks' must be a list")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or not {"name", "kind", "tag"} <= c.keys():
            raise ValueError(f"checks[{i}] needs 'name', 'kind' and 'tag'")
        unknown = set(c) - CHECK_KEYS
        if unknown:
            raise ValueError(f"checks[{i}] has unknown keys: {', '.join(sorted(unknown))}")
        if c["tag"] not in ("form", "knowledge"):
            raise ValueError(f"checks[{i}].tag must be 'form' or 'knowledge'")
        if c["kind"] not in ("exact", "contains", "regex", "numeric", "json"):
            raise ValueError(f"checks[{i}].kind {c['kind']!r} is not a known check")
        out.append(CheckSpec(**c))
    return tuple(out)
