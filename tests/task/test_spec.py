"""task.yaml parsing: a valid spec loads; every mistake names its key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ladder.task.spec import TaskError, TaskSpec
from ladder.task.yaml_file import parse_task_yaml

VALID = """\
name: demo
description: a small task
model:
  backend: local
  name: smollm2-135m-instruct
data:
  train: data/train.jsonl
  eval: data/eval.jsonl
prompts:
  system: You are terse.
  instructions: Answer with one word.
generation:
  max_new_tokens: 32
  batch_size: 4
checks:
  - name: one word
    kind: regex
    tag: form
    pattern: '^\\w+$'
  - name: answer
    kind: exact
    tag: knowledge
    ignore_case: true
  - name: number
    kind: numeric
    tag: knowledge
    extract: '(-?\\d+(?:\\.\\d+)?)'
    tolerance: 0.5
  - name: payload
    kind: json
    tag: form
    schema: {type: object, required: [a]}
target: {metric: form, value: 0.8}
budget: {money: 10}
prices: {currency: EUR, input_per_1k: 0.001, output_per_1k: 0.002, train_per_hour: 1.5}
volume: 5000
rungs:
  zero_shot:
  few_shot: {k: 2}
seed: 7
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(TaskError) as info:
        parse_task_yaml(path)
    assert info.value.file == str(path)
    return info.value.problems


def test_valid_task_loads(tmp_path: Path) -> None:
    spec = parse_task_yaml(write(tmp_path, VALID))
    assert isinstance(spec, TaskSpec)
    assert spec.name == "demo"
    assert spec.data.eval == Path("data/eval.jsonl")
    assert spec.data.train == Path("data/train.jsonl")
    assert spec.prompts.system == "You are terse."
    assert spec.generation.max_new_tokens == 32
    assert spec.prices.currency == "EUR" and spec.prices.input_per_1k == 0.001
    assert spec.target.metric == "form" and spec.target.value == 0.8
    assert spec.rungs == {"zero_shot": None, "few_shot": {"k": 2}}
    specs = list(spec.checks)
    assert [c.kind for c in specs] == ["regex", "exact", "numeric", "json"]
    assert specs[1].ignore_case is True
    assert specs[2].tolerance == 0.5
    assert specs[3].json_schema == {"type": "object", "required": ["a"]}
    # dumped (e.g. into the run store) by the YAML names
    assert spec.model_dump(mode="json")["checks"][3]["schema"] == {"type": "object", "required": ["a"]}


def test_minimal_task_gets_defaults(tmp_path: Path) -> None:
    spec = parse_task_yaml(write(tmp_path, "name: x\ndata: {eval: e.jsonl}\n"))
    assert spec.data.train is None
    assert spec.model.backend == "local"
    assert spec.checks == []
    assert spec.target.metric == "overall"


def test_unknown_top_level_key_names_it_and_hints(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID + "chekcs: []\n")
    assert len(problems) == 1
    assert problems[0].startswith("chekcs: ")
    assert "did you mean 'checks'?" in problems[0]


def test_unknown_nested_key_names_dotted_path_and_hints(tmp_path: Path) -> None:
    text = VALID.replace("input_per_1k: 0.001", "input_per_1kk: 0.001")
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith("prices.input_per_1kk: ")
    assert "did you mean 'input_per_1k'?" in problems[0]


def test_unknown_key_in_a_check_hints_from_the_check_fields(tmp_path: Path) -> None:
    text = VALID.replace("    pattern: '^\\w+$'", "    patern: '^\\w+$'")
    problems = problems_of(tmp_path, text)
    assert any(p.startswith("checks.0.patern: ") and "did you mean 'pattern'?" in p for p in problems)


def test_schema_key_is_hinted_by_its_yaml_name(tmp_path: Path) -> None:
    text = VALID.replace("    schema: {type", "    schemaa: {type")
    problems = problems_of(tmp_path, text)
    assert any(p.startswith("checks.3.schemaa: ") and "did you mean 'schema'?" in p for p in problems)


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("  batch_size: 4", "  zzz: 4"))
    assert problems[0].startswith("generation.zzz: ")
    assert "known keys: max_new_tokens, batch_size" in problems[0]


def test_wrong_type_names_the_path_and_the_value(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("input_per_1k: 0.001", "input_per_1k: cheap"))
    assert len(problems) == 1
    assert problems[0].startswith("prices.input_per_1k: ")
    assert "number" in problems[0]
    assert "(got 'cheap')" in problems[0]


def test_out_of_range_and_bad_literal_are_all_reported(tmp_path: Path) -> None:
    text = VALID.replace("value: 0.8", "value: 1.5").replace("backend: local", "backend: ollama")
    problems = problems_of(tmp_path, text)
    paths = sorted(p.split(":")[0] for p in problems)
    assert paths == ["model.backend", "target.value"]


def test_invalid_regex_in_a_check_names_its_path(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("pattern: '^\\w+$'", "pattern: '(unclosed'"))
    assert len(problems) == 1
    assert problems[0].startswith("checks.0.pattern: ")
    assert "not a valid regular expression" in problems[0]


def test_invalid_extract_regex_names_its_path(tmp_path: Path) -> None:
    text = VALID.replace("extract: '(-?\\d+(?:\\.\\d+)?)'", "extract: '[0-9'")
    problems = problems_of(tmp_path, text)
    assert problems[0].startswith("checks.2.extract: ")


def test_regex_check_without_pattern(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("    pattern: '^\\w+$'\n", ""))
    assert problems == ["checks.0.pattern: kind regex needs `pattern`"]


