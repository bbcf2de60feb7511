"""Tier-1 checks: each kind passes and fails where it should, with a useful detail."""

from __future__ import annotations

import pytest

from ladder.metrics.checks import CHECKS, run_checks, tag_passed
from ladder.types import CheckResult, CheckSpec


def spec(kind: str, tag: str = "knowledge", **kw: object) -> CheckSpec:
    return CheckSpec(name=f"{kind}-check", kind=kind, tag=tag, **kw)  # type: ignore[arg-type]


def check(output: str, reference: str, s: CheckSpec) -> CheckResult:
    (result,) = run_checks(output, reference, (s,))
    assert result.name == s.name and result.tag == s.tag
    assert (result.detail == "") == result.passed  # a failure always says why; a pass says nothing
    return result


def test_every_kind_is_registered() -> None:
    assert set(CHECKS) == {"exact", "contains", "regex", "numeric", "json"}


# -- exact ---------------------------------------------------------------------------------

def test_exact_compares_stripped_text() -> None:
    assert check("  Paris\n", "Paris", spec("exact")).passed
    r = check("paris", "Paris", spec("exact"))
    assert not r.passed and r.detail == "got 'paris', want 'Paris'"


def test_exact_ignore_case() -> None:
    assert check("PARIS", "paris", spec("exact", ignore_case=True)).passed


def test_exact_with_extract_compares_the_group() -> None:
    s = spec("exact", extract=r"answer:\s*(\w+)")
    assert check("thinking...\nanswer: 42 (sure)", "answer: 42", s).passed
    r = check("answer: 41", "answer: 42", s)
    assert not r.passed and r.detail == "got '41', want '42'"


def test_exact_with_extract_no_match_in_output_or_reference() -> None:
    s = spec("exact", extract=r"answer: (\d+)")
    assert check("no idea", "answer: 1", s).detail == "no match for `extract` in the output"
    assert "reference has no match" in check("answer: 1", "nothing here", s).detail


def test_exact_extract_without_group_uses_whole_match() -> None:
    assert check("x = 12 units", "12", spec("exact", extract=r"\d+")).passed


def test_exact_extract_with_optional_group_that_did_not_take_part() -> None:
    r = check("b", "ab", spec("exact", extract=r"(a)?b"))
    assert not r.passed and r.detail == "no match for `extract` in the output"


def test_exact_fixed_value_ignores_reference() -> None:
    s = spec("exact", value="yes")
    assert check("yes", "anything", s).passed
    assert not check("no", "yes", s).passed


def test_exact_detail_shortens_long_text() -> None:
    r = check("x" * 500, "y", spec("exact"))
    assert len(r.detail) < 200 and "..." in r.detail


# -- contains ------------------------------------------------------------------------------

def test_contains() -> None:
    assert check("The capital is Paris.", "Paris", spec("contains")).passed
    r = check("The capital is Lyon.", "Paris", spec("contains"))
    assert not r.passed and r.detail == "'Paris' not in output"


def test_contains_ignore_case_and_value() -> None:
    assert check("PARIS it is", "x", spec("contains", value="paris", ignore_case=True)).passed
    assert not check("PARIS it is", "x", spec("contains", value="paris")).passed


def test_contains_with_extract_from_reference() -> None:
    s = spec("contains", extract=r"city: (\w+)")
    assert check("I think Paris", "city: Paris", s).passed
    assert "reference has no match" in check("Paris", "Paris", s).detail


# -- regex ---------------------------------------------------------------------------------

def test_regex_matches_the_stripped_output() -> None:
    s = spec("regex", tag="form", pattern=r"^\d{3}$")
    assert check("  123\n", "", s).passed
    r = check("1234", "", s)
    assert not r.passed and r.detail == r"no match for /^\d{3}$/ in '1234'"


def test_regex_ignore_case() -> None:
    assert check("YES", "", spec("regex", pattern="^yes$", ignore_case=True)).passed
    assert not check("YES", "", spec("regex", pattern="^yes$")).passed


def test_regex_does_not_use_the_reference() -> None:
    assert check("abc", "completely different", spec("regex", pattern="b")).passed


