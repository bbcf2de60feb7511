"""Classify one example's outcome into a failure class, with the evidence that put it there.

Uses only what was measured: the tier-1 checks (tagged form/knowledge), the call's finish reason
and error, a judge's verdict, the teacher's answer to the same prompt, and whether retrieval
found the gold source. Precedence: blocked, error, then the checks; a knowledge error is split
by retrieval when the rung retrieved (miss / hit but not used), else by the teacher when one
answered (right / wrong too), else by whether the values it got wrong are written in its input
(in_input.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ladder.diagnosis.judge import SUFFICIENCY
from ladder.scoring import tag_result
from ladder.types import Assessment

# class key -> what it means (the report's legend, in display order)
CLASSES: dict[str, str] = {
    "form": "form error: the content is right, the form is not",
    "form_and_knowledge": "form and knowledge error: both wrong",
    "knowledge_retrieval_miss": "knowledge error: retrieval missed the gold source",
    "knowledge_retrieval_unused": "knowledge error: the gold source was retrieved but not used",
    "knowledge_teacher_right": "knowledge error: the teacher model gets it right",
    "knowledge_teacher_wrong": "knowledge error: the teacher model gets it wrong too",
    "knowledge_in_input": "knowledge error on values written in the input: a reading error, not missing knowledge "
                          "(in_input.py)",
    "knowledge": "knowledge error (no teacher, retrieval or in-the-input evidence to split it)",
    "thin": "thin answer: passes the checks but says too little against the reference (by the sufficiency "
            "judge, or else the length/coverage heuristic)",
    "blocked": "blocked: the backend refused or its content filter fired",
    "error": "error: the call failed (left out of the accuracies, not a wrong answer)",
}

# Error texts that mean the provider refused, not that the call broke.
BLOCK_MARKERS = ("refusal", "content_filter", "content filter", "content management policy",
                 "responsibleaipolicyviolation")


@dataclass(frozen=True)
class TeacherAnswer:
    output: str
    knowledge_ok: bool | None  # the teacher's knowledge checks; None: none ran (or it failed)
    error: str | None = None


@dataclass(frozen=True)
class RetrievalInfo:
    gold_hit: bool | None  # None: gold sources unknown for this example
    retrieved: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    example_id: str
    cls: str | None  # None: passed and not thin
    evidence: str
    input: str
    output: str
    expected: str


def is_blocked(gen: Any) -> bool:
    if gen.finish_reason == "content_filter":
        return True
    text = (gen.error or "").lower()
    return bool(text) and any(m in text for m in BLOCK_MARKERS)


def _failed(gen: Any, tag: str) -> str:
    bad = [a for a in gen.assessments if a.tag == tag and a.verdict is False]
    return "; ".join(f"{tag} check {a.name!r} failed" + (f": {a.rationale}" if a.rationale else "") for a in bad)


def _judged(judged: Sequence[Assessment], tag: str) -> bool | None:
    """What the judges said on `tag`: False if one failed it, True if one passed it, else None."""
    said = [a.verdict for a in judged if a.tag == tag and a.verdict is not None]
    return None if not said else all(said)


def _content_ok(gen: Any, judged_by: Sequence[Assessment]) -> bool | None:
    """Right when the knowledge checks pass or the judge says right; wrong when they fail."""
    checks = tag_result(gen, "knowledge")
    judged = _judged(judged_by, "knowledge")
    if checks is True or judged is True:
        return True
    if checks is False or judged is False:
        return False
    return None


def _knowledge_class(gen: Any, teacher: TeacherAnswer | None, retrieval: RetrievalInfo | None,
                     in_input: frozenset[str]) -> tuple[str, str]:
    if retrieval is not None and retrieval.gold_hit is not None:
        got = ", ".join(retrieval.retrieved[:5]) or "nothing"
        if not retrieval.gold_hit:
            return "knowledge_retrieval_miss", f"the gold source was not among the retrieved ({got})"
        return "knowledge_retrieval_unused", f"the gold source was retrieved ({got}) but the answer is wrong"
    if teacher is not None and teacher.error is None and teacher.knowledge_ok is not None:
        said = f"teacher answered {teacher.output[:120]!r}"
        if teacher.knowledge_ok:
            return "knowledge_teacher_right", f"{said}, which passes the knowledge checks"
        return "knowledge_teacher_wrong", f"{said}, which fails the knowledge checks too"
    failed = sorted({a.name for a in gen.assessments if a.tag == "knowledge" and a.verdict is False})
    if failed and set(failed) <= in_input:
        return "knowledge_in_input", f"the expected value of {', '.join(map(repr, failed))} is written in the input"
    return "knowledge", ""


def classify(gen: Any, example_id: str = "", judged: Sequence[Assessment] = (),
             teacher: TeacherAnswer | None = None, retrieval: RetrievalInfo | None = None,
             in_input: frozenset[str] = frozenset()) -> Diagnosis:
    """The failure class of one generation (a store row or anything with the same fields);
    `judged` holds a judge's assessments of it (tags knowledge and sufficiency); `in_input` names
    the extractive knowledge checks whose expected value is written in this row's input
    (in_input.py)."""
    def out(cls: str | None, *evidence: str) -> Diagnosis:
        return Diagnosis(example_id or getattr(gen, "example_id", ""), cls,
                         "; ".join(e for e in evidence if e), gen.input, gen.output, gen.expected)

    if is_blocked(gen):
        return out("blocked", f"finish_reason={gen.finish_reason}", f"error: {gen.error}" if gen.error else "")
    if gen.error is not None:
        return out("error", f"the call failed: {gen.error}")
    form_ok = tag_result(gen, "form")
    content = _content_ok(gen, judged)
    said = "; ".join(f"{a.source_name}: {a.rationale or a.error}" for a in judged if a.rationale or a.error)
    if form_ok is False:
        if content is False:
            return out("form_and_knowledge", _failed(gen, "form"), _failed(gen, "knowledge"),
                       _knowledge_class(gen, teacher, retrieval, in_input)[1])
        right = "knowledge checks pass" if tag_result(gen, "knowledge") else said or "no knowledge check"
        return out("form", _failed(gen, "form"), right)
    if content is False:
        cls, why = _knowledge_class(gen, teacher, retrieval, in_input)
        return out(cls, _failed(gen, "knowledge") or said, why)
    if _judged(judged, SUFFICIENCY) is False:
        return out("thin", "every check passes", said)
    return out(None, "")
