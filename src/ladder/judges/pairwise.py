"""The `pairwise` judge: two rungs' answers to the same request, A / B / tie, asked in both orders.

Each pair of answers is asked twice, once with each shown first, and each order is stored as a
Comparison (`first_shown` says which answer the judge saw as "A"; `winner` is in the pair's own
a/b terms). Reading the two together (scoring.pair_verdicts): the same winner both ways is that
winner; anything else is an inconsistent pair, counted, and read as a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ladder.judges.base import JudgeModel, ask, judge_chat, one_of, parse_reply, text
from ladder.task.spec import JudgeSpec
from ladder.types import Chat, Comparison


@dataclass(frozen=True)
class Pair:
    """Two stored answers to one example: `a` (the rung compared) and `b` (the `against` rung's)."""

    a: int  # generation ids
    b: int
    input: str
    reference: str
    output_a: str
    output_b: str


class PairwiseJudge:
    kind = "pairwise"
    fields = {"winner": one_of("A", "B", "tie"), "reason": text}

    def __init__(self, spec: JudgeSpec, model: JudgeModel):
        self.spec, self.model = spec, model
        self.name = spec.name

    def chat(self, pair: Pair, first_shown: str) -> Chat:
        first, second = (pair.output_a, pair.output_b) if first_shown == "a" else (pair.output_b, pair.output_a)
        parts = [("Request", pair.input)]
        if pair.reference:
            parts.append(("Reference answer (a good answer, for comparison)", pair.reference))
        parts += [("Answer A", first), ("Answer B", second)]
        return judge_chat(
            "Two assistants answered the same request. Decide which answer is better: more correct first, then more "
            "complete and clearer. Do not prefer an answer for being shown first or for being longer. Say tie when "
            "neither is better.", parts, self.kind)

    def compare(self, pairs: Sequence[Pair]) -> list[Comparison]:
        """Two Comparisons per pair (a shown first, then b shown first), in order."""
        orders = [(p, shown) for p in pairs for shown in ("a", "b")]
        asked = ask(self.model.call(self.spec), [self.chat(p, shown) for p, shown in orders],
                    lambda reply: parse_reply(reply, self.fields), self.spec.retries)
        out = []
        for (pair, shown), a in zip(orders, asked):
            winner = None
            if a.parsed is not None:
                said = a.parsed["winner"]
                other = "b" if shown == "a" else "a"
                winner = "tie" if said == "tie" else shown if said == "A" else other
            meta = {**a.metadata(self.kind, self.model.label), "pair": f"{pair.a}-{pair.b}"}
            out.append(Comparison(a=pair.a, b=pair.b, source_kind="llm_judge", source_name=self.name,
                                  winner=winner, first_shown=shown,  # type: ignore[arg-type]
                                  rationale="" if a.parsed is None else a.parsed["reason"], error=a.error,
                                  cost=a.cost(self.model.prices), metadata=meta))
        return out
