"""Every eval row must be scorable on the target metric before anything runs.

A row with no check of the target's tag would have no verdict on it (an empty set of checks
passes vacuously), so a rung could "meet" a target on rows nothing measured.
"""

from __future__ import annotations

from typing import Sequence

from ladder.types import CheckSpec, Example


def unscorable_rows(task_checks: Sequence[CheckSpec], metric: str, examples: Sequence[Example]) -> list[str]:
    """`file:line: ...` for every row without a check of the target's tag (task-level or its own);
    for `overall`, without any check. Empty when every row can be scored."""

    def counts(check: CheckSpec) -> bool:
        return metric == "overall" or check.tag == metric

    if any(counts(c) for c in task_checks):
        return []
    what = "no check" if metric == "overall" else f"no check of tag {metric!r}"
    return [f"{e.source or e.id}: {what} scores this row on the target metric (target.metric: {metric}); "
            f"add one to task.yaml checks or to the row's own checks"
            for e in examples if not any(counts(c) for c in e.checks)]
