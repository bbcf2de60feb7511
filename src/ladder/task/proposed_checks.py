"""Checks proposed from reference answers, for `ladder init`.

JSON references -> a `json` form check with a schema inferred from them, plus one knowledge
check per key every reference has; a few distinct short labels -> `exact` plus a one-of-the-labels
form check; numbers -> `numeric` on the last number; free text -> `contains` of a key phrase every
reference has, and a length bound. Each proposal says why, in a comment task.yaml will carry.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Sequence

MAX_LABELS = 20  # more distinct answers than this are not a label set
MAX_LABEL_CHARS = 40
MAX_ENUM = 10  # a JSON string key with at most this many distinct values gets an enum
MAX_KEY_CHECKS = 6  # knowledge checks proposed for the keys of a JSON answer
SHORT_ANSWER_WORDS = 5  # free-text references this short are looked for whole
# The last number in a text: the answer of a worked solution ("... so 12 + 30 = 42"), or a bare one.
LAST_NUMBER = r"(-?(?:\d[\d,]*)?\.?\d+)(?![\s\S]*\d)"
_BARE_NUMBER = re.compile(r"-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)%?")


def _regex_escape(text: str) -> str:
    """`text` as a regular expression matching it literally; unlike re.escape, spaces and dashes
    stay readable."""
    return re.sub(r"[.^$*+?{}\[\]\\|()]", lambda m: "\\" + m.group(0), text).replace("\n", "\\n").replace("\t", "\\t")


@dataclass(frozen=True)
class ProposedCheck:
    """One check for task.yaml (its keys, in task.yaml's spelling) and why it was proposed."""

    fields: dict[str, Any]
    why: str


@dataclass(frozen=True)
class CheckProposal:
    """What the references look like, the checks that follow, and notes for the reader."""

    shape: str  # json | labels | number | text
    checks: tuple[ProposedCheck, ...]
    notes: tuple[str, ...] = ()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _key_schema(values: list[Any]) -> dict[str, Any]:
    types = {_json_type(v) for v in values}
    if types == {"integer", "number"}:
        types = {"number"}
    if types == {"string"}:
        distinct = set(values)
        # an enum only where values repeat: unique strings (names, messages) are free text
        if len(distinct) <= MAX_ENUM and len(distinct) < len(values) and all(len(v) <= MAX_LABEL_CHARS for v in distinct):
            return {"type": "string", "enum": sorted(distinct)}
    return {"type": types.pop()} if len(types) == 1 else {"type": sorted(types)}


def infer_json_schema(values: Sequence[Any]) -> dict[str, Any]:
    """A JSON schema every one of `values` satisfies: for objects, each key's type, the keys
    present in every value as required, no other keys; an enum for a string key with few
    distinct, repeating values."""
    types = {_json_type(v) for v in values}
    if types != {"object"}:
        return {"type": sorted(types)} if len(types) > 1 else {"type": types.pop()}
    keys: dict[str, list[Any]] = {}
    for v in values:
        for k, item in v.items():
            keys.setdefault(k, []).append(item)
    return {
        "type": "object",
        "required": [k for k in keys if len(keys[k]) == len(values)],
        "additionalProperties": False,
        "properties": {k: _key_schema(items) for k, items in keys.items()},
    }


def _key_check(key: str, prop: dict[str, Any]) -> ProposedCheck | None:
    """A knowledge check comparing one key's value in the answer with the reference's."""
    quoted = f'"{re.escape(key)}"' + r"\s*:\s*"
    kind = prop.get("type")
    if kind == "string":
        return ProposedCheck(
            {"name": key, "kind": "exact", "tag": "knowledge", "extract": quoted + r'"((?:[^"\\]|\\.)*)"'},
            f"knowledge: the answer's {key!r} equals the reference's")
    if kind in ("number", "integer"):
        return ProposedCheck(
            {"name": key, "kind": "numeric", "tag": "knowledge", "extract": quoted + r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"},
            f"knowledge: the answer's {key!r} equals the reference's number")
    if kind == "boolean":
        return ProposedCheck(
            {"name": key, "kind": "exact", "tag": "knowledge", "extract": quoted + r"(true|false)"},
            f"knowledge: the answer's {key!r} equals the reference's true/false")
    return None


def _json_checks(values: list[Any]) -> CheckProposal:
    schema = infer_json_schema(values)
    shape = schema["type"] if isinstance(schema["type"], str) else " or ".join(schema["type"])
    checks = [ProposedCheck(
        {"name": "json shape", "kind": "json", "tag": "form", "schema": schema},
        f"form: every reference is a JSON {shape}; the schema is inferred from them (types, the keys every "
        "reference has as required, an enum where a key takes few values); widen it where they are not all "
        "the answers there can be")]
    notes: list[str] = []
    if schema["type"] == "object":
        # only keys every reference has: where the reference lacks a key there is nothing to compare
        required = schema["required"]
        proposed = [c for c in (_key_check(k, schema["properties"][k]) for k in required) if c is not None]
        checks += proposed[:MAX_KEY_CHECKS]
        if len(proposed) > MAX_KEY_CHECKS:
            notes.append(f"{len(proposed) - MAX_KEY_CHECKS} more key(s) could get a knowledge check like the ones above")
        optional = [k for k in schema["properties"] if k not in required]
        if optional:
            notes.append(f"no knowledge check for {', '.join(optional)}: not every reference has it; give the rows "
                         "that do their own `checks:`")
    else:
        notes.append("no knowledge check: compare the parts of this JSON that matter with `exact`/`numeric` "
                     "checks whose `extract` picks them out")
    return CheckProposal("json", tuple(checks), tuple(notes))


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _decimals(text: str) -> int:
    return len(text.split(".")[1].rstrip("%")) if "." in text else 0


def _number_checks(references: list[str], bare: bool) -> CheckProposal:
    numbers = [re.search(LAST_NUMBER, r).group(1) for r in references]  # type: ignore[union-attr]
    places = max(_decimals(n) for n in numbers)
    tolerance = 0.5 * 10 ** -places if places else 0.0
    rounding = (f"; tolerance {tolerance:g}: half the last decimal place of the references ({places})"
                if places else "; the references are whole numbers, so no tolerance")
    where = "every reference is a number" if bare else "every reference ends with a number (its answer)"
    checks = [ProposedCheck(
        {"name": "number", "kind": "numeric", "tag": "knowledge", "extract": LAST_NUMBER,
         **({"tolerance": tolerance} if tolerance else {})},
        f"knowledge: {where}; the last number in the answer is compared with it{rounding}")]
    if bare:
        checks.append(ProposedCheck(
            {"name": "a number alone", "kind": "regex", "tag": "form", "pattern": r"^-?[\d,]*\.?\d+%?$"},
            "form: the references are bare numbers, so the answer should be one too (drop this check to allow "
            "worked answers)"))
    return CheckProposal("number", tuple(checks))


def _label_checks(references: list[str]) -> CheckProposal:
    labels = sorted(set(references))
    ignore_case = len({label.lower() for label in labels}) == len(labels)
    shown = ", ".join(labels[:8]) + (", ..." if len(labels) > 8 else "")
    checks = (
        ProposedCheck(
            {"name": "label", "kind": "exact", "tag": "knowledge", **({"ignore_case": True} if ignore_case else {})},
            f"knowledge: the references are short labels, {len(labels)} distinct ({shown}); the answer must be the "
            "reference's" + (", in any case" if ignore_case else "")),
        ProposedCheck(
            {"name": "one of the labels", "kind": "regex", "tag": "form",
             "pattern": "^(?:" + "|".join(_regex_escape(label) for label in labels) + ")$",
             **({"ignore_case": True} if ignore_case else {})},
            "form: the answer is one of the labels and nothing else"),
    )
    return CheckProposal("labels", checks)


def _common_prefix(texts: list[str]) -> str:
    """The start every text shares, cut back to a word boundary ("The ca" of "The cat", "The car" -> "The ")."""
    prefix = os.path.commonprefix(texts)
    if prefix[-1:].isalnum() and any(len(t) > len(prefix) and t[len(prefix)].isalnum() for t in texts):
        prefix = re.sub(r"\w+$", "", prefix)
    return prefix


# Key phrases a free-text reference may carry, tried in order: the first one every reference has
# is looked for in the answer (`contains` with the phrase extracted from the reference).
KEY_PHRASES: tuple[tuple[str, str, str], ...] = (
    ("number", r"(\d+(?:[.,:/-]\d+)*)", "the first number of the reference"),
    ("quoted", r'"([^"\n]+)"', "the first quoted phrase of the reference"),
    ("name", r"(?<=[a-z0-9,;:] )([A-Z][\w'-]*(?: [A-Z][\w'-]*)*)", "the first capitalised name inside a sentence of the reference"),
)


def _text_checks(references: list[str]) -> CheckProposal:
    longest = max(len(r) for r in references)
    limit = max(40, 2 * longest)
    checks = [ProposedCheck(
        {"name": "not too long", "kind": "regex", "tag": "form", "pattern": f"^[\\s\\S]{{1,{limit}}}$"},
        f"form: at most twice the longest reference ({longest} characters)")]
    prefix = _common_prefix(references).strip()
    if len(prefix) >= 4:
        checks.append(ProposedCheck(
            {"name": "starts like the references", "kind": "regex", "tag": "form", "pattern": "^" + _regex_escape(prefix)},
            f"form: every reference starts with {prefix!r}"))
    notes = []
    if all(len(r.split()) <= SHORT_ANSWER_WORDS for r in references):
        checks.append(ProposedCheck(
            {"name": "mentions the answer", "kind": "contains", "tag": "knowledge", "ignore_case": True},
            f"knowledge: the references are short (at most {SHORT_ANSWER_WORDS} words), so the answer must "
            "contain the reference, in any case"))
    else:
        for name, pattern, what in KEY_PHRASES:
            if all(re.search(pattern, r) for r in references):
                checks.append(ProposedCheck(
                    {"name": f"key {name}", "kind": "contains", "tag": "knowledge", "extract": pattern},
                    f"knowledge: every reference has one; the answer must contain {what}"))
                break
        else:
            notes.append("no key phrase (number, quoted phrase, name) is in every reference, so no knowledge "
                         "check is proposed: give eval rows their own `checks:` (e.g. a `contains` of the key "
                         "fact) or judge the answers with an LLM")
    notes.append("free-text answers: string checks only catch what they spell out; an LLM judge fits better")
    return CheckProposal("text", tuple(checks), tuple(notes))


def propose_checks(references: Sequence[str]) -> CheckProposal:
    """Checks for answers like these references, each marked form or knowledge, with why."""
    refs = [r.strip() for r in references]
    if not refs:
        raise ValueError("no references to propose checks from")
    parsed = [_parse_json(r) for r in refs]
    if all(isinstance(p, (dict, list)) for p in parsed):
        return _json_checks(parsed)
    if all(_BARE_NUMBER.fullmatch(r) for r in refs):
        return _number_checks(refs, bare=True)
    distinct = set(refs)
    if (len(distinct) <= MAX_LABELS and len(distinct) <= max(2, len(refs) // 2)
            and all(len(r) <= MAX_LABEL_CHARS and "\n" not in r for r in distinct)):
        return _label_checks(refs)
    if all(re.search(LAST_NUMBER + r"[\s.)]*$", r) for r in refs):
        return _number_checks(refs, bare=False)
    return _text_checks(refs)
