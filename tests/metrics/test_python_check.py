"""kind: python — a plain function from the task's folder or an installed module (DSPy-style metric)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ladder.metrics.checks import make_check, run_checks
from ladder.task import TaskError, load_task
from ladder.types import Example

CHECKS_PY = '''
def has_reference(output, reference, example):
    return reference in output

def overlap(output, reference, example):
    words = set(reference.split())
    return len(words & set(output.split())) / len(words)

def graded(output, reference, example):
    return {"pass": output.startswith(example.id), "score": 0.25, "reason": f"asked {example.input!r}"}

def broken(output, reference, example):
    raise KeyError("no such field")

def confused(output, reference, example):
    return "yes"
'''


@pytest.fixture()
def task_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mytask"
    folder.mkdir()
    (folder / "my_checks_for_tests.py").write_text(CHECKS_PY)
    (folder / "eval.jsonl").write_text(json.dumps({"id": "e1", "input": "say hi", "expected": "hi there"}) + "\n")
    return folder


def write_task(folder: Path, functions: list[str], extra: str = "") -> Path:
    checks = "".join(f"  - {{name: c{i}, kind: python, tag: knowledge, function: 'my_checks_for_tests:{f}'{extra}}}\n"
                     for i, f in enumerate(functions))
    (folder / "task.yaml").write_text(f"data: {{eval: eval.jsonl}}\nchecks:\n{checks}")
    return folder / "task.yaml"


def assess(task_dir: Path, function: str, output: str, extra: str = ""):
    task = load_task(write_task(task_dir, [function], extra))
    (result,) = run_checks(output, task.eval[0].expected, task.checks, task.eval[0])
    return result


def test_a_bool_is_the_verdict(task_dir: Path):
    assert assess(task_dir, "has_reference", "well, hi there!").passed is True
    assert assess(task_dir, "has_reference", "hello").passed is False


def test_a_number_is_the_score_and_passes_at_the_threshold(task_dir: Path):
    half = assess(task_dir, "overlap", "hi you")
    assert (half.score, half.passed) == (0.5, False)  # the default threshold is 1.0: full marks
    assert assess(task_dir, "overlap", "hi you", ", threshold: 0.5").passed is True
    assert assess(task_dir, "overlap", "hi there").passed is True


def test_a_mapping_gives_pass_score_and_reason_and_the_example_is_passed(task_dir: Path):
    a = assess(task_dir, "graded", "e1: hi")
    assert (a.passed, a.score, a.rationale, a.error) == (True, 0.25, "asked 'say hi'", None)
    assert a.source_kind == "code" and a.source_name == "my_checks_for_tests:graded"


def test_an_exception_or_a_bad_value_is_that_answers_error_not_a_failure(task_dir: Path):
    broken = assess(task_dir, "broken", "hi")
    assert broken.passed is None and broken.error == "KeyError: 'no such field'"
    confused = assess(task_dir, "confused", "hi")
    assert confused.passed is None and "expected a bool, a number" in confused.error


def test_the_task_folder_is_on_the_import_path_only_while_loading(task_dir: Path):
    before = list(sys.path)
    load_task(write_task(task_dir, ["has_reference"]))
    assert sys.path == before and "my_checks_for_tests" not in sys.modules


def test_a_function_that_cannot_be_loaded_is_a_task_error_naming_the_check(task_dir: Path):
    with pytest.raises(TaskError) as info:
        load_task(write_task(task_dir, ["has_reference", "no_such_function"]))
    assert info.value.problems == [
        f"checks.1.function: my_checks_for_tests has no function 'no_such_function' ({task_dir / 'my_checks_for_tests.py'})"]
    (task_dir / "task.yaml").write_text(
        "data: {eval: eval.jsonl}\nchecks:\n  - {name: x, kind: python, tag: form, function: 'nowhere_module:f'}\n")
    with pytest.raises(TaskError, match=r"checks.0.function: cannot import 'nowhere_module'"):
        load_task(task_dir / "task.yaml")


def test_an_installed_module_works_without_a_folder():
    spec = make_check("python", name="p", tag="form", function="operator:contains")
    ex = Example(id="e", input="i", expected="x")
    # operator.contains takes two arguments, the check passes three: an error of that row, no crash
    assert run_checks("x", "x", (spec,), ex)[0].error == "TypeError: contains expected 2 arguments, got 3"
    spec = make_check("python", name="p", tag="form", function="builtins:isinstance")
    assert run_checks("x", "x", (spec,), ex)[0].error.startswith("TypeError: isinstance expected 2 arguments")
    with pytest.raises(ValueError, match="String should match pattern"):
        make_check("python", name="p", tag="form", function="not a function")
