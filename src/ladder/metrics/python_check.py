"""kind: python — your own check as a plain function, in the manner of a DSPy metric.

    checks:
      - {name: polite, kind: python, tag: form, function: my_checks:is_polite}

`function` is `module:name` (`package.module:name` too). The module is looked for first in
task.yaml's folder (put there while it is imported, then taken off the import path again), then
among the installed modules. The function is called once per answer:

    def is_polite(output: str, reference: str, example) -> bool | float | dict

and returns a bool (pass/fail), a number (its score: pass when score >= `threshold`, 1.0
unless set, so a float counts as a pass only at full marks by default) or a mapping
{"pass": bool, "score": float, "reason": str} (each key optional; without "pass", the score
against `threshold` decides). `example` is the ladder.types.Example answered (its input, expected,
id, ...), or None where only a reference is at hand. An exception in the function, or a value of
another type, is that answer's error for this check (Assessment.error: neither pass nor fail),
never a crash of the climb.
"""

from __future__ import annotations

import importlib
import math
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from pydantic import Field

from ladder.metrics.checks import BaseCheck, check
from ladder.types import Assessment, Example

FUNCTION = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


class PythonCheck(BaseCheck):
    function: str = Field(pattern=FUNCTION, description="`module:name` of the function "
                          "(output, reference, example) -> bool | float | {pass, score, reason}")
    threshold: float = Field(1.0, description="a returned score passes when it is >= this")
    folder: Path | None = Field(None, description="folder searched first for the module; default: task.yaml's")


class CheckLoadError(ValueError):
    pass


@lru_cache(maxsize=None)
def load_function(function: str, folder: Path | None) -> Callable[..., Any]:
    """The function `module:name`, imported from `folder` when the module is there, else from
    the installed modules. Raises CheckLoadError saying what is missing."""
    module_name, _, attr = function.partition(":")
    top = module_name.split(".")[0]
    try:
        if folder is not None and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):
            module = _import_from(folder, module_name)
        else:
            module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or whatever the module raises while it loads
        where = f"in {folder} or " if folder is not None else ""
        raise CheckLoadError(f"cannot import {module_name!r} ({where}among the installed modules): "
                             f"{type(e).__name__}: {e}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise CheckLoadError(f"{module_name} has no function {attr!r} ({getattr(module, '__file__', module_name)})")
    return fn


def _import_from(folder: Path, module_name: str) -> Any:
    """Import `module_name` from `folder` and leave no trace: the folder is on sys.path, and the
    module in sys.modules, only during the import. So two tasks whose folders each hold a
    `checks.py` get their own, and an installed module of the same name is untouched."""
    top = module_name.split(".")[0]

    def ours() -> list[str]:
        return [k for k in sys.modules if k == top or k.startswith(top + ".")]

    saved = {k: sys.modules.pop(k) for k in ours()}
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(str(folder))
        for k in ours():
            del sys.modules[k]
        sys.modules.update(saved)


def verdict(spec: PythonCheck, value: Any) -> Assessment:
    """The Assessment a function's return value stands for."""
    reason, passed, score = "", None, None
    if isinstance(value, Mapping):
        reason = str(value.get("reason") or "")
        passed, score = value.get("pass"), value.get("score")
    elif isinstance(value, bool):
        passed = value
    elif isinstance(value, (int, float)):
        score = value
    else:
        return _error(spec, f"returned {value!r}; expected a bool, a number or {{'pass', 'score', 'reason'}}")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            return _error(spec, f"returned score {score!r}; expected a finite number")
        score = float(score)
        passed = score >= spec.threshold if passed is None else passed
    if not isinstance(passed, bool):
        return _error(spec, f"returned {value!r}; expected a bool, a number or {{'pass', 'score', 'reason'}}")
    return Assessment(name=spec.name, tag=spec.tag, source_kind="code", source_name=spec.function,
                      passed=passed, score=score, rationale=reason)


def _error(spec: PythonCheck, why: str) -> Assessment:
    return Assessment(name=spec.name, tag=spec.tag, source_kind="code", source_name=spec.function, error=why)


@check("python", PythonCheck, with_example=True)
def python_check(output: str, reference: str, spec: PythonCheck, example: Example | None) -> Assessment:
    try:
        fn = load_function(spec.function, spec.folder)
        value = fn(output, reference, example)
    except Exception as e:  # the user's code: whatever it raises is this answer's error, not the climb's
        return _error(spec, f"{type(e).__name__}: {e}")
    return verdict(spec, value)
