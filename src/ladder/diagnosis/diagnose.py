"""Diagnose a run: classify every example of every rung, count the classes, keep examples,
and turn the dominant failure class into the next step to try. Reads the store only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from ladder.diagnosis.classify import CLASSES, Diagnosis, classify
from ladder.diagnosis.evidence import retrieval_info, teacher_answers
from ladder.diagnosis.in_input import compared_checks, extractive, tally, values_in_input
from ladder.diagnosis.judge import SUFFICIENCY, Judge, ThinAnswerHeuristic
from ladder.diagnosis.teacher import TEACHER_KIND
from ladder.tracking.store import GenerationRow, Store
from ladder.types import Assessment

EXAMPLES_PER_CLASS = 3
MAX_TEXT = 2000


@dataclass(frozen=True)
class RungDiagnosis:
    rung: str
    kind: str
    n: int
    counts: dict[str, int]
    examples: dict[str, list[Diagnosis]]
    dominant: str | None
    next_step: str
    teacher_asked: int = 0
    teacher_money: float = 0.0
    judge: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def ex(d: Diagnosis) -> dict[str, str]:
            return {"example_id": d.example_id, "input": d.input[:MAX_TEXT], "output": d.output[:MAX_TEXT],
                    "expected": d.expected[:MAX_TEXT], "evidence": d.evidence}
        return {"rung": self.rung, "kind": self.kind, "n": self.n, "counts": self.counts,
                "examples": {c: [ex(d) for d in ds] for c, ds in self.examples.items()},
                "dominant": self.dominant, "next_step": self.next_step,
                "teacher_asked": self.teacher_asked, "teacher_money": self.teacher_money,
                "judge": self.judge, "notes": self.notes}


def dominant_class(counts: dict[str, int]) -> str | None:
    """The most frequent failure class; errors only when nothing else failed. Ties: CLASSES order."""
    ranked = [c for c in CLASSES if counts.get(c) and c != "error"]
    if not ranked:
        return "error" if counts.get("error") else None
    return max(ranked, key=lambda c: (counts[c], -list(CLASSES).index(c)))


RetrievalEvidence = tuple[str, int, int]  # (retrieval rung, wrong answers with the gold retrieved, without)


def _knowledge_step(n: int, has_teacher: bool, retrieval: RetrievalEvidence | None) -> str:
    teacher = "" if has_teacher else (", and set a `teacher:` in task.yaml to tell a model limit "
                                      "(distil) from missing data (retrieval)")
    if retrieval is None:
        # nothing measured says whether facts are missing (a task's documents) or the model falls
        # short (arithmetic, reasoning, routing): say so, and what would tell
        if has_teacher:
            return (f"{n} answer(s) have the wrong content: add retrieval (RAG) where the facts live in documents; "
                    "else try a larger model")
        return (f"{n} answer(s) have the wrong content, and nothing in this run tells missing facts from a model "
                "limit: set a `teacher:` in task.yaml (a stronger model answering the same prompts tells them apart; "
                "distil where it is right), and add retrieval (RAG) where the facts live in documents")
    rung, unused, missed = retrieval
    if unused >= missed:
        return (f"{n} answer(s) have the wrong content, and this run already tried retrieval: in {rung} the gold "
                f"source was in the prompt for {unused} wrong answer(s) (missed for {missed}) and the model did not "
                "use it, so the model is the limit: try a larger model, distil from a stronger model's grounded "
                "answers, or fine-tune with retrieved context (lora_sft with prompt: rag)")
    return (f"{n} answer(s) have the wrong content; this run tried retrieval and {rung} missed the gold source "
            f"for {missed} wrong answer(s): improve retrieval (chunk size, embedder, hybrid search, metadata) "
            "or add the missing documents" + teacher)


def next_step(dominant: str | None, counts: dict[str, int], kind: str, has_teacher: bool,
              retrieval: RetrievalEvidence | None = None) -> str:
    """What to try next, from the dominant failure class (the seeds' decision rules).
    `retrieval`: what the run's best retrieval rung measured, for plain knowledge errors."""
    n = counts.get(dominant, 0) if dominant else 0
    few = "few-shot demonstrations, then LoRA fine-tuning" if kind == "prompt" else \
        "more or cleaner training examples of the target form, or more epochs"
    reading = ("more or closer demonstrations (few_shot_dynamic: the training examples nearest each input), "
               "then LoRA fine-tuning") if kind == "prompt" else \
        "more training examples like the misread inputs, or more epochs; else a larger model"
    steps = {
        None: "no failures left on this eval set: grow the eval set before trusting the figure",
        "form": f"{n} answer(s) have the right content in the wrong form: {few} (fine-tuning teaches form)",
        "form_and_knowledge": f"{n} answer(s) are wrong in form and content: fix the form first ({few}); "
                              "the knowledge checks often cannot read a badly formed answer, so diagnose again after",
        "knowledge_retrieval_miss": f"retrieval missed the gold source for {n} answer(s): improve retrieval "
                                    "(chunk size, embedder, hybrid search, metadata) or add the missing documents",
        "knowledge_retrieval_unused": f"the gold source was retrieved but not used in {n} answer(s): fewer or "
                                      "shorter passages, the best one first, or distil from a stronger model's grounded answers",
        "knowledge_teacher_right": f"the teacher gets {n} of these right: distil (fine-tune on the teacher's answers)",
        "knowledge_teacher_wrong": f"every model gets {n} of these wrong: improve the data or retrieval "
                                   "(add the missing facts to the corpus, RAG); fine-tuning will not add facts",
        "knowledge_in_input": f"{n} answer(s) got wrong a value that is written in the input, a reading error "
                              f"(retrieval cannot add what the prompt already holds): {reading}",
        "knowledge": _knowledge_step(n, has_teacher, retrieval),
        "thin": f"{n} answer(s) are right but thin: distil from the teacher's fuller answers",
        "blocked": f"{n} answer(s) were refused or filtered: fine-tune to control the output",
        "error": f"{n} call(s) failed: fix the backend errors and climb again (they are not counted as wrong)",
    }
    return steps[dominant]


def sufficiency_judges(spec: dict[str, Any]) -> list[str]:
    """The names of a run's `sufficiency` judges (task.yaml `judges:`, as the run recorded it)."""
    return [j["name"] for j in spec.get("judges") or [] if j.get("kind") == "sufficiency"]


def _thin_verdicts(gen: GenerationRow, judges: list[str]) -> tuple[GenerationRow, tuple[Assessment, ...]]:
    """The stored verdicts of the sufficiency judges, as the diagnosis's sufficiency verdicts, and
    the row without them: a thin answer is thin, not wrong, whatever tag the judge scores under."""
    mine = tuple(replace(a, tag=SUFFICIENCY) for a in gen.assessments if a.name in judges)
    return replace(gen, assessments=tuple(a for a in gen.assessments if a.name not in judges)), mine


def diagnose(store: Store, run_id: str, judge: Judge | None = None) -> list[RungDiagnosis]:
    """One RungDiagnosis per rung that produced results, in climb order. What is thin comes from
    `judge` when given; else from the run's stored `sufficiency` judge verdicts when it has such a
    judge; else from ThinAnswerHeuristic (a length/coverage heuristic, named as such)."""
    spec = store.run(run_id)["spec"]
    stored = [] if judge is not None else sufficiency_judges(spec)
    judge = judge or ThinAnswerHeuristic()
    label = f"LLM judge {', '.join(stored)} (sufficiency)" if stored else judge.name
    teachers = teacher_answers(store, run_id)
    results = store.rung_results(run_id)
    rows = [r for r in results if r.kind != TEACHER_KIND and r.status == "ok"]
    teacher_rows = {r.candidate.get("of"): r for r in results if r.kind == TEACHER_KIND}
    generations = {row.id: store.generations(row.id) for row in rows}
    reading = _ReadingEvidence.of(spec, generations.values())
    out = []
    for row in rows:
        answers = teachers.get(row.rung, {})
        retrieved = retrieval_info(store, row.id)
        counts: dict[str, int] = {}
        examples: dict[str, list[Diagnosis]] = {}
        gens = generations[row.id]
        for g in gens:
            if stored:
                g, judged = _thin_verdicts(g, stored)
            else:
                judged = judge.judge(g.input, g.output, g.expected) if g.error is None else ()
            d = classify(g, g.example_id, judged, answers.get(g.example_id), retrieved.get(g.id),
                         reading.in_input(g.example_id))
            if d.cls is None:
                continue
            counts[d.cls] = counts.get(d.cls, 0) + 1
            if len(examples.setdefault(d.cls, [])) < EXAMPLES_PER_CLASS:
                examples[d.cls].append(d)
        counts = {c: counts[c] for c in CLASSES if c in counts}
        dom = dominant_class(counts)
        trow = teacher_rows.get(row.rung)
        notes = [reading.note] if reading.note else []
        if retrieved:
            notes.append(f"retrieval evidence for {len(retrieved)} of {len(gens)} examples")
        out.append(RungDiagnosis(
            rung=row.rung, kind=row.kind, n=len(gens), counts=counts,
            examples={c: examples[c] for c in counts}, dominant=dom, next_step="",
            teacher_asked=len(answers), teacher_money=trow.build_money if trow else 0.0,
            judge=label, notes=notes,
        ))
    # The next step of each rung may rest on what the run's retrieval rungs measured.
    evidence = _best_retrieval_evidence(out)
    return [replace(d, next_step=next_step(d.dominant, d.counts, d.kind, bool(teachers), evidence)) for d in out]


@dataclass(frozen=True)
class _ReadingEvidence:
    """Which knowledge checks take their values from the inputs (in_input.py), measured on the
    run's eval rows (each example once, whichever rungs answered it), and per example the
    extractive checks whose value is written in its input."""

    by_example: dict[str, frozenset[str]]
    note: str

    @classmethod
    def of(cls, spec: dict[str, Any], generations: Iterable[list[GenerationRow]]) -> "_ReadingEvidence":
        checks = compared_checks(spec)
        rows = {g.example_id: (g.input, g.expected) for gens in generations for g in gens}
        if not checks or not rows:
            return cls({}, "")
        found = {i: values_in_input(text, reference, checks) for i, (text, reference) in rows.items()}
        shares = tally(found.values())
        chosen = extractive(shares)
        if not chosen:
            return cls({}, "")
        by_example = {i: frozenset(n for n, hit in row.items() if hit and n in chosen) for i, row in found.items()}
        listed = ", ".join(f"{c.name!r} ({shares[c.name][0]} of {shares[c.name][1]} rows)"
                           for c in checks if c.name in chosen)
        return cls(by_example, f"checks whose expected value is written in the input: {listed}; a wrong value "
                               "there is a reading error")

    def in_input(self, example_id: str) -> frozenset[str]:
        return self.by_example.get(example_id, frozenset())


def _best_retrieval_evidence(diagnoses: list[RungDiagnosis]) -> RetrievalEvidence | None:
    """Hit/miss counts of the retrieval rung with the fewest retrieval-classed failures (the
    best the run's retrieval did), or None when no rung retrieved with known gold sources."""
    unused, missed = "knowledge_retrieval_unused", "knowledge_retrieval_miss"
    seen = [(d.rung, d.counts.get(unused, 0), d.counts.get(missed, 0))
            for d in diagnoses if unused in d.counts or missed in d.counts]
    return min(seen, key=lambda e: e[1] + e[2]) if seen else None
