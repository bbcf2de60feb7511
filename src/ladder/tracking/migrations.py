"""Named, append-only schema migrations for the run store.

Never edit a migration that has shipped: add a new one at the end. Each runs once, inside a
transaction, and its name is recorded in `_migrations`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            task_name TEXT NOT NULL,
            task_path TEXT NOT NULL,
            task_hash TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            model TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL
        );
        CREATE TABLE rung_results (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            position INTEGER NOT NULL,
            rung TEXT NOT NULL,
            kind TEXT NOT NULL,
            candidate_json TEXT NOT NULL,
            build_seconds REAL NOT NULL DEFAULT 0,
            build_money REAL NOT NULL DEFAULT 0,
            build_tokens INTEGER NOT NULL DEFAULT 0,
            build_reused INTEGER NOT NULL DEFAULT 0,
            eval_seconds REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            error TEXT,
            UNIQUE (run_id, rung)
        );
        CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            rung_result_id INTEGER NOT NULL REFERENCES rung_results(id),
            example_id TEXT NOT NULL,
            input TEXT NOT NULL,
            expected TEXT NOT NULL,
            prompt_json TEXT NOT NULL,
            output TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            finish_reason TEXT NOT NULL,
            cached INTEGER NOT NULL,
            error TEXT
        );
        CREATE TABLE scores (
            generation_id INTEGER NOT NULL REFERENCES generations(id),
            check_name TEXT NOT NULL,
            tag TEXT NOT NULL,
            passed INTEGER NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX scores_generation ON scores(generation_id);
        CREATE INDEX generations_rung ON generations(rung_result_id);
        CREATE TABLE call_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            finish_reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """
    )


@migration
def m002_retrievals(db: sqlite3.Connection) -> None:
    """What the retrieval rungs put in each prompt: one row per query, one per retrieved chunk."""
    _run_script(
        db,
        """
        CREATE TABLE retrievals (
            generation_id INTEGER PRIMARY KEY REFERENCES generations(id),
            query TEXT NOT NULL,
            k INTEGER NOT NULL,
            gold_json TEXT NOT NULL,
            recall REAL,
            reciprocal_rank REAL,
            gold_retrieved INTEGER
        );
        CREATE TABLE retrieved_chunks (
            generation_id INTEGER NOT NULL REFERENCES generations(id),
            rank INTEGER NOT NULL,
            chunk_id TEXT NOT NULL,
            source TEXT NOT NULL,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL,
            score REAL NOT NULL,
            is_gold INTEGER,
            PRIMARY KEY (generation_id, rank)
        );
        """
    )


@migration
def m003_assessments(db: sqlite3.Connection) -> None:
    """One record for every verdict: a check's, a judge's or a person's (replaces `scores`).

    The old rows become `code` assessments; a check's kind is read from the run's spec where the
    task declared it. A check that found nothing to compare in the *reference* used to be stored
    as a failure with a fixed detail; it was an error of the data, and becomes one here.
    """
    _run_script(
        db,
        """
        CREATE TABLE assessments (
            id INTEGER PRIMARY KEY,
            generation_id INTEGER NOT NULL REFERENCES generations(id),
            name TEXT NOT NULL,
            tag TEXT NOT NULL,
            source_kind TEXT NOT NULL CHECK (source_kind IN ('code', 'llm_judge', 'human')),
            source_name TEXT NOT NULL,
            passed INTEGER,
            score REAL,
            rationale TEXT NOT NULL,
            error TEXT,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            money REAL NOT NULL DEFAULT 0,
            latency_s REAL NOT NULL DEFAULT 0,
            metadata_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE INDEX assessments_generation ON assessments(generation_id);
        INSERT INTO assessments (generation_id, name, tag, source_kind, source_name, passed, rationale, error,
                                 created_at)
        SELECT s.generation_id, s.check_name, s.tag, 'code',
               COALESCE((SELECT json_extract(c.value, '$.kind') FROM json_each(runs.spec_json, '$.checks') c
                         WHERE json_extract(c.value, '$.name') = s.check_name LIMIT 1), ''),
               CASE WHEN d.data_error THEN NULL ELSE s.passed END,
               CASE WHEN d.data_error THEN '' ELSE s.detail END,
               CASE WHEN d.data_error THEN s.detail END,
               runs.started_at
        FROM scores s
        JOIN generations g ON g.id = s.generation_id
        JOIN rung_results r ON r.id = g.rung_result_id
        JOIN runs ON runs.id = r.run_id
        JOIN (SELECT rowid AS id, passed = 0 AND (
                  detail = 'nothing to compare: the reference has no match for `extract`'
                  OR detail = 'nothing to look for: the reference has no match for `extract`'
                  OR detail LIKE 'reference has no number to compare (%'
                  OR detail LIKE 'the check''s schema is not valid: %') AS data_error
              FROM scores) d ON d.id = s.rowid
        ORDER BY s.rowid;
        DROP TABLE scores;
        """
    )


@migration
def m004_generation_provenance(db: sqlite3.Connection) -> None:
    """What answered each call, as the server said (a remote API's `model` and `system_fingerprint`),
    on every generation and cached call. NULL for calls recorded before, and where none was given."""
    _run_script(
        db,
        """
        ALTER TABLE generations ADD COLUMN response_model TEXT;
        ALTER TABLE generations ADD COLUMN system_fingerprint TEXT;
        ALTER TABLE call_cache ADD COLUMN response_model TEXT;
        ALTER TABLE call_cache ADD COLUMN system_fingerprint TEXT;
        """
    )


