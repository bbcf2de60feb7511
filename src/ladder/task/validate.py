"""`ladder data validate`: check a fine-tuning data file line by line before paying to train on it.

The checks of OpenAI's chat fine-tuning data-prep guide (not a dict, missing `messages`, a
message missing `role`/`content`, an unrecognised message key or role, content that is missing
or not a string, no assistant message) for every format in ladder.task.formats, plus what breaks
files in practice: invalid JSON, empty lines, byte order marks, bytes that are not UTF-8, NUL
bytes, lone surrogates, duplicate keys, mixed formats in one file, fewer than 10 examples and
examples longer than the model's context, counted with the model's own tokenizer.

Every line read is either accepted or rejected (accepted + rejected = lines read) and every
problem names its line: ``file:line: code: message``. Exit code: 0 clean, 1 problems, 2 unreadable.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder.task import formats
from ladder.task.datasets import TABLE_DELIMITERS

MIN_EXAMPLES = 10  # OpenAI refuses fewer; far more are needed for a useful fine-tune
UTF8_BOM = b"\xef\xbb\xbf"
WIDE_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file as a whole
    code: str
    message: str
    rejects: bool = True  # False: reported, but the line is still usable (e.g. a leading BOM)


class TokenCounter:
    """Token counts with a model's own tokenizer and chat template."""

    def __init__(self, tokenizer: Any, context: int):
        self.tokenizer = tokenizer
        self.context = context

    @classmethod
    def for_model(cls, name: str, tokenizer: Any = None) -> "TokenCounter":
        """The local model `name`'s tokenizer (or `tokenizer`, already loaded) and context length."""
        from ladder.backends.local import LocalBackend
        from ladder.backends.local_models import weights_dir

        tokenizer = tokenizer if tokenizer is not None else LocalBackend(name).tokenizer
        config = json.loads((weights_dir(name) / "config.json").read_text(encoding="utf-8"))
        return cls(tokenizer, int(config.get("max_position_embeddings") or 2048))

    def _n(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _chat(self, turns: tuple[formats.Turn, ...]) -> int:
        messages = [{"role": t.role, "content": t.content} for t in turns]
        return self._n(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False))

    def count(self, record: formats.Record) -> tuple[int, int]:
        """(tokens of the whole example, tokens trained on: assistant turns / answers / all text)."""
        if isinstance(record, formats.Text):
            n = self._n(record.text)
            return n, n
        if isinstance(record, formats.Preference):
            answers = [formats.Turn("assistant", record.chosen), formats.Turn("assistant", record.rejected)]
            total = max(self._chat(record.prompt + (a,)) for a in answers)
            return total, self._n(record.chosen) + self._n(record.rejected)
        trained = sum(self._n(t.content) for t in record.turns if t.role == "assistant" and t.weight != 0)
        return self._chat(record.turns), trained