def test_regex_without_pattern_fails_instead_of_crashing() -> None:
    r = check("x", "x", spec("regex"))
    assert not r.passed and "pattern" in r.detail


# -- numeric -------------------------------------------------------------------------------

def test_numeric_exact_by_default() -> None:
    assert check("42", "42.0", spec("numeric")).passed
    r = check("43", "42", spec("numeric"))
    assert not r.passed and r.detail == "got 43.0, want 42.0 +- 0.0"


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
    assert check("no equals sign", "x = -3.14", s).detail == "no match for `extract` in the output"


def test_numeric_output_not_a_number() -> None:
    r = check("about forty", "40", spec("numeric"))
    assert not r.passed and r.detail == "not a number: 'about forty'"
    assert not check("nan", "nan", spec("numeric", value="1")).passed


def test_numeric_reference_not_a_number() -> None:
    r = check("40", "forty", spec("numeric"))
    assert not r.passed and r.detail == "reference has no number to compare ('forty')"


def test_numeric_fixed_value() -> None:
    assert check("7", "whatever", spec("numeric", value="7")).passed


# -- json ----------------------------------------------------------------------------------

SCHEMA = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}


def test_json_without_schema() -> None:
    assert check('{"a": 1}', "", spec("json", tag="form")).passed
    r = check("{'a': 1}", "", spec("json", tag="form"))
    assert not r.passed and r.detail.startswith("not valid JSON: Expecting property name")
    assert "{'a': 1}" in r.detail


def test_json_with_schema() -> None:
    s = spec("json", tag="form", schema=SCHEMA)
    assert check('{"city": "Paris"}', "", s).passed
    r = check('{"town": "Paris"}', "", s)
    assert not r.passed and r.detail == "schema: 'city' is a required property"
    r = check('{"city": 3}', "", s)
    assert not r.passed and r.detail == "schema: at city: 3 is not of type 'string'"


def test_json_with_extract() -> None:
    s = spec("json", tag="form", extract=r"```json\s*(.*?)\s*```")
    assert check('Here:\n```json\n{"a": [1, 2]}\n```', "", s).passed
    assert check('{"a": 1}', "", s).detail == "no match for `extract` in the output"


def test_json_with_invalid_schema_fails_instead_of_crashing() -> None:
    r = check("{}", "", spec("json", schema={"type": 12}))
    assert not r.passed and r.detail.startswith("the check's schema is not valid")


# -- run_checks and tag_passed ---------------------------------------------------------------

def test_run_checks_keeps_order() -> None:
    specs = (spec("exact", tag="knowledge"), spec("regex", tag="form", pattern="^a"))
    results = run_checks("abc", "abc", specs)
    assert [(r.name, r.tag, r.passed) for r in results] == [("exact-check", "knowledge", True),
                                                            ("regex-check", "form", True)]
    assert run_checks("x", "y", ()) == []


def test_tag_passed() -> None:
    ok_form = CheckResult("f1", "form", True)
    bad_form = CheckResult("f2", "form", False, "why")
    ok_knowledge = CheckResult("k1", "knowledge", True)
    assert tag_passed([ok_form, ok_knowledge], "form") is True
    assert tag_passed([ok_form, bad_form, ok_knowledge], "form") is False  # every one must pass
    assert tag_passed([ok_form, bad_form, ok_knowledge], "knowledge") is True  # other tags ignored
    assert tag_passed([ok_form], "knowledge") is None  # no check with that tag
    assert tag_passed([], "form") is None


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
    assert not r.passed and r.detail == "got -0.56, want -0.5559 +- 0.0005"

    chatty = "Sure! " + REFERENCE
    assert not check(chatty, REFERENCE, BALANCE_FORM).passed
    assert check(chatty, REFERENCE, BALANCE_VALUE).passed

    three_decimals = REFERENCE.replace("-0.5559", "-0.556")
    assert not check(three_decimals, REFERENCE, BALANCE_FORM).passed
    assert check(three_decimals, REFERENCE, BALANCE_VALUE).passed  # within 0.0005
