"""What the review app shows, read from the store: the queue of answers to rate, the blind A/B
pairs, and the labels people have given so far.

Every id a request names is looked up here (`RunItems.answers`, `RunItems.pairs`); nothing a
request sends reaches the store or the filesystem without matching one of these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder.retrieval.corpus import CorpusError, read_corpus
from ladder.tracking.store import GenerationRow, RungRow, Store
from ladder.types import REVIEW_LABEL_NAME
from ladder.types import Assessment
LEFT_OUT_KINDS = ("teacher", "baseline")  # evidence rows and random guesses: nothing a person should rate


@dataclass(frozen=True)
class Passage:
    source: str
    where: str  # "chars 120-480, score 0.83"
    text: str | None  # None when the corpus could not be read back


@dataclass(frozen=True)
class Answer:
    """One answer in the rating queue (its rung is kept from the rater's view)."""

    position: int  # 1-based place in the queue
    rung: str
    generation: GenerationRow
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Pair:
    """Two rungs' answers to one example. `a` is the rung earlier in the climb; `first_shown`
    (drawn once per pair from the run id) says which of them is shown on the left."""

    key: str  # "<a generation id>-<b generation id>"
    example_id: str
    a_rung: str
    b_rung: str
    a: GenerationRow
    b: GenerationRow
    first_shown: str  # "a" | "b"

    @property
    def shown(self) -> tuple[GenerationRow, GenerationRow]:
        return (self.a, self.b) if self.first_shown == "a" else (self.b, self.a)


@dataclass
class RunItems:
    run_id: str
    rungs: list[RungRow]
    answers: list[Answer] = field(default_factory=list)
    by_generation: dict[int, Answer] = field(default_factory=dict)
    pairs: dict[str, Pair] = field(default_factory=dict)

    @property
    def rung_names(self) -> list[str]:
        return [r.rung for r in self.rungs]

    def pair_queue(self, a_rung: str | None = None, b_rung: str | None = None) -> list[Pair]:
        """The A/B queue: one rung against another when both are given, else every rung against
        the next one up the climb (did climbing help?)."""
        if a_rung and b_rung:
            order = {name: i for i, name in enumerate(self.rung_names)}
            lo, hi = sorted((a_rung, b_rung), key=order.__getitem__)
            wanted = {(lo, hi)}
        else:
            wanted = set(zip(self.rung_names, self.rung_names[1:]))
        return [p for p in self.pairs.values() if (p.a_rung, p.b_rung) in wanted]


def _passages(store: Store, row: RungRow, task_path: str, spec: dict[str, Any],
              corpus_cache: dict[str, Any]) -> dict[int, tuple[Passage, ...]]:
    retrievals = store.retrievals(row.id)
    if not retrievals:
        return {}
    if "docs" not in corpus_cache:  # read once per app: the documents the chunks point into
        corpus_cache["docs"] = {}
        if spec.get("corpus"):
            try:
                corpus = read_corpus(Path(task_path).parent / spec["corpus"])
                corpus_cache["docs"] = {d.source: d.text for d in corpus.documents}
            except CorpusError:
                pass  # moved or changed since the run: the passages are shown by location only
    docs = corpus_cache["docs"]
    out = {}
    for gid, r in retrievals.items():
        out[gid] = tuple(
            Passage(h.source, f"chars {h.start}-{h.end}, score {h.score:.3g}",
                    docs[h.source][h.start:h.end] if h.source in docs else None)
            for h in r.hits)
    return out


def load_items(store: Store, run_id: str) -> RunItems:
    """The run's reviewable answers (ok rungs, teacher and baseline rows left out, failed calls
    left out: there is nothing to rate) in an order shuffled once per run, so that one rung's
    answers are not seen in a block, and its A/B pairs (answers that differ)."""
    run = store.run(run_id)
    rungs = [r for r in store.rung_results(run_id) if r.status == "ok" and r.kind not in LEFT_OUT_KINDS]
    items = RunItems(run_id, rungs)
    corpus_cache: dict[str, Any] = {}
    gens: dict[str, dict[str, GenerationRow]] = {}  # rung -> example id -> generation
    answers = []
    for row in rungs:
        passages = _passages(store, row, run["task_path"], run["spec"], corpus_cache)
        for g in store.generations(row.id):
            if g.error is None:
                gens.setdefault(row.rung, {})[g.example_id] = g
                answers.append((row.rung, g, passages.get(g.id, ())))
    random.Random(f"rate:{run_id}").shuffle(answers)
    for i, (rung, g, passages) in enumerate(answers, start=1):
        answer = Answer(i, rung, g, passages)
        items.answers.append(answer)
        items.by_generation[g.id] = answer
    pairs = []
    names = items.rung_names
    for i, a_rung in enumerate(names):
        for b_rung in names[i + 1:]:
            for example_id, a in gens.get(a_rung, {}).items():
                b = gens.get(b_rung, {}).get(example_id)
                if b is not None and a.output.strip() != b.output.strip():
                    key = f"{a.id}-{b.id}"
                    first = "a" if random.Random(f"ab:{run_id}:{key}").random() < 0.5 else "b"
                    pairs.append(Pair(key, example_id, a_rung, b_rung, a, b, first))
    random.Random(f"ab:{run_id}").shuffle(pairs)
    items.pairs = {p.key: p for p in pairs}
    return items


def rater_label(g: GenerationRow, rater: str) -> Assessment | None:
    """The rater's current label on an answer (the store keeps only the latest per rater)."""
    return next((a for a in g.assessments if a.source_kind == "human" and a.name == REVIEW_LABEL_NAME
                 and a.source_name == rater), None)


def is_rated(label: Assessment | None) -> bool:
    return label is not None and (label.passed is not None or label.score is not None or bool(label.rationale))


def rated_by(store: Store, items: RunItems, rater: str) -> dict[int, Assessment]:
    """generation id -> the rater's current label, for the answers in the queue that have one."""
    out = {}
    for row in items.rungs:
        for g in store.generations(row.id):
            label = rater_label(g, rater)
            if g.id in items.by_generation and is_rated(label):
                out[g.id] = label  # type: ignore[assignment]
    return out


def chosen_by(store: Store, run_id: str, rater: str) -> dict[str, str]:
    """pair key -> the rater's current A/B choice (winner in a/b terms)."""
    return {f"{c.a}-{c.b}": c.winner for c in store.comparisons(run_id)
            if c.source_kind == "human" and c.source_name == rater and c.winner is not None}
