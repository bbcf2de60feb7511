"""`ladder data from-logs`: turn logged model calls into OpenAI chat JSONL training data.

Two sources:

- a JSONL file of logged OpenAI chat-completions calls, one call per line:
  ``{"request": {"messages": [...], ...}, "response": {"choices": [{"message": {...},
  "finish_reason": "stop"}], ...}, "rating"?: number}``. The Batch API's shapes are read too:
  ``request`` or ``response`` wrapped as ``{"body": {...}}`` (a response with ``status_code``).
- a ladder run store (a runs folder holding ladder.sqlite): every recorded generation of a run,
  its prompt plus the model's output, with the tier-1 check results recorded beside it. Every
  such generation answers one of the run's eval examples, so they are refused (counted as
  skipped) unless ``include_eval``: a fine-tune trained on them would be tested on its own data.

Only answers that finished normally are kept (finish_reason "stop", no error), and identical
chats are written once. Filters: ``passed_only`` (every recorded check passed; store only),
``min_rating`` (a log line's ``rating``, or in a store the mean of the people's 1-5 ratings of
the answer given in ``ladder review``, each rater's latest).
Lines that cannot be used are counted with the reason, never dropped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ladder.fsutil import write_file_atomic
from ladder.task import formats
from ladder.task.preferences import EVAL_SKIP
from ladder.tracking.store import STORE_FILE, GenerationRow, Store
from ladder.types import REVIEW_LABEL_NAME, content_hash

class LogError(Exception):
    """A source that cannot be read at all (missing file, no such run)."""


@dataclass
class ImportResult:
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    problems: list[str] = field(default_factory=list)  # file:line: reason, for lines that are broken

    def lines(self, out: Path) -> list[str]:
        text = [f"{out}: {self.written} chat example(s) written"]
        text += [f"  skipped {n}: {reason}" for reason, n in self.skipped.most_common()]
        return self.problems + text


def import_logs(
    source: str | Path,
    out: str | Path,
    run_id: str | None = None,
    rung: str | None = None,
    passed_only: bool = False,
    min_rating: float | None = None,
    include_eval: bool = False,
) -> ImportResult:
    """Read `source` (a log JSONL file or a runs folder) and write chat JSONL to `out`."""
    source = Path(source)
    result = ImportResult()
    if source.is_dir() or source.name == STORE_FILE:
        store = source if source.name == STORE_FILE else source / STORE_FILE
        chats = _from_store(store, run_id, rung, passed_only, min_rating, include_eval, result)
    else:
        if run_id or rung or passed_only or include_eval:
            raise LogError(f"{source}: --run, --rung, --passed-only and --include-eval apply to a runs folder, "
                           "not a log file")
        chats = _from_log_file(source, min_rating, result)
    seen: set[str] = set()
    rows = []
    for messages in chats:
        key = content_hash(messages)
        if key in seen:
            result.skipped["duplicate chat"] += 1
            continue
        seen.add(key)
        rows.append(json.dumps({"messages": messages}, ensure_ascii=False))
    write_file_atomic(Path(out), "".join(r + "\n" for r in rows))
    result.written = len(rows)
    return result


# -- OpenAI chat-completions logs ----------------------------------------------------------------
def _from_log_file(path: Path, min_rating: float | None, result: ImportResult) -> Iterator[list[dict[str, str]]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LogError(f"{path}: cannot read: {e.strerror or e}") from None
    for lineno, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            messages = _log_chat(record, min_rating)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            result.problems.append(f"{path}:{lineno}: not a JSON line ({type(e).__name__})")
            result.skipped["unreadable line"] += 1
            continue
        except _Skip as e:
            result.skipped[str(e)] += 1
            continue
        except formats.FormatError as e:
            result.problems.append(f"{path}:{lineno}: {e.code}: {e}")
            result.skipped["malformed request/response"] += 1
            continue
        yield messages


class _Skip(Exception):
    """A well-formed call that the filters leave out; its message is the reason."""


def _log_chat(record: Any, min_rating: float | None) -> list[dict[str, str]]:
    if not isinstance(record, dict) or "request" not in record or "response" not in record:
        raise formats.FormatError("missing_key", "expected an object with 'request' and 'response'")
    request, response = _body(record["request"]), record["response"]
    if isinstance(response, dict) and "body" in response:
        if response.get("status_code", 200) != 200:
            raise _Skip("request failed (status_code not 200)")
        response = response["body"]
    if record.get("error") or (isinstance(response, dict) and response.get("error")):
        raise _Skip("request failed (error)")
    if min_rating is not None:
        rating = record.get("rating")
        if not isinstance(rating, (int, float)) or isinstance(rating, bool) or rating < min_rating:
            raise _Skip(f"rating missing or below {min_rating:g}")
    if not isinstance(request, dict):
        raise formats.FormatError("not_a_dict", "'request' must be an object")
    prompt = [_text_message(m, f"request.messages[{i}]") for i, m in enumerate(_list(request.get("messages")))]
    choices = _list(response.get("choices") if isinstance(response, dict) else None, "response.choices")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    if choice.get("finish_reason") != "stop":
        raise _Skip(f"finish_reason {choice.get('finish_reason')!r}, not 'stop'")
    answer = _text_message(choice.get("message"), "response.choices[0].message")
    if answer["role"] != "assistant":
        raise formats.FormatError("unrecognized_role", "the response message is not the assistant's")
    messages = prompt + [answer]
    formats.parse_messages(messages, "messages")  # the same checks as any training file
    return messages


def _body(value: Any) -> Any:
    return value["body"] if isinstance(value, dict) and isinstance(value.get("body"), dict) else value


def _list(value: Any, where: str = "request.messages") -> list[Any]:
    if not isinstance(value, list) or not value:
        raise formats.FormatError("missing_messages", f"'{where}' must be a non-empty list")
    return value


def _text_message(m: Any, where: str) -> dict[str, str]:
    """A chat message as {role, content}; content given as text parts is joined, tool calls are skipped."""
    if not isinstance(m, dict):
        raise formats.FormatError("message_not_a_dict", f"{where} must be an object")
    if m.get("tool_calls") or m.get("function_call") or m.get("role") in ("tool", "function"):
        raise _Skip("tool calls (ladder trains on text chats)")
    role = "system" if m.get("role") == "developer" else m.get("role")
    content = m.get("content")
    if isinstance(content, list):
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            raise _Skip("non-text content parts (images, audio)")
        content = "".join(p["text"] for p in content)
    return {"role": role, "content": content}  # type: ignore[dict-item]


# -- the run store --------------------------------------------------------------------------------
def _from_store(
    path: Path, run_id: str | None, rung: str | None, passed_only: bool, min_rating: float | None,
    include_eval: bool, result: ImportResult,
) -> Iterator[list[dict[str, str]]]:
    if not path.exists():  # checked first: opening a Store would create an empty one
        raise LogError(f"{path}: no run store here (expected a runs folder holding {STORE_FILE})")
    with Store(path.parent) as store:
        runs = store.runs()
        if not runs:
            raise LogError(f"{path}: the store has no runs")
        run_id = run_id or runs[-1]["id"]
        if run_id not in {r["id"] for r in runs}:
            raise LogError(f"{path}: no run {run_id!r}; runs: {', '.join(r['id'] for r in runs)}")
        rung_rows = [r for r in store.rung_results(run_id) if rung is None or r.rung == rung]
        if rung and not rung_rows:
            raise LogError(f"{path}: run {run_id!r} has no rung {rung!r}")
        for r in rung_rows:
            for g in store.generations(r.id):
                if not include_eval:  # a run's generations answer its eval examples (preferences.EVAL_SKIP)
                    result.skipped[EVAL_SKIP] += 1
                elif g.error or g.finish_reason != "stop":
                    result.skipped[f"finish_reason {g.finish_reason!r} or error"] += 1
                elif passed_only and not all(a.verdict for a in g.assessments):
                    result.skipped["a check failed (--passed-only)"] += 1
                elif min_rating is not None and _rating(g) < min_rating:
                    result.skipped[f"human rating missing or below {min_rating:g}"] += 1
                elif not g.output.strip():
                    result.skipped["empty output"] += 1
                else:
                    yield list(g.prompt) + [{"role": "assistant", "content": g.output}]


def _rating(g: GenerationRow) -> float:
    """The mean of the people's 1-5 ratings of an answer (`ladder review`); -inf when none."""
    scores = [a.score for a in g.assessments if a.source_kind == "human" and a.name == REVIEW_LABEL_NAME
              and a.score is not None and a.error is None]
    return sum(scores) / len(scores) if scores else float("-inf")
