"""Training-data formats in and out: one record type per kind of data, one parser per format.

Formats read (one JSON object per line; the format of a line is detected from its keys):

==================  =====================================================================
openai              ``{"messages": [{"role", "content", "weight"?}, ...]}`` (weight 0/1, assistant only)
alpaca              ``{"instruction", "input"?, "output", "system"?}``
sharegpt            ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}, ...]}``
prompt_completion   ``{"prompt": str, "completion": str}``
pair                ``{"input", "expected", "system"?}`` (ladder's eval rows)
openai_preference   ``{"input": {"messages"}, "preferred_output": [..], "non_preferred_output": [..]}``
preference          ``{"prompt", "chosen", "rejected"}`` (prompt: text or messages)
text                ``{"text": str}`` (continued pre-training)
==================  =====================================================================

Every format may also carry ``id`` and per-example ``checks``; they travel through conversions.
Parsing yields a Conversation, a Preference or a Text; writing turns one back into
openai, alpaca or sharegpt JSON, refusing (ConversionError) whatever would lose information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

ROLES = ("system", "user", "assistant")
META_KEYS = ("id", "checks")  # ladder's own keys, allowed on every format
TARGETS = ("openai", "alpaca", "sharegpt")
SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}
MESSAGE_KEYS = ("role", "content", "name", "weight")


class FormatError(ValueError):
    """A record that does not fit its format; `code` is a short stable name for the problem."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class ConversionError(ValueError):
    """A record that cannot be written in the target format without losing information."""


@dataclass(frozen=True)
class Turn:
    role: str  # system | user | assistant
    content: str
    weight: int | None = None  # OpenAI: 0 = do not train on this assistant turn; None = default (1)


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...]
    meta: tuple[tuple[str, Any], ...] = ()  # (key, value) of META_KEYS present on the row


@dataclass(frozen=True)
class Preference:
    prompt: tuple[Turn, ...]
    chosen: str
    rejected: str
    meta: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Text:
    text: str
    meta: tuple[tuple[str, Any], ...] = ()


Record = Union[Conversation, Preference, Text]


# -- detection -----------------------------------------------------------------------------
def detect(obj: Any) -> str:
    """The format of one parsed JSON line, from its keys; FormatError if it fits none."""
    if not isinstance(obj, dict):
        raise FormatError("not_a_dict", f"expected a JSON object, got {_type(obj)}")
    keys = set(obj)
    if "messages" in keys:
        return "openai"
    if "conversations" in keys:
        return "sharegpt"
    if keys & {"preferred_output", "non_preferred_output"} or isinstance(obj.get("input"), dict):
        return "openai_preference"
    if keys & {"chosen", "rejected"}:
        return "preference"
    if "instruction" in keys or "output" in keys:
        return "alpaca"
    if "completion" in keys:
        return "prompt_completion"
    if "expected" in keys or "input" in keys:
        return "pair"
    if "text" in keys:
        return "text"
    raise FormatError(
        "missing_messages",
        "missing 'messages' list (no known format fits the keys "
        f"{', '.join(repr(k) for k in sorted(map(str, keys))) or '(none)'})",
    )


