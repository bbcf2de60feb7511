"""The JSON Schema of task.yaml, generated from the pydantic models that validate it.

Editors read it through a first line ``# yaml-language-server: $schema=task.schema.json``
(written by ``ladder schema --out task.schema.json``) for completion and validation as one types.
It is generated at call time, so it always describes the TaskSpec of the installed ladder.
"""

from __future__ import annotations

import json
from typing import Any

from ladder.task.spec import TaskSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"  # the dialect pydantic generates


def task_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that a task.yaml, read as YAML, must satisfy."""
    schema = TaskSpec.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DIALECT, **schema, "title": "ladder task.yaml"}


def task_json_schema_text() -> str:
    return json.dumps(task_json_schema(), indent=2, ensure_ascii=False) + "\n"
