"""The task's output space: the answers it allows, when they form a small, known set of labels.

Kung & Peng (2023) found that instruction tuning mostly teaches the output space: a simplified
definition that keeps only the label options, and a random draw from those labels, score close
to tuning on the full task. The rungs that repeat those ablations (`lora_sft_short_instructions`,
`random_baseline`, `lora_sft_wrong_demos`) read the output space from here.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from ladder.task import Task

MAX_LABELS = 20  # more distinct training answers than this and the answers are free-form


@dataclass(frozen=True)
class OutputSpace:
    """The task's labels, most frequent first, with how often each is a training answer
    (1 each when declared in task.yaml rather than counted)."""

    labels: tuple[str, ...]
    counts: tuple[int, ...]

    def definition(self) -> str:
        """A task definition that says nothing but the output space."""
        return "Answer with exactly one of the following, and nothing else:\n" + "\n".join(self.labels)

    def draw(self, rng: random.Random) -> str:
        """A label drawn in proportion to its training frequency."""
        return rng.choices(self.labels, weights=self.counts)[0]


def output_space(task: Task, declared: Sequence[str] | None = None,
                 max_labels: int = MAX_LABELS) -> OutputSpace | None:
    """The declared labels (uniform), else the training answers when they form a small finite set;
    None when the answers are free-form.

    Counted labels are finite when there are at most `max_labels` distinct answers and each is,
    on average, the answer of at least two training examples (a set of mostly unique answers is
    a sample of a free-form space, not its labels)."""
    if declared:
        labels = tuple(dict.fromkeys(declared))
        return OutputSpace(labels, (1,) * len(labels))
    counts = Counter(ex.expected for ex in task.train)
    if not counts or len(counts) > max_labels or 2 * len(counts) > len(task.train):
        return None
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return OutputSpace(tuple(label for label, _ in ranked), tuple(n for _, n in ranked))


def other_answer(answer: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """A member of `pool` that differs from `answer` (drawn with the pool's multiplicity, so a
    frequent label is drawn more often): the right form, the wrong content. None if every
    member equals `answer`."""
    others = [a for a in pool if a != answer]
    return rng.choice(others) if others else None
