"""Tier-1 automatic checks: plain functions of (output, reference, spec) -> CheckResult.

Each check carries a tag: `form` (is the shape right?) or `knowledge` (is the content right?).
A rung's form accuracy is the share of examples whose form checks all pass; likewise knowledge.

Checks that compare content can `extract` a piece of both the output and the reference with a
regex (its first group), so "the number after '=' matches" works for any dataset with references.
"""

from __future__ import annotations

import json
import math
import re
from typing import Callable

import jsonschema

from ladder.types import CheckResult, CheckSpec

CheckFn = Callable[[str, str, CheckSpec], CheckResult]


def _flags(spec: CheckSpec) -> int:
    return re.IGNORECASE if spec.ignore_case else 0


def _extract(text: str, spec: CheckSpec) -> str | None:
    if spec.extract is None:
        return text.strip()
    m = re.search(spec.extract, text, _flags(spec) | re.MULTILINE)
    if m is None:
        return None
    found = m.group(1) if m.groups() else m.group(0)
    # An optional group that took no part in the match is None: there is nothing to compare.
    return None if found is None else found.strip()


def _wanted(reference: str, spec: CheckSpec) -> str | None:
    return spec.value if spec.value is not None else _extract(reference, spec)


def _result(spec: CheckSpec, passed: bool, detail: str = "") -> CheckResult:
    return CheckResult(name=spec.name, tag=spec.tag, passed=passed, detail=detail)


def exact(output: str, reference: str, spec: CheckSpec) -> CheckResult:
    got, want = _extract(output, spec), _wanted(reference, spec)
    if want is None:
        return _result(spec, False, "nothing to compare: the reference has no match for `extract`")
    if got is None:
        return _result(spec, False, "no match for `extract` in the output")
    if spec.ignore_case:
        got, want = got.lower(), want.lower()
    return _result(spec, got == want, "" if got == want else f"got {_short(got)}, want {_short(want)}")


def contains(output: str, reference: str, spec: CheckSpec) -> CheckResult:
    want = _wanted(reference, spec)
    if want is None:
        return _result(spec, False, "nothing to look for: the reference has no match for `extract`")
    hay, needle = (output.lower(), want.lower()) if spec.ignore_case else (output, want)
    ok = needle in hay
    return _result(spec, ok, "" if ok else f"{_short(want)} not in output")


def regex(output: str, reference: str, spec: CheckSpec) -> CheckResult:
    if spec.pattern is None:
        return _result(spec, False, "kind regex needs `pattern`")
    ok = re.search(spec.pattern, output.strip(), _flags(spec)) is not None
    return _result(spec, ok, "" if ok else f"no match for /{spec.pattern}/ in {_short(output.strip())}")


def _to_float(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def numeric(output: str, reference: str, spec: CheckSpec) -> CheckResult:
    got_s, want_s = _extract(output, spec), _wanted(reference, spec)
    want = _to_float(want_s) if want_s is not None else None
    if want is None:
        return _result(spec, False, f"reference has no number to compare ({want_s!r})")
    if got_s is None:
        return _result(spec, False, "no match for `extract` in the output")
    got = _to_float(got_s)
    if got is None:
        return _result(spec, False, f"not a number: {_short(got_s)}")
    # The tolerance is inclusive: 1.1 vs 1.0 with tolerance 0.1 passes, although the float
    # difference is 0.10000000000000009. Allow for that representation error only.
    slack = 1e-9 * max(1.0, abs(want), abs(got))
    ok = abs(got - want) <= spec.tolerance + slack
    return _result(spec, ok, "" if ok else f"got {got}, want {want} +- {spec.tolerance}")


def json_check(output: str, reference: str, spec: CheckSpec) -> CheckResult:
    text = _extract(output, spec) if spec.extract else output.strip()
    if text is None:
        return _result(spec, False, "no match for `extract` in the output")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return _result(spec, False, f"not valid JSON: {e.msg} (column {e.colno}) in {_short(text)}")
    if spec.schema is not None:
        try:
            jsonschema.validate(value, dict(spec.schema))
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path)
            return _result(spec, False, f"schema: {'at ' + where + ': ' if where else ''}{e.message}")
        except jsonschema.SchemaError as e:
            return _result(spec, False, f"the check's schema is not valid: {e.message}")
    return _result(spec, True)


CHECKS: dict[str, CheckFn] = {
    "exact": exact,
    "contains": contains,
    "regex": regex,
    "numeric": numeric,
    "json": json_check,
}


def run_checks(output: str, reference: str, specs: tuple[CheckSpec, ...]) -> list[CheckResult]:
    return [CHECKS[s.kind](output, reference, s) for s in specs]


def tag_passed(results: list[CheckResult], tag: str) -> bool | None:
    """True if every check with this tag passed; None if there is no such check."""
    tagged = [r for r in results if r.tag == tag]
    return all(r.passed for r in tagged) if tagged else None
