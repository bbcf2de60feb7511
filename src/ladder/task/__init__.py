"""Task: the spec from task.yaml plus the examples it points to."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from ladder.metrics.checks import CompareCheck
from ladder.metrics.python_check import CheckLoadError, PythonCheck, load_function
from ladder.task.datasets import DataError, read_examples
from ladder.task.scorable import unscorable_rows
from ladder.task.selection import resolve_selection
from ladder.task.spec import TaskError, TaskSpec
from ladder.task.yaml_file import parse_task_yaml
from ladder.types import CheckSpec, Example, content_hash

__all__ = ["Task", "TaskError", "DataError", "load_task", "DEFAULT_CHECK"]

# The check of a task.yaml that gives none: the answer must equal the reference.
DEFAULT_CHECK = CompareCheck(name="answer", kind="exact", tag="knowledge")


@dataclass(frozen=True)
class Task:
    spec: TaskSpec
    path: Path
    train: tuple[Example, ...]
    eval: tuple[Example, ...]  # every row each rung answers: the dev rows and the test rows

    @property
    def dev_ids(self) -> frozenset[str]:
        """Ids of the eval rows that are dev (selection) rows; empty without a selection split."""
        chosen = self.spec.selection
        return frozenset(chosen.dev_ids or ()) if chosen is not None else frozenset()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def checks(self) -> tuple[CheckSpec, ...]:
        return tuple(self.spec.checks)

    def fingerprint(self) -> str:
        """Hash of everything that defines the task: spec and data contents."""
        return content_hash(
            self.spec.model_dump(mode="json"),
            [e.__dict__ for e in self.train],
            [e.__dict__ for e in self.eval],
        )


def load_task(path: str | Path) -> Task:
    """Load task.yaml and its data files; raise TaskError or DataError with precise locations.

    The dev rows (data.dev) come first in `eval`; the split is recorded in `spec.selection`."""
    path = Path(path)
    spec = parse_task_yaml(path)
    base = path.parent
    problems: list[str] = []
    files = {"eval": spec.data.eval, "train": spec.data.train, "dev": spec.data.dev}
    read: dict[str, list[Example]] = {name: [] for name in files}
    for name, file in files.items():
        if file is None:
            continue
        try:
            read[name] = read_examples(base / file)
        except DataError as e:
            problems += e.problems
    if problems:
        raise DataError(problems)
    evals = read["dev"] + read["eval"]
    eval_lines = {e.id: e.source for e in read["eval"]}
    problems = [f"{e.source}: id {e.id!r} is also an eval row ({eval_lines[e.id]})"
                for e in read["dev"] if e.id in eval_lines]
    base = base.resolve()
    spec = with_model_paths(with_defaults(spec, path, evals), base)
    checks, unloadable = _python_checks_in(base, spec.checks, "checks")
    for i, e in enumerate(evals):
        own, found = _python_checks_in(base, e.checks, e.source or e.id)
        evals[i], unloadable = replace(e, checks=tuple(own)), unloadable + found
    if unloadable:
        raise TaskError(path, unloadable)
    spec = spec.model_copy(update={"checks": checks})
    judge_tags = [j.verdict_tag for j in spec.judges if j.kind != "pairwise"]
    problems += unscorable_rows(spec.checks, spec.target.metric, evals, judge_tags)
    if problems:
        raise DataError(problems)
    spec, selection_problems = resolve_selection(spec, read["dev"], evals)
    if selection_problems:
        raise TaskError(path, selection_problems)
    return Task(spec=spec, path=path, train=tuple(read["train"]), eval=tuple(evals))


def with_model_paths(spec: TaskSpec, base: Path) -> TaskSpec:
    """The spec with the `path` of `model`, `teacher`, each of `models` and each judge's `model`
    made absolute (they are relative to task.yaml)."""
    def absolute(model: Any) -> Any:
        if model is not None and model.path is not None and not model.path.is_absolute():
            return model.model_copy(update={"path": base / model.path})
        return model

    update: dict[str, object] = {key: absolute(getattr(spec, key)) for key in ("model", "teacher")
                                 if absolute(getattr(spec, key)) is not getattr(spec, key)}
    judges = [j.model_copy(update={"model": absolute(j.model)}) for j in spec.judges]
    if any(new.model is not old.model for new, old in zip(judges, spec.judges)):
        update["judges"] = judges
    if spec.models is not None:
        update["models"] = [absolute(m) for m in spec.models]
    return spec.model_copy(update=update) if update else spec


def _python_checks_in(base: Path, checks: Sequence[CheckSpec], where: str) -> tuple[list[CheckSpec], list[str]]:
    """`checks` with each python check's `folder` resolved against task.yaml's folder, and the
    problems of those whose function cannot be loaded (found now, not on the first answer)."""
    resolved: list[CheckSpec] = []
    problems = []
    for i, c in enumerate(checks):
        if isinstance(c, PythonCheck):
            c = c.model_copy(update={"folder": base / c.folder if c.folder is not None else base})
            try:
                load_function(c.function, c.folder)
            except CheckLoadError as e:
                problems.append(f"{where}.{i}.function: {e}" if where == "checks" else f"{where}: check {c.name}: {e}")
        resolved.append(c)
    return resolved, problems


def with_defaults(spec: TaskSpec, path: Path, evals: list[Example]) -> TaskSpec:
    """The spec with what a minimal task.yaml leaves out filled in: the name (task.yaml's folder)
    and, when neither task.yaml nor any eval example gives a check, DEFAULT_CHECK."""
    update: dict[str, object] = {}
    if not spec.name:
        update["name"] = path.resolve().parent.name
    if not spec.checks and not any(e.checks for e in evals):
        update["checks"] = [DEFAULT_CHECK]
    return spec.model_copy(update=update) if update else spec
