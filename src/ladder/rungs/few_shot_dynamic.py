"""few_shot_dynamic: the k training examples nearest to each input (by embedding) as demonstrations.

Like few_shot, but chosen per input: all-MiniLM-L6-v2 embeds the training inputs and each
eval input, and the k most similar training examples (cosine) become earlier chat turns, the
most similar one last, next to the question. A training example that is a near-duplicate of
the input (task/near_duplicates.py: a similar input with the same answer, or the same input) is
never a demonstration: it would hand the model the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Mapping, Sequence

import numpy as np
from pydantic import Field

from ladder.retrieval.dense import Embedder
from ladder.rungs.base import RungContext, RungOptions, needs_train
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.task.near_duplicates import copied_from
from ladder.types import Candidate, Chat, Example


def nearest(query_vecs: np.ndarray, train_vecs: np.ndarray, k: int, exclude: Sequence[set[int]]) -> list[list[int]]:
    """For each query, the k most similar training rows, least similar first."""
    sims = query_vecs @ train_vecs.T
    out = []
    for row, banned in zip(sims, exclude):
        order = [int(i) for i in np.argsort(-row, kind="stable") if int(i) not in banned][:k]
        out.append(order[::-1])
    return out


@dataclass(frozen=True)
class DynamicFewShotPrompt:
    train: tuple[Example, ...]
    vectors: np.ndarray  # unit embeddings of the training inputs
    embedder: Embedder
    k: int
    system: str | None = None
    chosen: Mapping[str, tuple[Example, ...]] = field(default_factory=dict)  # example id -> demos

    def demos(self, example: Example) -> tuple[Example, ...]:
        if example.id in self.chosen:
            return self.chosen[example.id]
        banned = set(copied_from([example], self.train)[0])
        idx = nearest(self.embedder.encode([example.input]), self.vectors, self.k, [banned])[0]
        return tuple(self.train[i] for i in idx)

    def render(self, example: Example) -> Chat:
        return ChatPrompt(system=self.system, demos=self.demos(example)).render(example)

    def describe(self) -> dict[str, Any]:
        return {"system": self.system, "dynamic_k": self.k, "embedder": self.embedder.id,
                "demos": {ex_id: [d.id for d in demos] for ex_id, demos in self.chosen.items()}}


class FewShotDynamic:
    name: ClassVar[str] = "few_shot_dynamic"
    kind: ClassVar[Literal["prompt"]] = "prompt"

    class Options(RungOptions):
        k: int = Field(3, gt=0, description="demonstrations per input, nearest by embedding")

    def requires(self, task: Task, options: Options) -> str | None:
        return needs_train(task, self.name, options.k)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        train = ctx.task.train
        if len(train) < options.k:
            raise ValueError(f"few_shot_dynamic needs {options.k} training examples, the task has {len(train)}")
        embedder = Embedder()
        vectors = embedder.encode([t.input for t in train])
        queries = embedder.encode([e.input for e in ctx.task.eval])
        banned = [set(found) for found in copied_from(ctx.task.eval, train)]
        picks = nearest(queries, vectors, options.k, banned)
        chosen = {e.id: tuple(train[i] for i in idx) for e, idx in zip(ctx.task.eval, picks)}
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=DynamicFewShotPrompt(tuple(train), vectors, embedder, options.k,
                                        ctx.task.spec.prompts.system, chosen),
            description=f"the {options.k} training examples nearest to each input (all-MiniLM-L6-v2)",
        )
