"""Reading task.yaml: a key given twice, invalid YAML or UTF-8, and every schema error (with its
key path, task/spec.py's TaskSpec) become one TaskError naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ladder.task.spec import TaskError, TaskSpec
from ladder.validation_errors import format_validation_error


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key; construct_mapping reports it
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {first + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_task_yaml(path: Path) -> TaskSpec:
    """Read and validate task.yaml; raise TaskError with key paths on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(path, ["file not found"]) from None
    except UnicodeDecodeError as e:
        raise TaskError(path, [f"not valid UTF-8 (byte {e.start})"]) from None
    except OSError as e:
        raise TaskError(path, [f"cannot read: {e.strerror or e}"]) from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise TaskError(path, [f"{where}not valid YAML: {getattr(e, 'problem', None) or e}"]) from None
    if not isinstance(raw, dict):
        raise TaskError(path, ["<top>: expected a mapping of keys (name, data, checks, ...)"])
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as e:
        raise TaskError(path, format_validation_error(e, TaskSpec)) from None
    return spec
