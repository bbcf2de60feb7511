"""The run store: one SQLite file (WAL) holding runs, rung results, generations, the assessments
of every generation (checks, judges, people) and the content-hash cache of model calls.

A store lives in a runs folder: ``runs/ladder.sqlite`` beside one sub-folder per run
(``runs/<run id>/``) that holds the run's report files.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ladder.backends.batch import RemoteBatch
from ladder.tracking.migrations import apply_migrations
from ladder.tracking.records import GenerationRow, RungRecord, RungRow
from ladder.tracking.run_process import PROCESS_COLUMNS, effective_status, this_process
from ladder.types import Assessment, AssessmentCost, Comparison, ExampleResult, Generation, Retrieval, RetrievedChunk

STORE_FILE = "ladder.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def latest_human(records: Sequence[Any], key: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    """`records` (oldest first) without the human ones a later human record of the same key
    supersedes: a person who changes a label changes it. Rows are never deleted (the store is
    append-only); reading keeps the latest. Checks' and judges' records are kept as they are."""
    last = {key(r): i for i, r in enumerate(records) if r.source_kind == "human"}
    return [r for i, r in enumerate(records) if r.source_kind != "human" or last[key(r)] == i]


class Store:
    def __init__(self, runs_dir: str | Path):
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.runs_dir / STORE_FILE
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL may wait for a lock
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            apply_migrations(self.db)
        except BaseException:
            self.db.close()
            raise

    @classmethod
    def for_run_dir(cls, run_dir: str | Path) -> "Store":
        """Open the store that owns `runs/<id>/` (its parent folder)."""
        run_dir = Path(run_dir)
        if not (run_dir.parent / STORE_FILE).exists():
            hint = (
                f"; {run_dir} is a runs folder, pass one of its run folders (runs/<id>/)"
                if (run_dir / STORE_FILE).exists()
                else "; is this a run folder?"
            )
            raise FileNotFoundError(f"{run_dir}: no {STORE_FILE} in {run_dir.parent}{hint}")
        return cls(run_dir.parent)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now, not at the first write
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, run_id: str, task_name: str, task_path: str, task_hash: str,
                  spec: dict[str, Any], model: str, environment: Mapping[str, Any] | None = None) -> None:
        """Record a run as running, by this process. `environment` is what ran, where
        (ladder.provenance.run_environment)."""
        self.db.execute(
            "INSERT INTO runs (id, task_name, task_path, task_hash, spec_json, model, started_at, status,"
            " environment_json, host, pid, process_start) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (run_id, task_name, task_path, task_hash, json.dumps(spec), model, _now(),
             None if environment is None else json.dumps(dict(environment)), *this_process()),
        )

    def finish_run(self, run_id: str, status: str) -> None:
        self.db.execute("UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", (_now(), status, run_id))

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id!r} in {self.path}")
        out = dict(row)
        out["status"] = effective_status(out)
        for key in PROCESS_COLUMNS:
            out.pop(key, None)
        out["spec"] = json.loads(out.pop("spec_json"))
        environment = out.pop("environment_json")
        out["environment"] = None if environment is None else json.loads(environment)  # None: not recorded
        return out

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, task_name, model, started_at, finished_at, status, host, pid,"
                               " process_start FROM runs ORDER BY started_at, rowid")
        return [{k: v for k, v in {**dict(r), "status": effective_status(dict(r))}.items() if k not in PROCESS_COLUMNS}
                for r in rows]

    # -- rung results ---------------------------------------------------------------------
    def add_rung_result(self, record: RungRecord, rows: Sequence[ExampleResult] = (),
                        retrievals: Mapping[str, Retrieval] | None = None) -> int:
        """Record one rung and all its generations, their assessments and what was retrieved for
        them (`retrievals`, by example id) in one transaction; return the rung's id."""
        r = record
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO rung_results (run_id, position, rung, kind, candidate_json, build_seconds,"
                " build_money, build_tokens, build_call_tokens, build_reused, eval_seconds, status, error, eval_stop,"
                " model, prices_json, build_notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.run_id, r.position, r.rung, r.kind, json.dumps(dict(r.candidate)), r.build_seconds,
                 r.build_money, r.build_tokens, r.build_call_tokens, int(r.build_reused), r.eval_seconds,
                 r.status, r.error, r.eval_stop, r.model, None if r.prices is None else json.dumps(dict(r.prices)),
                 r.build_notes),
            )
            rung_id = int(cur.lastrowid)  # type: ignore[arg-type]
            self._insert_generations(db, rung_id, rows, retrievals or {})
        return rung_id

    def finish_rung_eval(self, rung_result_id: int, rows: Sequence[ExampleResult], seconds: float,
                         retrievals: Mapping[str, Retrieval] | None = None) -> None:
        """Add the rest of a paused rung's eval rows (eval/sequential.py), what was retrieved for
        them and their seconds, in one transaction; the rung then counts as scored on every row
        (its eval_stop cleared)."""
        with self.transaction() as db:
            cur = db.execute("UPDATE rung_results SET eval_seconds = eval_seconds + ?, eval_stop = NULL"
                             " WHERE id = ? AND eval_stop IS NOT NULL", (seconds, rung_result_id))
            if cur.rowcount != 1:
                raise ValueError(f"rung result {rung_result_id} is not a paused rung of this store")
            self._insert_generations(db, rung_result_id, rows, retrievals or {})

    def set_eval_stop(self, rung_result_id: int, reason: str) -> None:
        """Say why a rung's evaluation stopped before every row (a longer reason than its pause's)."""
        with self.transaction() as db:
            db.execute("UPDATE rung_results SET eval_stop = ? WHERE id = ?", (reason, rung_result_id))

    @staticmethod
    def _insert_generations(db: sqlite3.Connection, rung_id: int, rows: Sequence[ExampleResult],
                            retrievals: Mapping[str, Retrieval]) -> None:
        """Each row's generation with its assessments, and its retrieval record where it has one
        (written with the row, so that no stored row of a retrieval rung is left without it)."""
        for row in rows:
            gen = row.generation
            gcur = db.execute(
                "INSERT INTO generations (rung_result_id, example_id, input, expected, prompt_json,"
                " output, prompt_tokens, completion_tokens, latency_s, finish_reason, cached, error,"
                " response_model, system_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rung_id, row.example.id, row.example.input, row.example.expected, row.prompt_json, gen.text,
                 gen.prompt_tokens, gen.completion_tokens, gen.latency_s, gen.finish_reason,
                 int(gen.cached), gen.error, gen.response_model, gen.system_fingerprint),
            )
            Store._insert_assessments(db, int(gcur.lastrowid), row.assessments)  # type: ignore[arg-type]
            if row.example.id in retrievals:
                Store._insert_retrieval(db, int(gcur.lastrowid), retrievals[row.example.id])  # type: ignore[arg-type]

    def replace_failed_generation(self, generation_id: int, gen: Generation,
                                  assessments: Sequence[Assessment] = ()) -> None:
        """Give a generation whose call had failed the answer (or the new error) of asking again
        (`ladder climb --retry-errors`), with the assessments of that answer. Only an error row
        can be replaced: an answered row is what the run measured and stays as it is."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE generations SET output = ?, prompt_tokens = ?, completion_tokens = ?, latency_s = ?,"
                " finish_reason = ?, cached = ?, error = ?, response_model = ?, system_fingerprint = ?"
                " WHERE id = ? AND error IS NOT NULL",
                (gen.text, gen.prompt_tokens, gen.completion_tokens, gen.latency_s, gen.finish_reason,
                 int(gen.cached), gen.error, gen.response_model, gen.system_fingerprint, generation_id),
            )
            if cur.rowcount != 1:
                raise ValueError(f"generation {generation_id} is not a failed call of this store")
            self._insert_assessments(db, generation_id, assessments)

    def add_assessments(self, generation_id: int, assessments: Sequence[Assessment]) -> None:
        """Record more verdicts on a stored generation (a judge's, a person's), appended to its own."""
        with self.transaction() as db:
            self._insert_assessments(db, generation_id, assessments)

    @staticmethod
    def _insert_assessments(db: sqlite3.Connection, generation_id: int, assessments: Sequence[Assessment]) -> None:
        now = _now()
        db.executemany(
            "INSERT INTO assessments (generation_id, name, tag, source_kind, source_name, passed, score, rationale,"
            " error, prompt_tokens, completion_tokens, money, latency_s, metadata_json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(generation_id, a.name, a.tag, a.source_kind, a.source_name,
              None if a.passed is None else int(a.passed), a.score, a.rationale, a.error,
              a.cost.prompt_tokens, a.cost.completion_tokens, a.cost.money, a.cost.latency_s,
              json.dumps(dict(a.metadata), ensure_ascii=False), now) for a in assessments],
        )

    def add_comparisons(self, run_id: str, comparisons: Sequence[Comparison]) -> list[int]:
        """Record pairwise verdicts (a judge's, a person's A/B choices) on a run's generations.
        Both generations must answer the same example; returns the new rows' ids."""
        ids = []
        with self.transaction() as db:
            for c in comparisons:
                found = {r["id"]: r["example_id"] for r in db.execute(
                    "SELECT g.id, g.example_id FROM generations g JOIN rung_results r ON r.id = g.rung_result_id"
                    " WHERE r.run_id = ? AND g.id IN (?, ?)", (run_id, c.a, c.b))}
                if len(found) != 2 or found[c.a] != found[c.b]:
                    raise ValueError(f"generations {c.a} and {c.b} are not two answers to one example of run {run_id}")
                cur = db.execute(
                    "INSERT INTO comparisons (run_id, example_id, a_generation_id, b_generation_id, source_kind,"
                    " source_name, winner, first_shown, rationale, error, prompt_tokens, completion_tokens, money,"
                    " latency_s, metadata_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, found[c.a], c.a, c.b, c.source_kind, c.source_name, c.winner, c.first_shown,
                     c.rationale, c.error, c.cost.prompt_tokens, c.cost.completion_tokens, c.cost.money,
                     c.cost.latency_s, json.dumps(dict(c.metadata), ensure_ascii=False), _now()),
                )
                ids.append(int(cur.lastrowid))  # type: ignore[arg-type]
        return ids

    def comparisons(self, run_id: str) -> list[Comparison]:
        """Every pairwise verdict recorded on a run, oldest first; a person's choice on a pair they
        chose before replaces the earlier one (`latest_human`)."""
        found = [
            Comparison(
                a=r["a_generation_id"], b=r["b_generation_id"], source_kind=r["source_kind"],
                source_name=r["source_name"], winner=r["winner"], first_shown=r["first_shown"],
                rationale=r["rationale"], error=r["error"],
                cost=AssessmentCost(r["prompt_tokens"], r["completion_tokens"], r["money"], r["latency_s"]),
                metadata=json.loads(r["metadata_json"]),
            )
            for r in self.db.execute("SELECT * FROM comparisons WHERE run_id = ? ORDER BY id", (run_id,))
        ]
        return latest_human(found, lambda c: (c.source_name, c.a, c.b))

    def rung_results(self, run_id: str) -> list[RungRow]:
        rows = self.db.execute(
            "SELECT * FROM rung_results WHERE run_id = ? ORDER BY position", (run_id,)
        ).fetchall()
        return [
            RungRow(
                id=r["id"], run_id=r["run_id"], position=r["position"], rung=r["rung"], kind=r["kind"],
                candidate=json.loads(r["candidate_json"]), build_seconds=r["build_seconds"],
                build_money=r["build_money"], build_tokens=r["build_tokens"],
                build_call_tokens=r["build_call_tokens"], build_reused=bool(r["build_reused"]), build_notes=r["build_notes"],
                eval_seconds=r["eval_seconds"], eval_stop=r["eval_stop"],
                status=r["status"], error=r["error"], model=r["model"],
                prices=None if r["prices_json"] is None else json.loads(r["prices_json"]),
            )
            for r in rows
        ]

    def generations(self, rung_result_id: int) -> list[GenerationRow]:
        """A rung's generations with their assessments; a person's re-rating of an answer replaces
        their earlier label (`latest_human`)."""
        gens = self.db.execute(
            "SELECT * FROM generations WHERE rung_result_id = ? ORDER BY id", (rung_result_id,)
        ).fetchall()
        assessments: dict[int, list[Assessment]] = {}
        for a in self.db.execute(
            "SELECT a.* FROM assessments a JOIN generations g ON g.id = a.generation_id"
            " WHERE g.rung_result_id = ? ORDER BY a.id",
            (rung_result_id,),
        ):
            assessments.setdefault(a["generation_id"], []).append(Assessment(
                name=a["name"], tag=a["tag"], source_kind=a["source_kind"], source_name=a["source_name"],
                passed=None if a["passed"] is None else bool(a["passed"]), score=a["score"],
                rationale=a["rationale"], error=a["error"],
                cost=AssessmentCost(a["prompt_tokens"], a["completion_tokens"], a["money"], a["latency_s"]),
                metadata=json.loads(a["metadata_json"]),
            ))
        assessments = {gid: latest_human(found, lambda a: (a.name, a.source_name)) for gid, found in assessments.items()}
        return [
            GenerationRow(
                id=g["id"], example_id=g["example_id"], input=g["input"], expected=g["expected"],
                prompt=json.loads(g["prompt_json"]), output=g["output"], prompt_tokens=g["prompt_tokens"],
                completion_tokens=g["completion_tokens"], latency_s=g["latency_s"],
                finish_reason=g["finish_reason"], cached=bool(g["cached"]), error=g["error"],
                assessments=tuple(assessments.get(g["id"], ())),
                response_model=g["response_model"], system_fingerprint=g["system_fingerprint"],
            )
            for g in gens
        ]

    # -- retrievals ----------------------------------------------------------------------
    def add_retrievals(self, rung_result_id: int, retrievals: dict[str, Retrieval]) -> int:
        """Record what was retrieved for each generation of a rung (keyed by example id);
        returns the number of generations matched."""
        ids = {r["example_id"]: r["id"] for r in self.db.execute(
            "SELECT id, example_id FROM generations WHERE rung_result_id = ?", (rung_result_id,))}
        matched = 0
        with self.transaction() as db:
            for example_id, r in retrievals.items():
                gid = ids.get(example_id)
                if gid is None:
                    continue
                matched += 1
                self._insert_retrieval(db, gid, r)
        return matched

    @staticmethod
    def _insert_retrieval(db: sqlite3.Connection, generation_id: int, r: Retrieval) -> None:
        known = [h.is_gold for h in r.hits if h.is_gold is not None]
        db.execute(
            "INSERT OR REPLACE INTO retrievals (generation_id, query, k, gold_json, recall,"
            " reciprocal_rank, gold_retrieved) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (generation_id, r.query, r.k, json.dumps(list(r.gold)), r.recall, r.reciprocal_rank,
             int(any(known)) if r.gold else None),
        )
        db.executemany(
            "INSERT OR REPLACE INTO retrieved_chunks (generation_id, rank, chunk_id, source, start_char,"
            " end_char, score, is_gold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(generation_id, rank, h.chunk_id, h.source, h.start, h.end, h.score,
              None if h.is_gold is None else int(h.is_gold)) for rank, h in enumerate(r.hits, start=1)],
        )

    def retrievals(self, rung_result_id: int) -> dict[int, Retrieval]:
        """generation id -> what was retrieved for it, for one rung (empty for non-retrieval rungs)."""
        hits: dict[int, list[RetrievedChunk]] = {}
        for h in self.db.execute(
            "SELECT c.* FROM retrieved_chunks c JOIN generations g ON g.id = c.generation_id"
            " WHERE g.rung_result_id = ? ORDER BY c.generation_id, c.rank", (rung_result_id,)
        ):
            hits.setdefault(h["generation_id"], []).append(RetrievedChunk(
                h["chunk_id"], h["source"], h["start_char"], h["end_char"], h["score"],
                None if h["is_gold"] is None else bool(h["is_gold"])))
        return {
            r["generation_id"]: Retrieval(
                query=r["query"], k=r["k"], hits=tuple(hits.get(r["generation_id"], ())),
                gold=tuple(json.loads(r["gold_json"])), recall=r["recall"], reciprocal_rank=r["reciprocal_rank"])
            for r in self.db.execute(
                "SELECT r.* FROM retrievals r JOIN generations g ON g.id = r.generation_id"
                " WHERE g.rung_result_id = ? ORDER BY r.generation_id", (rung_result_id,))
        }

    # -- remote batches (backends/batch.py's ledger) ---------------------------------------
    def remote_batch(self, key: str) -> RemoteBatch | None:
        """The batch submitted for requests with this content key, if one was."""
        r = self.db.execute("SELECT * FROM remote_batches WHERE key = ?", (key,)).fetchone()
        if r is None:
            return None
        return RemoteBatch(key=r["key"], host=r["host"], model=r["model"], batch_id=r["batch_id"],
                           input_file_id=r["input_file_id"], requests=r["requests"], status=r["status"],
                           output_file_id=r["output_file_id"], error_file_id=r["error_file_id"])

    def save_remote_batch(self, batch: RemoteBatch) -> None:
        """Record a submitted batch, or its new status; committed at once (a kill keeps it)."""
        finished = _now() if batch.status in ("completed", "failed", "expired", "cancelled") else None
        self.db.execute(
            "INSERT INTO remote_batches (key, host, model, batch_id, input_file_id, requests, status, output_file_id,"
            " error_file_id, created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET status = excluded.status, output_file_id = excluded.output_file_id,"
            " error_file_id = excluded.error_file_id, finished_at = excluded.finished_at",
            (batch.key, batch.host, batch.model, batch.batch_id, batch.input_file_id, batch.requests, batch.status,
             batch.output_file_id, batch.error_file_id, _now(), finished),
        )

    def remote_batches(self) -> list[RemoteBatch]:
        keys = [r["key"] for r in self.db.execute("SELECT key FROM remote_batches ORDER BY created_at, rowid")]
        return [b for k in keys if (b := self.remote_batch(k)) is not None]

    # -- call cache -----------------------------------------------------------------------
    def cache_get(self, key: str) -> Generation | None:
        r = self.db.execute("SELECT * FROM call_cache WHERE key = ?", (key,)).fetchone()
        if r is None:
            return None
        return Generation(
            text=r["text"], prompt_tokens=r["prompt_tokens"], completion_tokens=r["completion_tokens"],
            latency_s=r["latency_s"], finish_reason=r["finish_reason"], cached=True,
            response_model=r["response_model"], system_fingerprint=r["system_fingerprint"],
        )

    def cache_put(self, items: list[tuple[str, str, Generation]]) -> None:
        """Store (key, model, generation) triples; failed calls are never cached."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO call_cache (key, model, text, prompt_tokens, completion_tokens,"
                " latency_s, finish_reason, created_at, response_model, system_fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(k, m, g.text, g.prompt_tokens, g.completion_tokens, g.latency_s, g.finish_reason, _now(),
                  g.response_model, g.system_fingerprint) for k, m, g in items if g.error is None],
            )
