"""Validation errors as key-path lines, with hints drawn from the validated model."""

from __future__ import annotations

import pytest

from ladder.metrics.checks import KINDS
from ladder.validation_errors import format_validation_error


def test_format_validation_error_hints_for_another_model() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        KINDS["exact"].options.model_validate({"name": "a", "kind": "exact", "tag": "form", "extrct": "x"})
    assert format_validation_error(info.value, KINDS["exact"].options) == [
        "extrct: Extra inputs are not permitted (did you mean 'extract'?)"
    ]
    # Without the model there is nothing to draw a hint from.
    assert format_validation_error(info.value) == ["extrct: Extra inputs are not permitted"]
