"""Read the diagnosis's evidence from the store: the teacher's answers and retrieval hits.

Both are optional. No teacher rows -> knowledge errors are not split by teacher; no
`retrievals` table (or no row for a generation, or no gold sources) -> not split by retrieval.
"""

from __future__ import annotations

from ladder.diagnosis.classify import RetrievalInfo, TeacherAnswer
from ladder.scoring import tag_result
from ladder.diagnosis.teacher import TEACHER_KIND
from ladder.tracking.store import Store


def teacher_answers(store: Store, run_id: str) -> dict[str, dict[str, TeacherAnswer]]:
    """rung -> example id -> the teacher's answer to that rung's prompt."""
    out: dict[str, dict[str, TeacherAnswer]] = {}
    for row in store.rung_results(run_id):
        if row.kind != TEACHER_KIND:
            continue
        rung = row.candidate.get("of") or row.rung.rsplit(":", 1)[0]
        out[rung] = {g.example_id: TeacherAnswer(g.output, tag_result(g, "knowledge") if g.error is None else None,
                                                 g.error)
                     for g in store.generations(row.id)}
    return out


def retrieval_info(store: Store, rung_result_id: int) -> dict[int, RetrievalInfo]:
    """generation id -> whether retrieval put a gold chunk in the prompt (None: gold unknown)."""
    read = getattr(store, "retrievals", None)  # a store without retrieval records: no split
    if read is None:
        return {}
    out: dict[int, RetrievalInfo] = {}
    for gid, r in read(rung_result_id).items():
        known = [h.is_gold for h in r.hits if h.is_gold is not None]
        hit = any(known) if r.gold else None
        out[gid] = RetrievalInfo(hit, tuple(h.chunk_id for h in r.hits))
    return out
