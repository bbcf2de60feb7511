"""The JSON Schema of task.yaml: every shipped example satisfies it; a wrong type does not."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from ladder.task.schema import task_json_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/task.yaml"))


def _validator() -> jsonschema.protocols.Validator:
    schema = task_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_shipped_examples_satisfy_the_schema(path: Path) -> None:
    assert list(_validator().iter_errors(yaml.safe_load(path.read_text()))) == []


def test_wrong_types_and_unknown_keys_are_rejected() -> None:
    assert len(EXAMPLES) >= 4
    task = yaml.safe_load(EXAMPLES[0].read_text())
    validator = _validator()
    bad = copy.deepcopy(task)
    bad["prices"]["input_per_1k"] = "cheap"
    (error,) = validator.iter_errors(bad)
    assert list(error.absolute_path) == ["prices", "input_per_1k"]
    bad = copy.deepcopy(task)
    bad["checks"][0]["kind"] = "telepathy"
    assert [list(e.absolute_path) for e in validator.iter_errors(bad)] == [["checks", 0, "kind"]]
    bad = copy.deepcopy(task)
    bad["modle"] = bad.pop("model")
    assert any("modle" in e.message for e in validator.iter_errors(bad))
    assert any("'data' is a required property" in e.message
               for e in validator.iter_errors({k: v for k, v in task.items() if k != "data"}))


def test_schema_describes_fields_with_the_models_help() -> None:
    schema = task_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    from ladder.task.spec import TaskSpec

    assert schema["properties"]["corpus"]["description"] == TaskSpec.model_fields["corpus"].description
