"""Tier-1 automatic checks: plain functions of (output, reference, spec) -> Assessment.

A check kind is one decorated function: ``@check("numeric", NumericCheck)`` registers the
function under its kind together with the options model that declares the kind's fields, and
that registration is the only place a kind exists. task.yaml and per-example checks are
validated against the registry (`validate_check`), so a new kind needs nothing else.

Each check carries a tag: `form` (is the shape right?) or `knowledge` (is the content right?).
Checks that compare content can `extract` a piece of both the output and the reference with a
regex (its first group), so "the number after '=' matches" works for any dataset with references.
A reference that cannot be read (nothing to extract, a numeric reference that is not a number)
is an error of the data: the assessment carries an `error`, never a failure of the model.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Mapping

import jsonschema
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator,
                      ValidationError, ValidationInfo, field_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ladder.plugins import load_plugins
from ladder.types import Assessment, Example, Tag

# -- options: the fields of each kind -----------------------------------------------------------


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    return pattern


Regex = Annotated[str, AfterValidator(_compiles)]


class BaseCheck(BaseModel):
    """The fields every check has. A kind's options model extends it with the kind's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(description="shown in the report's per-check table")
    kind: str = Field(description="which registered check function runs")
    tag: Tag = Field(description="form (is the shape right?) or knowledge (is the content right?)")
    ignore_case: bool = Field(False, description="compare (and match regexes) ignoring case")


class ExtractingCheck(BaseCheck):
    extract: Regex | None = Field(
        None, description="regex with one group, applied to the output and the reference; the group is compared"
    )


class CompareCheck(ExtractingCheck):
    value: str | None = Field(None, description="fixed expected text instead of the reference")

    @field_validator("value", mode="before")
    @classmethod
    def _number_as_text(cls, v: Any) -> Any:
        # YAML reads `value: 42` as an int; the expected value is still text here.
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        return v


class NumericCheck(CompareCheck):
    tolerance: float = Field(0.0, ge=0, description="absolute tolerance, inclusive")

    @field_validator("value")
    @classmethod
    def _a_number(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and _to_float(v) is None:
            raise PydanticCustomError("value_error", "kind {kind} needs a number", {"kind": info.data.get("kind")})
        return v


class RegexCheck(BaseCheck):
    pattern: Regex = Field(description="the output (stripped) must match this regex")


class JsonCheck(ExtractingCheck):
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON schema the parsed output must satisfy"
    )

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            try:
                jsonschema.validators.validator_for(v).check_schema(v)
            except jsonschema.SchemaError as e:
                raise ValueError(f"not a valid JSON schema: {e.message}") from None
        return v


# -- the registry ---------------------------------------------------------------------------------

CheckFn = Callable[..., Assessment]  # (output, reference, spec) or, with_example, (..., example)


@dataclass(frozen=True)
class CheckKind:
    name: str
    options: type[BaseCheck]
    fn: CheckFn
    with_example: bool = False  # fn also takes the Example being answered (or None)


KINDS: dict[str, CheckKind] = {}


def check(kind: str, options: type[BaseCheck], *, with_example: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register `fn(output, reference, spec) -> Assessment` as check kind `kind`, whose fields
    are those of `options` (a BaseCheck subclass). `with_example`: fn takes a fourth argument,
    the Example whose answer it assesses (None when the caller has only a reference)."""

    def register(fn: CheckFn) -> CheckFn:
        if kind in KINDS:
            raise ValueError(f"check kind {kind!r} is already registered (by {KINDS[kind].fn.__qualname__})")
        if not (isinstance(options, type) and issubclass(options, BaseCheck)):
            raise TypeError(f"check kind {kind!r}: options must subclass BaseCheck")
        KINDS[kind] = CheckKind(kind, options, fn, with_example)
        return fn

    return register


def registered_kinds() -> dict[str, CheckKind]:
    """Every check kind: the built-ins and those of installed plugins (entry point group
    `ladder.checks`, imported on the first call)."""
    load_plugins("ladder.checks")
    return KINDS


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _reworded(err: dict[str, Any], kind: str, options: type[BaseCheck]) -> InitErrorDetails:
    """One validation error of a kind's options, said in the user's terms."""
    loc, error_type, message = tuple(err["loc"]), err["type"], err["msg"]
    key = str(loc[-1]) if loc else ""
    if error_type == "extra_forbidden" and len(loc) == 1:
        used_by = [k.name for k in KINDS.values() if key in _field_names(k.options)]
        if used_by:
            message = f"not used by kind {kind} (only by {', '.join(used_by)})"
        else:
            close = difflib.get_close_matches(key, _field_names(options), n=1)
            message += f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(_field_names(options))}"
    elif error_type == "missing" and len(loc) == 1 and key not in BaseCheck.model_fields:
        message = f"kind {kind} needs `{key}`"
    return {"type": _error(error_type, message), "loc": loc, "input": err.get("input")}


def _error(error_type: str, message: str) -> PydanticCustomError:
    # The message is final: keep its braces (a regex's, a schema's) from being read as a template.
    return PydanticCustomError(error_type, message.replace("{", "{{").replace("}", "}}"))


def _fail(problems: list[InitErrorDetails]) -> ValidationError:
    return ValidationError.from_exception_data("check", problems)


def validate_check(raw: Any) -> BaseCheck:
    """A check spec from its task.yaml (or per-example) mapping, validated against its kind's
    options; raises ValidationError whose messages name the field and give a hint."""
    if isinstance(raw, BaseCheck):
        return raw
    if not isinstance(raw, Mapping):
        raise _fail([{"type": _error("model_type", "expected a mapping (name, kind, tag, ...)"),
                      "loc": (), "input": raw}])
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in registered_kinds():
        if kind is None:
            problem = _error("missing", "Field required")
        else:
            close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
            known = [repr(k) for k in KINDS]
            choices = " or ".join([", ".join(known[:-1]), known[-1]] if len(known) > 1 else known)
            message = f"Input should be {choices}" + (f" (did you mean {close[0]!r}?)" if close else "")
            problem = _error("literal_error", message)
        raise _fail([{"type": problem, "loc": ("kind",), "input": kind}])
    options = KINDS[kind].options
    try:
        return options.model_validate(raw)
    except ValidationError as e:
        raise _fail([_reworded(err, kind, options) for err in e.errors()]) from None


def make_check(kind: str, **fields: Any) -> BaseCheck:
    """A validated check spec of `kind`, e.g. make_check("numeric", name="n", tag="knowledge")."""
    return validate_check({"kind": kind, **fields})


def _dump_check(spec: BaseCheck) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


class _KindsJsonSchema:
    """The JSON Schema of a check: `kind` is one of the registered kinds, and each kind's own
    options model says which fields it takes. Built when asked, so a plugin's kind is in it."""

    def __get_pydantic_json_schema__(self, _core_schema: Any, _handler: Any) -> dict[str, Any]:
        branches = []
        for name, kind in registered_kinds().items():
            options = kind.options.model_json_schema(by_alias=True, mode="validation")
            options.pop("title", None)
            options["properties"] = {**options["properties"], "kind": {"const": name}}
            branches.append({"if": {"properties": {"kind": {"const": name}}}, "then": options})
        return {"type": "object", "required": ["kind"],
                "properties": {"kind": {"enum": list(KINDS), "description": "which check function runs"}},
                "allOf": branches}


# A check as a field of another model (TaskSpec.checks): validated by its kind, dumped by alias.
AnyCheck = Annotated[BaseCheck, PlainValidator(validate_check), PlainSerializer(_dump_check), _KindsJsonSchema()]


# -- helpers shared by the kinds -------------------------------------------------------------------

def _flags(spec: BaseCheck) -> int:
    return re.IGNORECASE if spec.ignore_case else 0


def _extract(text: str, spec: ExtractingCheck) -> str | None:
    if spec.extract is None:
        return text.strip()
    m = re.search(spec.extract, text, _flags(spec) | re.MULTILINE)
    if m is None:
        return None
    found = m.group(1) if m.groups() else m.group(0)
    # An optional group that took no part in the match is None: there is nothing to compare.
    return None if found is None else found.strip()


def reference_value(reference: str, spec: CompareCheck) -> str | None:
    """What `spec` compares an answer with: its fixed `value`, else the reference's `extract`
    group (or the whole reference); None where the reference has no match."""
    return spec.value if spec.value is not None else _extract(reference, spec)


def _result(spec: BaseCheck, passed: bool, detail: str = "") -> Assessment:
    return Assessment(name=spec.name, tag=spec.tag, source_kind="code", source_name=spec.kind,
                      passed=passed, rationale=detail)


def _data_error(spec: BaseCheck, why: str) -> Assessment:
    """The check could not be applied because of the data, not the answer."""
    return Assessment(name=spec.name, tag=spec.tag, source_kind="code", source_name=spec.kind, error=why)


def _to_float(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


NO_REFERENCE_MATCH = "the reference has no match for `extract`"

# -- the kinds --------------------------------------------------------------------------------------


@check("exact", CompareCheck)
def exact(output: str, reference: str, spec: CompareCheck) -> Assessment:
    got, want = _extract(output, spec), reference_value(reference, spec)
    if want is None:
        return _data_error(spec, f"nothing to compare: {NO_REFERENCE_MATCH}")
    if got is None:
        return _result(spec, False, "no match for `extract` in the output")
    if spec.ignore_case:
        got, want = got.lower(), want.lower()
    return _result(spec, got == want, "" if got == want else f"got {_short(got)}, want {_short(want)}")


@check("contains", CompareCheck)
def contains(output: str, reference: str, spec: CompareCheck) -> Assessment:
    want = reference_value(reference, spec)
    if want is None:
        return _data_error(spec, f"nothing to look for: {NO_REFERENCE_MATCH}")
    hay, needle = (output.lower(), want.lower()) if spec.ignore_case else (output, want)
    ok = needle in hay
    return _result(spec, ok, "" if ok else f"{_short(want)} not in output")


@check("regex", RegexCheck)
def regex(output: str, reference: str, spec: RegexCheck) -> Assessment:
    ok = re.search(spec.pattern, output.strip(), _flags(spec)) is not None
    return _result(spec, ok, "" if ok else f"no match for /{spec.pattern}/ in {_short(output.strip())}")


@check("numeric", NumericCheck)
def numeric(output: str, reference: str, spec: NumericCheck) -> Assessment:
    got_s, want_s = _extract(output, spec), reference_value(reference, spec)
    want = _to_float(want_s) if want_s is not None else None
    if want is None:
        return _data_error(spec, f"reference has no number to compare ({want_s!r})")
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


@check("json", JsonCheck)
def json_check(output: str, reference: str, spec: JsonCheck) -> Assessment:
    text = _extract(output, spec) if spec.extract else output.strip()
    if text is None:
        return _result(spec, False, "no match for `extract` in the output")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return _result(spec, False, f"not valid JSON: {e.msg} (column {e.colno}) in {_short(text)}")
    if spec.json_schema is not None:
        try:
            jsonschema.validate(value, dict(spec.json_schema))
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path)
            return _result(spec, False, f"schema: {'at ' + where + ': ' if where else ''}{e.message}")
        except jsonschema.SchemaError as e:
            return _data_error(spec, f"the check's schema is not valid: {e.message}")
    return _result(spec, True)


def run_checks(output: str, reference: str, specs: tuple[Any, ...], example: Example | None = None) -> list[Assessment]:
    """Every check's assessment of `output`, in the order of `specs`. `example` is the Example
    answered, for the kinds that read more of it than the reference (python)."""
    kinds = registered_kinds()
    return [kinds[s.kind].fn(output, reference, s, example) if kinds[s.kind].with_example
            else kinds[s.kind].fn(output, reference, s) for s in specs]