def test_field_the_kind_does_not_use_is_reported(tmp_path: Path) -> None:
    # `pattern` on an exact check would be silently ignored; `extract` was meant.
    text = VALID.replace("    ignore_case: true\n", "    pattern: 'x(\\d)'\n")
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith("checks.1.pattern: not used by kind exact")


def test_invalid_json_schema_is_reported_at_load(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("{type: object, required: [a]}", "{type: 12}"))
    assert len(problems) == 1
    assert problems[0].startswith("checks.3.schema: ")
    assert "not a valid JSON schema" in problems[0]


def test_numeric_value_may_be_a_yaml_number(tmp_path: Path) -> None:
    text = VALID.replace("    tolerance: 0.5\n", "    tolerance: 0.5\n    value: 42\n")
    spec = parse_task_yaml(write(tmp_path, text))
    assert spec.checks[2].value == "42"


def test_numeric_value_must_be_a_number(tmp_path: Path) -> None:
    text = VALID.replace("    tolerance: 0.5\n", "    tolerance: 0.5\n    value: lots\n")
    problems = problems_of(tmp_path, text)
    assert problems == ["checks.2.value: kind numeric needs a number (got 'lots')"]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "name: x\ndata: {eval: e.jsonl}\nchecks: [a, b\nseed: 1\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 4: not valid YAML")


def test_yaml_scanner_error_names_the_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "name: x\ndata: a: b\n")
    assert problems[0].startswith("line 2: not valid YAML: mapping values are not allowed here")


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "name: x\ndata: {eval: e.jsonl}\nname: y\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 3: not valid YAML: duplicate key 'name' (first given on line 1)")


def test_missing_data_is_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "name: x\n")
    assert problems == ["data: Field required"]


def test_missing_eval_inside_data_is_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "name: x\ndata: {train: t.jsonl}\n")
    assert problems == ["data.eval: Field required"]


def test_not_a_mapping(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "- a\n- b\n")[0].startswith("<top>: expected a mapping")
    assert problems_of(tmp_path, "")[0].startswith("<top>: expected a mapping")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as info:
        parse_task_yaml(tmp_path / "nope.yaml")
    assert info.value.problems == ["file not found"]
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"


def test_non_utf8_task_file(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes(b"name: caf\xe9\ndata: {eval: e.jsonl}\n")
    with pytest.raises(TaskError) as info:
        parse_task_yaml(path)
    assert info.value.problems[0].startswith("not valid UTF-8")


def test_error_message_prefixes_every_problem_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nvolume: -1\n")
    with pytest.raises(TaskError) as info:
        parse_task_yaml(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_batch_size_is_auto_by_default_or_a_positive_int(tmp_path: Path) -> None:
    spec = parse_task_yaml(write(tmp_path, VALID.replace("  batch_size: 4\n", "")))
    assert spec.generation.batch_size == "auto" and spec.generation.rows_per_batch is None
    assert parse_task_yaml(write(tmp_path, VALID)).generation.rows_per_batch == 4
    for bad in ("0", "fast"):
        problems = problems_of(tmp_path, VALID.replace("  batch_size: 4", f"  batch_size: {bad}"))
        assert problems and "generation.batch_size" in problems[0], problems


def test_unknown_check_kind_names_its_path_and_a_close_kind(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, VALID.replace("kind: exact", "kind: exakt"))
    assert len(problems) == 1
    assert problems[0].startswith("checks.1.kind: Input should be 'exact', 'contains', ")
    assert problems[0].endswith(" (did you mean 'exact'?) (got 'exakt')")


def test_a_registered_kind_is_valid_in_task_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ladder.metrics import checks
    from ladder.types import Assessment

    monkeypatch.setattr(checks, "KINDS", dict(checks.KINDS))  # register into a copy

    class LengthCheck(checks.BaseCheck):
        most_words: int

    @checks.check("length", LengthCheck)
    def length(output: str, reference: str, spec: LengthCheck) -> Assessment:
        return Assessment(spec.name, spec.tag, source_name=spec.kind, passed=len(output.split()) <= spec.most_words)

    text = VALID.replace("  - name: answer\n", "  - name: short\n    kind: length\n    tag: form\n    most_words: 3\n"
                                               "  - name: answer\n")
    spec = parse_task_yaml(write(tmp_path, text))
    assert spec.checks[1].kind == "length" and spec.checks[1].most_words == 3
    problems = problems_of(tmp_path, text.replace("most_words: 3", "most_wrds: 3"))
    assert any(p.startswith("checks.1.most_wrds: ") and "did you mean 'most_words'?" in p for p in problems)
    assert any(p == "checks.1.most_words: kind length needs `most_words`" for p in problems)


def test_budget_train_hours_was_removed_with_a_clear_error(tmp_path: Path) -> None:
    # it was parsed and never enforced: an old file says so instead of silently ignoring it
    problems = problems_of(tmp_path, "name: t\ndata: {eval: e.jsonl}\nbudget: {money: 5, train_hours: 2}\n")
    assert len(problems) == 1 and problems[0].startswith("budget: ")
    assert "train_hours was removed" in problems[0] and "budget.money" in problems[0]
    assert parse_task_yaml(write(tmp_path, "name: t\ndata: {eval: e.jsonl}\nbudget: {money: 5}\n")).budget.money == 5


def test_judge_trust_kappa_defaults_to_0_4_and_is_bounded(tmp_path: Path) -> None:
    assert parse_task_yaml(write(tmp_path, VALID)).judge_trust_kappa == 0.4
    assert parse_task_yaml(write(tmp_path, VALID + "judge_trust_kappa: 0.6\n")).judge_trust_kappa == 0.6
    problems = problems_of(tmp_path, VALID + "judge_trust_kappa: 1.5\n")
    assert len(problems) == 1 and problems[0].startswith("judge_trust_kappa:")
