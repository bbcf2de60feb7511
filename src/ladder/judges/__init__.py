"""LLM judges (tier 2): models that read each answer and give a verdict, scored like a check's.

One file per kind: `rubric`, `reference`, `sufficiency` (AnswerJudges: one Assessment per
answer) and `pairwise` (two Comparisons per pair of answers, one per order shown). `base` holds
what they share (the prompt's frame, strict JSON parsing, bounded retries, cost); `run` puts a
rung's answers (or every rung's, pairwise) to the task's judges and stores the verdicts.
"""

from __future__ import annotations

from ladder.judges.answer import Answer, AnswerJudge
from ladder.judges.base import REPLY_SCHEMAS, JudgeModel, ReplyError, parse_reply
from ladder.judges.pairwise import Pair, PairwiseJudge
from ladder.judges.reference import ReferenceJudge
from ladder.judges.rubric import RubricJudge
from ladder.judges.sufficiency import SufficiencyJudge
from ladder.task.spec import JudgeSpec

KINDS: dict[str, type[AnswerJudge]] = {"rubric": RubricJudge, "reference": ReferenceJudge,
                                       "sufficiency": SufficiencyJudge}


def build_judge(spec: JudgeSpec, model: JudgeModel) -> AnswerJudge | PairwiseJudge:
    """The judge `spec` describes, asking `model`."""
    if spec.kind == "pairwise":
        return PairwiseJudge(spec, model)
    return KINDS[spec.kind](spec, model)


__all__ = ["KINDS", "REPLY_SCHEMAS", "Answer", "AnswerJudge", "JudgeModel", "Pair", "PairwiseJudge",
           "ReplyError", "build_judge", "parse_reply"]