# -- parsing -------------------------------------------------------------------------------
def parse(obj: Any, fmt: str | None = None) -> Record:
    """Parse one JSON line in format `fmt` (detected when None); FormatError on any problem."""
    fmt = fmt or detect(obj)
    meta = tuple((k, obj[k]) for k in META_KEYS if k in obj)
    if fmt == "openai":
        _only_keys(obj, ("messages",))
        return Conversation(parse_messages(obj["messages"], "messages"), meta)
    if fmt == "sharegpt":
        _only_keys(obj, ("conversations",))
        return Conversation(_parse_sharegpt(obj["conversations"]), meta)
    if fmt == "alpaca":
        _only_keys(obj, ("instruction", "input", "output", "system"))
        system = _optional_text(obj, "system")
        user = _text(obj, "instruction")
        extra = _optional_text(obj, "input")
        turns = ([Turn("system", system)] if system else []) + [
            Turn("user", f"{user}\n\n{extra}" if extra else user),
            Turn("assistant", _text(obj, "output")),
        ]
        return Conversation(tuple(turns), meta)
    if fmt == "prompt_completion":
        _only_keys(obj, ("prompt", "completion"))
        return Conversation((Turn("user", _text(obj, "prompt")), Turn("assistant", _text(obj, "completion"))), meta)
    if fmt == "pair":
        _only_keys(obj, ("input", "expected", "system"))
        system = _optional_text(obj, "system")
        turns = ([Turn("system", system)] if system else []) + [
            Turn("user", _text(obj, "input")), Turn("assistant", _text(obj, "expected"))]
        return Conversation(tuple(turns), meta)
    if fmt == "openai_preference":
        _only_keys(obj, ("input", "preferred_output", "non_preferred_output"))
        inp = obj.get("input")
        if not isinstance(inp, dict) or "messages" not in inp:
            raise FormatError("missing_messages", "'input' must be an object with a 'messages' list")
        _only_keys(inp, ("messages",), where="input.")
        prompt = parse_messages(inp["messages"], "input.messages", need_assistant=False)
        return Preference(prompt, _one_answer(obj, "preferred_output"), _one_answer(obj, "non_preferred_output"), meta)
    if fmt == "preference":
        _only_keys(obj, ("prompt", "chosen", "rejected"))
        raw = obj.get("prompt")
        if isinstance(raw, list):
            prompt = parse_messages(raw, "prompt", need_assistant=False)
        else:
            prompt = (Turn("user", _text(obj, "prompt")),)
        return Preference(prompt, _one_answer(obj, "chosen"), _one_answer(obj, "rejected"), meta)
    if fmt == "text":
        _only_keys(obj, ("text",))
        return Text(_text(obj, "text"), meta)
    raise ValueError(f"unknown format {fmt!r}")


def parse_messages(raw: Any, where: str, need_assistant: bool = True) -> tuple[Turn, ...]:
    """OpenAI chat messages -> Turns, with the checks of OpenAI's chat data-prep guide."""
    if not isinstance(raw, list) or not raw:
        raise FormatError("missing_messages", f"'{where}' must be a non-empty list")
    turns = []
    for i, m in enumerate(raw):
        at = f"{where}[{i}]" if where != "messages" else f"messages[{i}]"
        if not isinstance(m, dict):
            raise FormatError("message_not_a_dict", f"{at} must be an object")
        if "role" not in m:
            raise FormatError("missing_role", f"{at} is missing key 'role'")
        if "content" not in m:
            raise FormatError("missing_content", f"{at} is missing key 'content'")
        extra = [k for k in m if k not in MESSAGE_KEYS]
        if extra:
            raise FormatError(
                "unrecognized_key", f"{at} has unrecognized key {extra[0]!r} (allowed: {', '.join(MESSAGE_KEYS)})")
        if m["role"] not in ROLES:
            raise FormatError(
                "unrecognized_role", f"{at} has unknown role {m['role']!r} (use one of {', '.join(ROLES)})")
        if not isinstance(m["content"], str):
            raise FormatError("content_not_string", f"{at}.content must be a string")
        if not m["content"].strip():
            raise FormatError("missing_content", f"{at}.content is empty")
        turns.append(Turn(m["role"], m["content"], _weight(m, at)))
    if need_assistant and not any(t.role == "assistant" for t in turns):
        raise FormatError("no_assistant", f"'{where}' has no assistant message to learn from")
    return tuple(turns)


def _weight(m: dict[str, Any], at: str) -> int | None:
    if "weight" not in m:
        return None
    w = m["weight"]
    if m["role"] != "assistant":
        raise FormatError("bad_weight", f"{at}.weight is only allowed on assistant messages")
    if isinstance(w, bool) or w not in (0, 1):
        raise FormatError("bad_weight", f"{at}.weight must be 0 or 1 (got {w!r})")
    return int(w)