@dataclass
class Report:
    path: Path
    lines_read: int = 0
    accepted: int = 0
    problems: list[Problem] = field(default_factory=list)
    format: str | None = None
    unreadable: str | None = None
    tokens: list[int] = field(default_factory=list)  # per accepted example
    trained_tokens: list[int] = field(default_factory=list)
    max_tokens: int | None = None
    epochs: int = 3
    price_per_1m: float | None = None
    currency: str = "USD"

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.rejects and p.line > 0})

    @property
    def exit_code(self) -> int:
        return 2 if self.unreadable else (1 if self.problems else 0)

    @property
    def billed_tokens(self) -> int:
        cap = self.max_tokens or max(self.tokens, default=0)
        return sum(min(n, cap) for n in self.tokens)

    @property
    def estimated_cost(self) -> float | None:
        if self.price_per_1m is None:
            return None
        return self.billed_tokens * self.epochs * self.price_per_1m / 1e6

    def lines(self) -> list[str]:
        """What `ladder data validate` prints: every problem, then the summary."""
        if self.unreadable:
            return [f"{self.path}: unreadable: {self.unreadable}"]
        out = [f"{self.path}:{p.line}: {p.code}: {p.message}" if p.line else f"{self.path}: {p.code}: {p.message}"
               for p in sorted(self.problems, key=lambda p: (p.line == 0, p.line))]
        out.append(f"{self.path}: format {self.format or 'unknown'}; {self.lines_read} lines read: "
                   f"{self.accepted} accepted, {self.rejected} rejected; {len(self.problems)} problem(s)")
        if self.tokens:
            out.append(f"tokens per example: min {min(self.tokens)}, median {statistics.median(self.tokens):g}, "
                       f"max {max(self.tokens)} (context {self.max_tokens}); total {sum(self.tokens)}")
            t = self.trained_tokens
            out.append(f"trained (assistant) tokens per example: min {min(t)}, median {statistics.median(t):g}, "
                       f"max {max(t)}; total {sum(t)}")
            cost = self.estimated_cost
            if cost is None:
                out.append(f"estimated training tokens: {self.billed_tokens} x {self.epochs} epochs = "
                           f"{self.billed_tokens * self.epochs} (pass --price-per-1m for a cost)")
            else:
                out.append(f"estimated training cost: {self.billed_tokens} tokens x {self.epochs} epochs x "
                           f"{self.price_per_1m:g} {self.currency}/1M = {cost:.4f} {self.currency}")
        return out


def validate_file(
    path: str | Path,
    counter: TokenCounter | None = None,
    max_tokens: int | None = None,
    epochs: int = 3,
    price_per_1m: float | None = None,
    currency: str = "USD",
    min_examples: int = MIN_EXAMPLES,
) -> Report:
    """Check every line of a training-data file; never raises on bad content."""
    path = Path(path)
    if max_tokens is None and counter is not None:
        max_tokens = counter.context
    report = Report(path, max_tokens=max_tokens, epochs=epochs, price_per_1m=price_per_1m, currency=currency)
    if path.suffix.lower() in TABLE_DELIMITERS:
        report.unreadable = (f"a {path.suffix[1:].upper()} table, not JSONL: `ladder data convert {path} OUT.jsonl "
                             "--to openai` writes its rows as training chats")
        return report
    try:
        raw = path.read_bytes()
    except OSError as e:
        report.unreadable = e.strerror or str(e)
        return report
    for bom, name in WIDE_BOMS.items():
        if raw.startswith(bom):
            report.unreadable = f"the file is {name} (starts with its byte order mark); save it as UTF-8"
            return report

    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another
    detected: dict[int, str] = {}
    parsed: dict[int, formats.Record] = {}
    for lineno, line in enumerate(lines, start=1):
        report.lines_read += 1
        if lineno == 1 and line.startswith(UTF8_BOM):
            report.problems.append(Problem(1, "bom", "the file starts with a UTF-8 byte order mark; "
                                           "some tools reject it (ladder strips it)", rejects=False))
            line = line[len(UTF8_BOM):]
        problem, obj = decode_line(line.removesuffix(b"\r"))
        if problem:
            report.problems.append(Problem(lineno, *problem))
            continue
        try:
            detected[lineno] = formats.detect(obj)
            parsed[lineno] = formats.parse(obj, detected[lineno])
        except formats.FormatError as e:
            report.problems.append(Problem(lineno, e.code, str(e)))

    if detected:
        counts = Counter(detected.values())  # in order of first appearance: a tie goes to the earliest
        main = report.format = max(counts, key=counts.__getitem__)
        for lineno, fmt in detected.items():
            if fmt != main:
                message = f"a row in {fmt} format in a {main} file ({counts[main]} of {len(detected)} rows are {main})"
                report.problems.append(Problem(lineno, "mixed_formats", message))
                parsed.pop(lineno, None)

    bad = {p.line for p in report.problems if p.rejects}
    for lineno, record in sorted(parsed.items()):
        if lineno in bad:
            continue
        if counter is not None:
            try:
                total, trained = counter.count(record)
            except Exception as e:  # a tokenizer refusing odd text is a finding, not a crash
                report.problems.append(Problem(lineno, "token_count_failed", f"{type(e).__name__}: {e}"))
                continue
            if max_tokens is not None and total > max_tokens:
                report.problems.append(Problem(lineno, "too_long", f"{total} tokens, over the {max_tokens}-token "
                                               "context; it would be truncated"))
                continue
            report.tokens.append(total)
            report.trained_tokens.append(trained)
        report.accepted += 1

    if report.accepted < min_examples:
        report.problems.append(Problem(0, "too_few_examples", f"{report.accepted} usable example(s); "
                                       f"fine-tuning needs at least {min_examples}"))
    return report


