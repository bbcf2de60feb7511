"""Every eval row must be scorable on the target metric before anything runs.

A row with no check of the target's tag would have no verdict on it (an empty set of checks
passes vacuously), so a rung could "meet" a target on rows nothing measured. A judge (tier 2)
reads every answered row, so a judge of the target's tag (any judge, for `overall`) makes
every row scorable.
"""

from __future__ import annotations

from typing import Sequence

from ladder.types import CheckSpec, Example


def unscorable_rows(task_checks: Sequence[CheckSpec], metric: str, examples: Sequence[Example],
                    judge_tags: Sequence[str] = ()) -> list[str]:
    """`file:line: ...` for every row without a check of the target's tag (task-level or its own);
    for `overall`, without any check. `judge_tags`: the tags of the task's judges that give verdicts
    on each answer (pairwise ones do not). Empty when every row can be scored."""

    def counts(check: CheckSpec) -> bool:
        return metric == "overall" or check.tag == metric

    if any(counts(c) for c in task_checks) or any(metric in ("overall", tag) for tag in judge_tags):
        return []
    what = "no check" if metric == "overall" else f"no check of tag {metric!r}"
    return [f"{e.source or e.id}: {what} scores this row on the target metric (target.metric: {metric}); "
            f"add one to task.yaml checks or to the row's own checks, or a judge of that tag"
            for e in examples if not any(counts(c) for c in e.checks)]