@migration
def m005_run_environment(db: sqlite3.Connection) -> None:
    """What ran, where (ladder.provenance.run_environment: versions, commit, CPU, threads, seed),
    as JSON on each run. NULL for runs recorded before: the report says "not recorded"."""
    db.execute("ALTER TABLE runs ADD COLUMN environment_json TEXT")


@migration
def m006_build_call_tokens(db: sqlite3.Connection) -> None:
    """Tokens of the model calls a rung made while it was built (a teacher's answers, DPO's pairs),
    beside the training tokens: both are build cost. 0 for rungs recorded before."""
    db.execute("ALTER TABLE rung_results ADD COLUMN build_call_tokens INTEGER NOT NULL DEFAULT 0")


@migration
def m007_comparisons(db: sqlite3.Connection) -> None:
    """Pairwise verdicts (ladder.types.Comparison): a pairwise judge's, in each order it asked, and
    people's blind A/B choices. `a` and `b` are generations of two rungs answering one example."""
    _run_script(
        db,
        """
        CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            example_id TEXT NOT NULL,
            a_generation_id INTEGER NOT NULL REFERENCES generations(id),
            b_generation_id INTEGER NOT NULL REFERENCES generations(id),
            source_kind TEXT NOT NULL CHECK (source_kind IN ('llm_judge', 'human')),
            source_name TEXT NOT NULL,
            winner TEXT CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
            first_shown TEXT NOT NULL CHECK (first_shown IN ('a', 'b')),
            rationale TEXT NOT NULL DEFAULT '',
            error TEXT,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            money REAL NOT NULL DEFAULT 0,
            latency_s REAL NOT NULL DEFAULT 0,
            metadata_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE INDEX comparisons_run ON comparisons(run_id);
        """
    )


@migration
def m008_remote_batches(db: sqlite3.Connection) -> None:
    """Batches submitted to a remote Batch API (`execution: batch`), keyed by the content of their
    requests: a climb killed after submitting finds its batch here and polls it instead of
    submitting (and paying for) it again. The host is stored without credentials, never a key."""
    _run_script(
        db,
        """
        CREATE TABLE remote_batches (
            key TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            model TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            input_file_id TEXT NOT NULL,
            requests INTEGER NOT NULL,
            status TEXT NOT NULL,
            output_file_id TEXT,
            error_file_id TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        """
    )


@migration
def m009_sequential_eval(db: sqlite3.Connection) -> None:
    """Why a rung's evaluation stopped before every eval row (ladder.eval.sequential); NULL when
    it scored them all, as every rung recorded before did."""
    db.execute("ALTER TABLE rung_results ADD COLUMN eval_stop TEXT")


@migration
def m010_rung_model(db: sqlite3.Connection) -> None:
    """Which model answered a rung (its label: a task.yaml `models:` entry's, else the task's
    model name) and, in a climb of several models, the prices its cost is figured at; NULL prices:
    the run's `prices:`. Rows recorded before have neither."""
    db.execute("ALTER TABLE rung_results ADD COLUMN model TEXT")
    db.execute("ALTER TABLE rung_results ADD COLUMN prices_json TEXT")


@migration
def m011_run_process(db: sqlite3.Connection) -> None:
    """The host, process id and process start time of the climb recording a run, so that a run
    left `running` by a process that was killed outright (SIGKILL, a crash) reads as interrupted
    once that process is gone, even where its id now names another process (Store.run). NULL for
    runs recorded before; the start time is NULL where the system has no /proc."""
    db.execute("ALTER TABLE runs ADD COLUMN host TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN process_start TEXT")


@migration
def m012_build_notes(db: sqlite3.Connection) -> None:
    """How a rung was built, in words (BuildCost.notes: a fine-tune's steps, loss, throughput and
    early stop; a search's record); NULL for rungs recorded before and for rungs built from nothing."""
    db.execute("ALTER TABLE rung_results ADD COLUMN build_notes TEXT")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated statements one by one, inside the caller's transaction.

    executescript() would COMMIT first and break the migration's transaction. A `;` inside a
    string literal or a trigger body does not end a statement: pieces are joined until SQLite
    says the statement is complete.
    """
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \t\r\n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \t\r\n;"):
        db.execute(statement.rstrip(";"))  # an unterminated last statement: let SQLite judge it


def _rollback(db: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (e.g. after SQLITE_FULL); a second ROLLBACK would
    # raise "no transaction is active" and hide the real error.
    if db.in_transaction:
        db.execute("ROLLBACK")


def apply_migrations(db: sqlite3.Connection, migrations: list[tuple[str, Migration]] | None = None) -> list[str]:
    """Apply every migration of `migrations` (default: the run store's, MIGRATIONS) not yet
    recorded; return the names applied. Another SQLite file with its own schema (`ladder serve`'s
    state) passes its own list and gets the same guarantees.

    `db` must be in autocommit mode (isolation_level=None) so BEGIN/COMMIT are ours. Each
    migration takes the write lock (BEGIN IMMEDIATE) and checks `_migrations` again under it,
    so two processes opening a new store at once do not both run the same migration.
    """
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = []
    for name, fn in MIGRATIONS if migrations is None else migrations:
        if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                db.execute("COMMIT")  # another process applied it while we waited for the lock
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(timezone.utc).isoformat()),
            )
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        applied.append(name)
    return applied