def _parse_sharegpt(raw: Any) -> tuple[Turn, ...]:
    if not isinstance(raw, list) or not raw:
        raise FormatError("missing_messages", f"'conversations' must be a non-empty list (got {_type(raw)})")
    turns = []
    for i, m in enumerate(raw):
        at = f"conversations[{i}]"
        if not isinstance(m, dict):
            raise FormatError("message_not_a_dict", f"{at} must be an object")
        if "from" not in m:
            raise FormatError("missing_role", f"{at} is missing key 'from'")
        if "value" not in m:
            raise FormatError("missing_content", f"{at} is missing key 'value'")
        extra = [k for k in m if k not in ("from", "value")]
        if extra:
            raise FormatError("unrecognized_key", f"{at} has unrecognized key {extra[0]!r} (allowed: from, value)")
        if m["from"] not in SHAREGPT_ROLES:
            raise FormatError(
                "unrecognized_role", f"{at} has unknown 'from' {m['from']!r} (use one of {', '.join(SHAREGPT_ROLES)})")
        if not isinstance(m["value"], str):
            raise FormatError("content_not_string", f"{at}.value must be a string (got {_type(m['value'])})")
        if not m["value"].strip():
            raise FormatError("missing_content", f"{at}.value is empty")
        turns.append(Turn(SHAREGPT_ROLES[m["from"]], m["value"]))
    if not any(t.role == "assistant" for t in turns):
        raise FormatError("no_assistant", "'conversations' has no 'gpt' turn to learn from")
    return tuple(turns)


def _one_answer(obj: dict[str, Any], key: str) -> str:
    """A preference answer: text, or a list holding one assistant message."""
    raw = obj.get(key)
    if isinstance(raw, list):
        turns = parse_messages(raw, key)
        if len(turns) != 1:
            raise FormatError("wrong_type", f"'{key}' must hold exactly one assistant message (got {len(turns)})")
        return turns[0].content
    return _text(obj, key)


def _only_keys(obj: dict[str, Any], allowed: tuple[str, ...], where: str = "") -> None:
    extra = [k for k in obj if k not in allowed and not (not where and k in META_KEYS)]
    if extra:
        raise FormatError("unrecognized_key", f"unrecognized key '{where}{extra[0]}' (allowed: {', '.join(allowed)})")


def _text(obj: dict[str, Any], key: str) -> str:
    if key not in obj:
        raise FormatError("missing_key", f"missing key {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise FormatError("content_not_string", f"{key!r} must be a string (got {_type(value)})")
    if not value.strip():
        raise FormatError("missing_content", f"{key!r} is empty")
    return value


def _optional_text(obj: dict[str, Any], key: str) -> str:
    if obj.get(key) is None:
        return ""
    if not isinstance(obj[key], str):
        raise FormatError("content_not_string", f"{key!r} must be a string (got {_type(obj[key])})")
    return obj[key]


def _type(v: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number" if isinstance(v, (int, float)) else type(v).__name__)


# -- writing -------------------------------------------------------------------------------
def to_json(record: Record, target: str) -> dict[str, Any]:
    """`record` as one JSON object in `target` format; ConversionError if that would lose information."""
    if target not in TARGETS:
        raise ValueError(f"unknown target format {target!r}; use one of {', '.join(TARGETS)}")
    if isinstance(record, Text):
        raise ConversionError(
            "a {\"text\"} row is continued pre-training text, not a chat; it has no openai/alpaca/sharegpt form")
    meta = dict(record.meta)
    if isinstance(record, Preference):
        if target != "openai":
            raise ConversionError(f"preference rows convert only to openai (DPO shape), not to {target}")
        return {**meta, "input": {"messages": [_message(t) for t in record.prompt]},
                "preferred_output": [{"role": "assistant", "content": record.chosen}],
                "non_preferred_output": [{"role": "assistant", "content": record.rejected}]}
    turns = record.turns
    if target == "openai":
        return {**meta, "messages": [_message(t) for t in turns]}
    if any(t.weight == 0 for t in turns):
        raise ConversionError(f"an assistant turn has weight 0; {target} has no per-turn weights")
    if target == "sharegpt":
        names = {v: k for k, v in SHAREGPT_ROLES.items()}
        return {**meta, "conversations": [{"from": names[t.role], "value": t.content} for t in turns]}
    system = [t for t in turns if t.role == "system"]
    rest = [t for t in turns if t.role != "system"]
    if len(system) > 1 or (system and turns[0].role != "system") or [t.role for t in rest] != ["user", "assistant"]:
        shape = " -> ".join(t.role for t in turns)
        raise ConversionError(f"alpaca holds one user turn and one answer (and a leading system); this chat is {shape}")
    out = {**meta, "instruction": rest[0].content, "input": "", "output": rest[1].content}
    if system:
        out["system"] = system[0].content
    return out


def _message(t: Turn) -> dict[str, Any]:
    m: dict[str, Any] = {"role": t.role, "content": t.content}
    if t.weight is not None:
        m["weight"] = t.weight
    return m
