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


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT first and break the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied.

    `db` must be in autocommit mode (isolation_level=None) so BEGIN/COMMIT are ours.
    """
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN")  # the connection is in autocommit mode; one transaction each
        try:
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(timezone.utc).isoformat()),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied
