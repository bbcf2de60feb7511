"""Tier-1 checks: each kind passes and fails where it should, with a useful detail; a reference
the check cannot read is an error of the data; a kind is one decorated function."""

from __future__ import annotations

import pytest

from pydantic import ValidationError

from ladder.metrics import checks as checks_module
from ladder.metrics.checks import KINDS, BaseCheck, JsonCheck, check as register_check, make_check, run_checks
from ladder.types import Assessment


def spec(kind: str, tag: str = "knowledge", **kw: object) -> BaseCheck:
    return make_check(kind, name=f"{kind}-check", tag=tag, **kw)


def check(output: str, reference: str, s: BaseCheck) -> Assessment:
    (result,) = run_checks(output, reference, (s,))
    assert result.name == s.name and result.tag == s.tag
    assert result.source_kind == "code" and result.source_name == s.kind
    if result.error is None:
        assert (result.rationale == "") == result.passed  # a failure always says why; a pass says nothing
    else:
        assert result.passed is None and result.score is None  # an error is neither pass nor fail
    return result


def test_every_kind_is_registered() -> None:
    assert set(KINDS) == {"exact", "contains", "regex", "numeric", "json", "python"}


# -- exact ---------------------------------------------------------------------------------

def test_exact_compares_stripped_text() -> None:
    assert check("  Paris\n", "Paris", spec("exact")).passed
    r = check("paris", "Paris", spec("exact"))
    assert not r.passed and r.rationale == "got 'paris', want 'Paris'"


def test_exact_ignore_case() -> None:
    assert check("PARIS", "paris", spec("exact", ignore_case=True)).passed


def test_exact_with_extract_compares_the_group() -> None:
    s = spec("exact", extract=r"answer:\s*(\w+)")
    assert check("thinking...\nanswer: 42 (sure)", "answer: 42", s).passed
    r = check("answer: 41", "answer: 42", s)
    assert not r.passed and r.rationale == "got '41', want '42'"


def test_exact_with_extract_no_match_in_output_or_reference() -> None:
    s = spec("exact", extract=r"answer: (\d+)")
    assert check("no idea", "answer: 1", s).rationale == "no match for `extract` in the output"
    r = check("answer: 1", "nothing here", s)
    assert r.passed is None and r.error == "nothing to compare: the reference has no match for `extract`"


def test_exact_extract_without_group_uses_whole_match() -> None:
    assert check("x = 12 units", "12", spec("exact", extract=r"\d+")).passed


def test_exact_extract_with_optional_group_that_did_not_take_part() -> None:
    r = check("b", "ab", spec("exact", extract=r"(a)?b"))
    assert not r.passed and r.rationale == "no match for `extract` in the output"


def test_exact_fixed_value_ignores_reference() -> None:
    s = spec("exact", value="yes")
    assert check("yes", "anything", s).passed
    assert not check("no", "yes", s).passed


def test_exact_detail_shortens_long_text() -> None:
    r = check("x" * 500, "y", spec("exact"))
    assert len(r.rationale) < 200 and "..." in r.rationale


# -- contains ------------------------------------------------------------------------------

def test_contains() -> None:
    assert check("The capital is Paris.", "Paris", spec("contains")).passed
    r = check("The capital is Lyon.", "Paris", spec("contains"))
    assert not r.passed and r.rationale == "'Paris' not in output"


def test_contains_ignore_case_and_value() -> None:
    assert check("PARIS it is", "x", spec("contains", value="paris", ignore_case=True)).passed
    assert not check("PARIS it is", "x", spec("contains", value="paris")).passed


def test_contains_with_extract_from_reference() -> None:
    s = spec("contains", extract=r"city: (\w+)")
    assert check("I think Paris", "city: Paris", s).passed
    r = check("Paris", "Paris", s)
    assert r.passed is None and "reference has no match" in (r.error or "")


# -- regex ---------------------------------------------------------------------------------

def test_regex_matches_the_stripped_output() -> None:
    s = spec("regex", tag="form", pattern=r"^\d{3}$")
    assert check("  123\n", "", s).passed
    r = check("1234", "", s)
    assert not r.passed and r.rationale == r"no match for /^\d{3}$/ in '1234'"


def test_regex_ignore_case() -> None:
    assert check("YES", "", spec("regex", pattern="^yes$", ignore_case=True)).passed
    assert not check("YES", "", spec("regex", pattern="^yes$")).passed


def test_regex_does_not_use_the_reference() -> None:
    assert check("abc", "completely different", spec("regex", pattern="b")).passed


def test_regex_without_pattern_is_refused_when_declared() -> None:
    with pytest.raises(ValidationError) as info:
        spec("regex")
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [(("pattern",), "kind regex needs `pattern`")]


# -- numeric -------------------------------------------------------------------------------

def test_numeric_exact_by_default() -> None:
    assert check("42", "42.0", spec("numeric")).passed
    r = check("43", "42", spec("numeric"))
    assert not r.passed and r.rationale == "got 43.0, want 42.0 +- 0.0"


def test_numeric_float_representation_is_not_a_difference() -> None:
    assert check(repr(0.1 + 0.2), "0.3", spec("numeric")).passed


@pytest.mark.parametrize(
    ("output", "passed"),
    [("1.0", True), ("1.1", True), ("0.9", True), ("1.1000001", False), ("0.8999999", False), ("-1.0", False)],
)
def test_numeric_tolerance_edges_are_inclusive(output: str, passed: bool) -> None:
    assert check(output, "1.0", spec("numeric", tolerance=0.1)).passed is passed


@pytest.mark.parametrize(("output", "passed"), [("0.2815", True), ("0.2805", True), ("0.2816", False)])
def test_numeric_four_decimal_edges(output: str, passed: bool) -> None:
    assert check(output, "0.2810", spec("numeric", tolerance=0.0005)).passed is passed


def test_numeric_parses_commas_and_percent() -> None:
    assert check("1,234", "1234", spec("numeric")).passed
    assert check("55.6%", "55.6", spec("numeric")).passed


def test_numeric_with_extract() -> None:
    s = spec("numeric", extract=r"= (-?[\d.]+)", tolerance=0.01)
    assert check("so x = -3.14159 roughly", "x = -3.14", s).passed
    assert check("no equals sign", "x = -3.14", s).rationale == "no match for `extract` in the output"


def test_numeric_output_not_a_number() -> None:
    r = check("about forty", "40", spec("numeric"))
    assert not r.passed and r.rationale == "not a number: 'about forty'"
    assert not check("nan", "nan", spec("numeric", value="1")).passed


def test_numeric_reference_not_a_number() -> None:
    r = check("40", "forty", spec("numeric"))
    assert r.passed is None and r.error == "reference has no number to compare ('forty')"
    r = check("40", "x", spec("numeric", extract=r"= (\d+)"))  # nothing to extract from the reference
    assert r.passed is None and r.error == "reference has no number to compare (None)"


def test_numeric_fixed_value() -> None:
    assert check("7", "whatever", spec("numeric", value="7")).passed


# -- json ----------------------------------------------------------------------------------

SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


def test_json_without_schema() -> None:
    assert check('{"a": 1}', "", spec("json", tag="form")).passed
    r = check("{'a': 1}", "", spec("json", tag="form"))
    assert not r.passed and r.rationale.startswith("not valid JSON: Expecting property name")
    assert "{'a': 1}" in r.rationale


def test_json_with_schema() -> None:
    s = spec("json", tag="form", schema=SCHEMA)
    assert check('{"city": "Paris"}', "", s).passed
    r = check('{"town": "Paris"}', "", s)
    assert not r.passed and r.rationale == "schema: 'city' is a required property"
    r = check('{"city": 3}', "", s)
    assert not r.passed and r.rationale == "schema: at city: 3 is not of type 'string'"


def test_json_with_extract() -> None:
    s = spec("json", tag="form", extract=r"```json\s*(.*?)\s*```")
    assert check('Here:\n```json\n{"a": [1, 2]}\n```', "", s).passed
    assert check('{"a": 1}', "", s).rationale == "no match for `extract` in the output"


def test_json_with_invalid_schema_is_refused_when_declared() -> None:
    with pytest.raises(ValidationError) as info:
        spec("json", schema={"type": 12})
    assert info.value.errors()[0]["loc"] == ("schema",)


def test_json_with_invalid_schema_built_unvalidated_is_an_error_not_a_failure() -> None:
    # A spec built without validation (as a plugin might) still cannot fail the model.
    s = JsonCheck.model_construct(name="j", kind="json", tag="form", json_schema={"type": 12})
    r = check("{}", "", s)
    assert r.passed is None and (r.error or "").startswith("the check's schema is not valid")


# -- run_checks and the registry ------------------------------------------------------------

def test_run_checks_keeps_order() -> None:
    specs = (spec("exact", tag="knowledge"), spec("regex", tag="form", pattern="^a"))
    results = run_checks("abc", "abc", specs)
    assert [(r.name, r.tag, r.passed) for r in results] == [("exact-check", "knowledge", True),
                                                            ("regex-check", "form", True)]
    assert run_checks("x", "y", ()) == []


def test_a_new_kind_is_one_decorated_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks_module, "KINDS", dict(KINDS))  # register into a copy

    class ShoutCheck(BaseCheck):
        min_bangs: int = 1

    @register_check("shout", ShoutCheck)
    def shout(output: str, reference: str, s: ShoutCheck) -> Assessment:
        ok = output.isupper() and output.count("!") >= s.min_bangs
        return Assessment(s.name, s.tag, source_name=s.kind, passed=ok, rationale="" if ok else "too quiet")

    loud = make_check("shout", name="loud", tag="form", min_bangs=2)
    assert [a.passed for a in run_checks("HI!!", "", (loud,)) + run_checks("hi!!", "", (loud,))] == [True, False]
    with pytest.raises(ValidationError) as info:
        make_check("shout", name="loud", tag="form", pattern="x")  # another kind's field
    assert info.value.errors()[0]["msg"] == "not used by kind shout (only by regex)"
    with pytest.raises(ValueError, match="already registered"):
        register_check("shout", ShoutCheck)(shout)


def test_unknown_kind_is_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError) as info:
        make_check("exakt", name="x", tag="form")
    (error,) = info.value.errors()
    assert error["loc"] == ("kind",)
    assert error["msg"] == ("Input should be 'exact', 'contains', 'regex', 'numeric', 'json' or 'python'"
                            " (did you mean 'exact'?)")


# -- the balance-shift example's checks ------------------------------------------------------

BALANCE_FORM = spec(
    "regex",
    tag="form",
    pattern=r"^Balance analysis:\n- Shift value: \(\d+ - \d+\) / \(\d+ \+ \d+\) = -?\d+\.\d{4}\n"
    r"- Interpretation: element [12] dominates by \d+\.\d%\.$",
)
BALANCE_VALUE = spec("numeric", extract=r"(-?\d*\.\d+)", tolerance=0.0005)
REFERENCE = (
    "Balance analysis:\n"
    "- Shift value: (139 - 487) / (139 + 487) = -0.5559\n"
    "- Interpretation: element 2 dominates by 55.6%."
)


def test_balance_shift_reference_passes_its_own_checks() -> None:
    assert check(REFERENCE, REFERENCE, BALANCE_FORM).passed
    assert check(REFERENCE, REFERENCE, BALANCE_VALUE).passed
    assert check(REFERENCE + "\n", REFERENCE, BALANCE_FORM).passed  # a trailing newline is fine


def test_balance_shift_form_and_knowledge_fail_independently() -> None:
    wrong_number = REFERENCE.replace("-0.5559", "-0.5600")
    assert check(wrong_number, REFERENCE, BALANCE_FORM).passed
    r = check(wrong_number, REFERENCE, BALANCE_VALUE)
    assert not r.passed and r.rationale == "got -0.56, want -0.5559 +- 0.0005"

    chatty = "Sure! " + REFERENCE
    assert not check(chatty, REFERENCE, BALANCE_FORM).passed
    assert check(chatty, REFERENCE, BALANCE_VALUE).passed

    three_decimals = REFERENCE.replace("-0.5559", "-0.556")
    assert not check(three_decimals, REFERENCE, BALANCE_FORM).passed
    assert check(three_decimals, REFERENCE, BALANCE_VALUE).passed  # within 0.0005