def read_openai_chats(path: str | Path, min_examples: int = MIN_EXAMPLES,
                      where: str | None = None) -> list[formats.Conversation]:
    """The conversations of an OpenAI chat JSONL file (`{"messages": [...]}` per line), after
    `validate_file`'s checks: any problem that rejects a line, fewer than `min_examples`
    usable examples, or another format raises DataError listing every problem as
    `<where>:line: code: message` (`where` defaults to the path). Weights are kept on the turns."""
    from ladder.task.datasets import DataError

    path = Path(path)
    name = str(path) if where is None else where
    report = validate_file(path, min_examples=min_examples)
    if report.unreadable:
        raise DataError([f"{name}: unreadable: {report.unreadable}"])
    problems = [p for p in sorted(report.problems, key=lambda p: (p.line == 0, p.line)) if p.rejects]
    shown = [f"{name}:{p.line}: {p.code}: {p.message}" if p.line else f"{name}: {p.code}: {p.message}"
             for p in problems]
    if report.format not in (None, "openai"):
        shown.append(f"{name}: format {report.format}; only the OpenAI chat format ({{\"messages\": [...]}}) "
                     "is accepted here (`ladder data convert --to openai` converts it)")
    if shown:
        raise DataError(shown)
    chats = []
    for line in path.read_bytes().removeprefix(UTF8_BOM).split(b"\n"):
        if line.strip():
            record = formats.parse(decode_line(line.removesuffix(b"\r"))[1], "openai")
            assert isinstance(record, formats.Conversation)
            chats.append(record)
    return chats


def decode_line(line: bytes) -> tuple[tuple[str, str] | None, Any]:
    """(code, message) of the first problem that stops the line from being read, else the JSON value."""
    if not line.strip():
        return ("empty_line", "empty line; JSONL has one JSON object per line"), None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return ("not_utf8", f"not valid UTF-8 (byte {e.start} of the line: {line[e.start:e.start + 1]!r})"), None
    if text.startswith("\ufeff"):
        return ("bom", "a byte order mark at the start of the line (files joined together?)"), None
    if "\x00" in text:
        return ("nul_byte", f"NUL byte at column {text.index(chr(0)) + 1} (a UTF-16 file, or binary data?)"), None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        return ("invalid_json", f"invalid JSON: {e.msg} (column {e.colno})"), None
    except _Duplicate as e:
        return ("duplicate_key", f"key {e.args[0]!r} appears twice in one object (JSON readers keep either one)"), None
    except ValueError as e:  # NaN / Infinity
        return ("invalid_json", f"invalid JSON: {e}"), None
    except RecursionError:
        return ("invalid_json", "invalid JSON: nested too deeply"), None
    where = _lone_surrogate(obj)
    if where is not None:
        return ("lone_surrogate", f"a lone surrogate escape (\\ud800-\\udfff) in {where}; it is not a character"), None
    return None, obj


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _lone_surrogate(obj: Any) -> str | None:
    """Path of the first string (key or value) holding a lone surrogate, iteratively."""
    stack: list[tuple[str, Any]] = [("the line", obj)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(value, dict):
            for k, v in value.items():
                stack.append((f"key {k!r}" if _bad(k) else f"{where}.{k}", k if _bad(k) else v))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
    return None


def _bad(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
