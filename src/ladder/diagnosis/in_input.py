"""Knowledge errors on values written in the input: the model misread what it was given.

An extraction task (the order number, the quantity and the city out of a customer's message)
answers from its input. When such an answer carries the wrong value, the value was in front of
the model: no corpus is missing, and retrieval cannot add what the prompt already holds. The
diagnosis's plain `knowledge` class would still advise retrieval; this module tells the two apart
with what the run recorded.

The test, for a knowledge check that compares the answer with a value taken from the reference
(`exact`, `numeric`, `contains`: the reference's `extract` group, or the whole reference): is that
value written in the input, as a whole word (not `4` inside `149`), ignoring case, or, for a
number, with thousands commas or trailing decimal zeros (`1250` as `1,250.00`)? One row is not
enough to call a check extractive: a routing label may happen to appear in a ticket's text (the
category of ticket-routing is written in 15 of its 60 eval inputs). So a check counts as extractive
only where its value is written in the input on at least EXTRACTION_SHARE of the run's eval rows,
and on at least MIN_ROWS of them; a wrong answer is a reading error where every knowledge check it
fails is extractive and its value is written in that row's input. Of the shipped examples only
order-intake has extractive checks (all three, on 50 of 50 rows); the next largest share is
balance-shift's dominant element, 14 of 50 (`bench/in_input.py`, BENCHMARKS.md).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from ladder.metrics.checks import CompareCheck, reference_value, validate_check

EXTRACTION_SHARE = 0.8
MIN_ROWS = 10


def compared_checks(spec: Mapping[str, Any]) -> list[CompareCheck]:
    """The knowledge checks of a run's recorded spec that compare with a value of the reference
    (a fixed `value:` is not the reference's). A check that no longer validates (a plugin's kind
    not installed now) is left out: it only loses this evidence."""
    checks = []
    for raw in spec.get("checks") or []:
        try:
            check = validate_check(raw)
        except ValueError:
            continue
        if isinstance(check, CompareCheck) and check.tag == "knowledge" and check.value is None:
            checks.append(check)
    return checks


# a number as people write it: optional sign, thousands grouped by commas or not, optional
# decimals; not part of a longer word or number (`4` in `149`, `12` in `1.12`, `2` in `1,234`)
_NUMBER = re.compile(r"(?<![\w.,])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w|[.,]\d)")


def _number(text: str) -> Decimal | None:
    """The number `text` spells (thousands commas dropped), or None where it spells none."""
    if _NUMBER.fullmatch(text) is None:
        return None
    return Decimal(text.replace(",", ""))


def written(value: str, text: str) -> bool:
    """Whether `value` is written in `text` as a whole word, ignoring case, or, for a number, as
    the same number with thousands commas or other trailing decimal zeros (`1250` as `1,250.00`,
    `3.5` as `3.50`)."""
    value = value.strip()
    if not value:
        return False
    pattern = r"(?<![\w.])" + re.escape(value) + r"(?!\w|\.\d)"
    if re.search(pattern, text, re.IGNORECASE) is not None:
        return True
    number = _number(value)
    return number is not None and any(_number(m.group()) == number for m in _NUMBER.finditer(text))


def values_in_input(input_text: str, reference: str, checks: Sequence[CompareCheck]) -> dict[str, bool]:
    """For each check with a value in the reference: whether that value is written in the input."""
    found = {}
    for check in checks:
        value = reference_value(reference, check)
        if value is not None:
            found[check.name] = written(value, input_text)
    return found


def written_shares(rows: Iterable[tuple[str, str]], checks: Sequence[CompareCheck]) -> dict[str, tuple[int, int]]:
    """Per check: (rows whose compared value is written in their input, rows with a value to
    compare), over (input, reference) pairs."""
    return tally(values_in_input(input_text, reference, checks) for input_text, reference in rows)


def tally(found: Iterable[Mapping[str, bool]]) -> dict[str, tuple[int, int]]:
    """written_shares over rows already read by values_in_input."""
    shares: dict[str, tuple[int, int]] = {}
    for row in found:
        for name, hit in row.items():
            hits, n = shares.get(name, (0, 0))
            shares[name] = (hits + hit, n + 1)
    return shares


def extractive(shares: Mapping[str, tuple[int, int]]) -> frozenset[str]:
    """The checks whose values the task takes from its inputs: written there on at least
    EXTRACTION_SHARE of at least MIN_ROWS rows."""
    return frozenset(name for name, (hits, n) in shares.items() if n >= MIN_ROWS and hits >= EXTRACTION_SHARE * n)
