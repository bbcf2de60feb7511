"""Task: the spec from task.yaml plus the examples it points to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ladder.task.datasets import DataError, read_examples
from ladder.task.scorable import unscorable_rows
from ladder.task.selection import resolve_selection
from ladder.task.spec import TaskError, TaskSpec, parse_task_yaml
from ladder.types import CheckSpec, Example, content_hash

__all__ = ["Task", "TaskError", "DataError", "load_task"]


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
    problems += unscorable_rows(spec.checks, spec.target.metric, evals)
    if problems:
        raise DataError(problems)
    spec, selection_problems = resolve_selection(spec, read["dev"], evals)
    if selection_problems:
        raise TaskError(path, selection_problems)
    return Task(spec=spec, path=path, train=tuple(read["train"]), eval=tuple(evals))
