"""The teacher: a stronger model (`teacher:` in task.yaml) asked the prompts a rung got wrong.

The seeds' rule: another model gets it right -> fine-tune/distil; every model gets it wrong ->
improve retrieval or the data. The teacher answers the very prompt the rung sent (same context,
same demonstrations), so the comparison is model against model. Its calls go through the call
cache and are costed; its answers and check results are recorded in the store as a rung result
of kind "teacher" named `<rung>:teacher`, so the report reads them without calling anything.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from ladder.backends.base import Backend
from ladder.diagnosis.classify import is_blocked
from ladder.scoring import tag_result
from ladder.metrics.checks import run_checks
from ladder.tracking.costs import request_cost
from ladder.tracking.store import GenerationRow, RungRecord, Store
from ladder.types import CheckSpec, Example, ExampleResult, GenerationParams, Message, chat_to_json

TEACHER_KIND = "teacher"
POSITION_OFFSET = 1000  # teacher rows sort after every rung


def teacher_rung(rung: str) -> str:
    return f"{rung}:{TEACHER_KIND}"


def needs_teacher(gen: GenerationRow) -> bool:
    """An answered, unblocked example whose knowledge checks failed."""
    return gen.error is None and not is_blocked(gen) and tag_result(gen, "knowledge") is False


def ask_teacher(store: Store, run_id: str, teacher: Backend, checks: tuple[CheckSpec, ...],
                examples: Mapping[str, Example], params: GenerationParams, prices: Mapping[str, Any],
                max_examples: int = 100, on_status: Callable[[str], None] = lambda _m: None) -> int:
    """Ask `teacher` every knowledge failure of every finished rung (at most `max_examples` per
    rung); record its answers and check results. Returns the number of prompts sent."""
    sent = 0
    done = {r.rung for r in store.rung_results(run_id) if r.kind == TEACHER_KIND}
    for row in store.rung_results(run_id):
        if row.kind == TEACHER_KIND or row.status != "ok" or teacher_rung(row.rung) in done:
            continue
        gens = [g for g in store.generations(row.id) if needs_teacher(g) and g.example_id in examples]
        gens = gens[:max_examples]
        if not gens:
            continue
        on_status(f"asking the teacher {teacher.fingerprint()} about {len(gens)} knowledge failure(s) of {row.rung}")
        chats = [tuple(Message(m["role"], m["content"]) for m in g.prompt) for g in gens]
        t0 = time.perf_counter()
        answers = teacher.generate(chats, params)
        seconds = time.perf_counter() - t0
        rows = []
        money = 0.0
        for g, chat, answer in zip(gens, chats, answers):
            ex = examples[g.example_id]
            assessed = () if answer.error else tuple(run_checks(answer.text, ex.expected, checks + ex.checks, ex))
            money += request_cost(answer.prompt_tokens, answer.completion_tokens,
                                  float(prices.get("input_per_1k", 0.0)), float(prices.get("output_per_1k", 0.0)))
            rows.append(ExampleResult(ex, chat_to_json(chat), answer, assessed))
        store.add_rung_result(RungRecord(
            run_id, POSITION_OFFSET + row.position, teacher_rung(row.rung), TEACHER_KIND,
            {"rung": teacher_rung(row.rung), "teacher": teacher.fingerprint(), "of": row.rung,
             "description": f"the teacher's answers to {row.rung}'s knowledge failures"},
            build_money=money, eval_seconds=seconds,
        ), rows)
        sent += len(gens)
    return sent
