"""What `ladder serve` keeps across restarts: one SQLite file, `<data_dir>/serve.sqlite`.

Files (their bytes under `<data_dir>/files/`), fine-tuning jobs and their events, the `ft:` model
ids with their adapters (under `<data_dir>/adapters/`), batches and each answered batch line. Every
change is committed when it is made, so a server killed at any point restarts with what it had
acknowledged. Objects are kept as the JSON the API returns; the schema changes only through the
named, append-only migrations below, applied with the run store's mechanism
(tracking/migrations.py `apply_migrations`).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ladder.fsutil import write_file_atomic
from ladder.tracking.migrations import Migration, apply_migrations

STATE_FILE = "serve.sqlite"
TABLES = ("files", "jobs", "batches")  # tables of API objects: id -> the object's JSON


def s001_initial(db: sqlite3.Connection) -> None:
    for statement in (
        "CREATE TABLE files (id TEXT PRIMARY KEY, object_json TEXT NOT NULL, created_at INTEGER NOT NULL)",
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, object_json TEXT NOT NULL, created_at INTEGER NOT NULL)",
        "CREATE TABLE job_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,"
        " event_json TEXT NOT NULL)",
        "CREATE INDEX job_events_job ON job_events(job_id)",
        # adapter_dir is relative to the data dir, so a moved data dir keeps working
        "CREATE TABLE models (id TEXT PRIMARY KEY, adapter_dir TEXT NOT NULL, job_id TEXT NOT NULL,"
        " created_at INTEGER NOT NULL)",
        "CREATE TABLE batches (id TEXT PRIMARY KEY, object_json TEXT NOT NULL, created_at INTEGER NOT NULL)",
        "CREATE TABLE batch_results (batch_id TEXT NOT NULL, line INTEGER NOT NULL, custom_id TEXT NOT NULL,"
        " ok INTEGER NOT NULL, result_json TEXT NOT NULL, PRIMARY KEY (batch_id, line))",
    ):
        db.execute(statement)


SERVE_MIGRATIONS: list[tuple[str, Migration]] = [("s001_initial", s001_initial)]


class ServeState:
    """The SQLite file and the file bytes beside it; safe to use from the server's threads."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        (self.data_dir / "files").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.data_dir / STATE_FILE, isolation_level=None, check_same_thread=False)
        try:
            self.db.execute("PRAGMA busy_timeout=5000")
            self.db.execute("PRAGMA journal_mode=WAL")
            apply_migrations(self.db, SERVE_MIGRATIONS)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # -- API objects ----------------------------------------------------------------------
    def put(self, table: str, obj: dict[str, Any]) -> dict[str, Any]:
        assert table in TABLES
        with self._lock:
            self.db.execute(f"INSERT INTO {table} (id, object_json, created_at) VALUES (?, ?, ?)"
                            " ON CONFLICT (id) DO UPDATE SET object_json = excluded.object_json",
                            (obj["id"], json.dumps(obj), int(obj.get("created_at") or time.time())))
        return obj

    def get(self, table: str, obj_id: str) -> dict[str, Any] | None:
        assert table in TABLES
        with self._lock:
            row = self.db.execute(f"SELECT object_json FROM {table} WHERE id = ?", (obj_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def update(self, table: str, obj_id: str, **fields: Any) -> dict[str, Any]:
        """Set fields of a stored object (read, change, write under one lock); the new object."""
        with self._lock:
            obj = self.get(table, obj_id)
            if obj is None:
                raise KeyError(obj_id)
            obj.update(fields)
            return self.put(table, obj)

    def all(self, table: str) -> list[dict[str, Any]]:
        """Every object of `table`, newest first."""
        assert table in TABLES
        with self._lock:
            rows = self.db.execute(f"SELECT object_json FROM {table} ORDER BY created_at DESC, rowid DESC").fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete(self, table: str, obj_id: str) -> None:
        assert table in TABLES
        with self._lock:
            self.db.execute(f"DELETE FROM {table} WHERE id = ?", (obj_id,))

    # -- files ----------------------------------------------------------------------------
    def file_path(self, file_id: str) -> Path:
        return self.data_dir / "files" / file_id

    def add_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        """Write the bytes first, then the row: a listed file always has its content."""
        file_id = f"file-{secrets.token_hex(12)}"
        write_file_atomic(self.file_path(file_id), content)
        return self.put("files", {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
            "filename": filename, "purpose": purpose, "status": "processed", "expires_at": None,
            "status_details": None})

    # -- fine-tuning job events -----------------------------------------------------------
    def add_event(self, job_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            self.db.execute("INSERT INTO job_events (job_id, event_json) VALUES (?, ?)", (job_id, json.dumps(event)))

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """A job's events, oldest first."""
        with self._lock:
            rows = self.db.execute("SELECT event_json FROM job_events WHERE job_id = ? ORDER BY seq",
                                   (job_id,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- fine-tuned models ----------------------------------------------------------------
    def add_model(self, model_id: str, adapter_dir: Path, job_id: str) -> None:
        rel = Path(adapter_dir).resolve().relative_to(self.data_dir.resolve())
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO models (id, adapter_dir, job_id, created_at) VALUES (?, ?, ?, ?)",
                            (model_id, str(rel), job_id, int(time.time())))

    def models(self) -> dict[str, str]:
        """Fine-tuned model id -> its adapter folder (absolute)."""
        with self._lock:
            rows = self.db.execute("SELECT id, adapter_dir FROM models ORDER BY created_at, rowid").fetchall()
        return {r[0]: str(self.data_dir / r[1]) for r in rows}

    # -- batch lines ----------------------------------------------------------------------
    def add_batch_results(self, batch_id: str, results: list[tuple[int, str, bool, dict[str, Any]]]) -> None:
        """(line, custom_id, ok, result line) of answered requests, committed together."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    "INSERT OR REPLACE INTO batch_results (batch_id, line, custom_id, ok, result_json)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(batch_id, line, cid, int(ok), json.dumps(r)) for line, cid, ok, r in results])
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def batch_results(self, batch_id: str) -> list[tuple[int, bool, dict[str, Any]]]:
        """(line, ok, result line) of every answered request of a batch, in line order."""
        with self._lock:
            rows = self.db.execute("SELECT line, ok, result_json FROM batch_results WHERE batch_id = ? ORDER BY line",
                                   (batch_id,)).fetchall()
        return [(r[0], bool(r[1]), json.loads(r[2])) for r in rows]
