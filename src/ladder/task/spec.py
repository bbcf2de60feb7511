"""The task spec: what `task.yaml` may say, typed and validated.

Unknown keys and wrong types fail with the YAML path of the offending value and a hint,
e.g. ``task.yaml: prices.input_per_1k: Input should be a valid number (got 'cheap')``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ladder.types import CheckSpec


class TaskError(Exception):
    """A task.yaml that cannot be used. `problems` are `path: message` lines."""

    def __init__(self, file: Path | str, problems: list[str]):
        self.file = str(file)
        self.problems = problems
        super().__init__("\n".join(f"{self.file}: {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """Which model answers. `local` runs in-process on CPU; `openai` is any OpenAI-compatible API."""

    backend: Literal["local", "openai"] = "local"
    name: str = Field("smollm2-135m-instruct", description="local model id, or the API's model name")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (backend: openai)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    dtype: Literal["float32", "bfloat16"] = "float32"


class DataSpec(_Strict):
    """Data files, relative to task.yaml. Chat JSONL or {input, expected} JSONL."""

    train: Path | None = None
    eval: Path


class PromptSpec(_Strict):
    system: str | None = Field(None, description="system prompt used by every rung")
    instructions: str | None = Field(
        None, description="task instructions and output format, used by the `instructed` rung"
    )


class GenerationSpec(_Strict):
    max_new_tokens: int = Field(128, gt=0)
    batch_size: int = Field(8, gt=0)


class CheckModel(_Strict):
    name: str
    kind: Literal["exact", "contains", "regex", "numeric", "json"]
    tag: Literal["form", "knowledge"]
    pattern: str | None = None
    extract: str | None = None
    value: str | None = None
    tolerance: float = Field(0.0, ge=0)
    ignore_case: bool = False
    json_schema: dict[str, Any] | None = Field(None, alias="schema")

    @field_validator("pattern", "extract")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            import re

            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    def to_spec(self) -> CheckSpec:
        if self.kind == "regex" and not self.pattern:
            raise ValueError(f"check {self.name!r}: kind regex needs `pattern`")
        return CheckSpec(
            name=self.name,
            kind=self.kind,
            tag=self.tag,
            pattern=self.pattern,
            extract=self.extract,
            value=self.value,
            tolerance=self.tolerance,
            ignore_case=self.ignore_case,
            schema=self.json_schema,
        )


class TargetSpec(_Strict):
    metric: Literal["form", "knowledge", "overall"] = Field(
        "overall", description="which accuracy must reach `value` (overall = every check passes)"
    )
    value: float = Field(0.9, ge=0, le=1)


class BudgetSpec(_Strict):
    money: float | None = Field(None, ge=0, description="most to spend building candidates")
    train_hours: float | None = Field(None, ge=0)


class PriceSpec(_Strict):
    """Prices used for every cost figure; the example's numbers are assumptions, say so."""

    currency: str = "USD"
    input_per_1k: float = Field(0.0, ge=0, description="per 1K prompt tokens")
    output_per_1k: float = Field(0.0, ge=0, description="per 1K completion tokens")
    train_per_hour: float = Field(0.0, ge=0, description="per hour of training wall-clock")


class TaskSpec(_Strict):
    name: str
    description: str = ""
    model: ModelSpec = ModelSpec()
    data: DataSpec
    prompts: PromptSpec = PromptSpec()
    generation: GenerationSpec = GenerationSpec()
    checks: list[CheckModel] = []
    target: TargetSpec = TargetSpec()
    budget: BudgetSpec = BudgetSpec()
    prices: PriceSpec = PriceSpec()
    volume: int = Field(100_000, ge=0, description="expected requests, for break-even advice")
    rungs: dict[str, dict[str, Any] | None] | None = Field(
        None, description="rungs to climb and their options; default: every rung, cheapest first"
    )
    seed: int = 0


def _hint(loc: tuple[Any, ...], err_type: str) -> str:
    """A 'did you mean' for unknown keys, from the fields of the model at that path."""
    if err_type != "extra_forbidden" or not loc:
        return ""
    model: Any = TaskSpec
    for part in loc[:-1]:
        field_info = getattr(model, "model_fields", {}).get(part)
        if field_info is None:
            return ""
        model = field_info.annotation
    names = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    known = f"; known keys: {', '.join(names)}" if names else ""
    return f" (did you mean {close[0]!r}?)" if close else known


def format_validation_error(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc) or "<top>"
        got = "" if e["type"] == "extra_forbidden" else f" (got {e.get('input')!r})"
        if e["type"] == "missing":
            got = ""
        problems.append(f"{path}: {e['msg']}{got}{_hint(loc, e['type'])}")
    return problems


def parse_task_yaml(path: Path) -> TaskSpec:
    """Read and validate task.yaml; raise TaskError with key paths on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(path, ["file not found"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise TaskError(path, [f"{where}not valid YAML: {getattr(e, 'problem', e)}"]) from None
    if not isinstance(raw, dict):
        raise TaskError(path, ["<top>: expected a mapping of keys (name, data, checks, ...)"])
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as e:
        raise TaskError(path, format_validation_error(e)) from None
    problems = []
    for i, check in enumerate(spec.checks):
        try:
            check.to_spec()
        except ValueError as e:
            problems.append(f"checks.{i}: {e}")
    if problems:
        raise TaskError(path, problems)
    return spec
