"""The run store: migrations, WAL, rung results with generations and scores, the call cache."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ladder.tracking import migrations
from ladder.tracking.migrations import MIGRATIONS, apply_migrations
from ladder.tracking.store import STORE_FILE, RungRecord, Store
from ladder.types import Assessment, AssessmentCost, Example, ExampleResult, Generation


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "runs")
    yield s
    s.close()


def names(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]


def tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


# -- migrations ------------------------------------------------------------------------------

def test_migrations_apply_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = Store(runs)
    assert (runs / STORE_FILE).exists()
    assert names(first.db) == sorted(n for n, _ in MIGRATIONS)
    assert {"runs", "rung_results", "generations", "assessments", "call_cache", "_migrations"} <= tables(first.db)
    assert "scores" not in tables(first.db)  # one generation of verdict records, not two
    first.close()

    second = Store(runs)
    assert apply_migrations(second.db) == []  # nothing left to apply
    assert names(second.db) == sorted(n for n, _ in MIGRATIONS)
    second.close()


def test_fresh_database_applies_every_migration(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    assert apply_migrations(db) == [n for n, _ in MIGRATIONS]
    assert apply_migrations(db) == []
    db.close()


def test_journal_mode_is_wal(store: Store) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_failing_migration_rolls_back(tmp_path: Path) -> None:
    Store(tmp_path / "runs").close()  # the shipped migrations, applied

    def m999_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("INSERT INTO half_done VALUES (1)")
        db.execute("THIS IS NOT SQL")

    MIGRATIONS.append(("m999_broken", m999_broken))
    try:
        with pytest.raises(sqlite3.OperationalError, match="syntax error"):
            Store(tmp_path / "runs")
    finally:
        MIGRATIONS.remove(("m999_broken", m999_broken))

    db = sqlite3.connect(tmp_path / "runs" / STORE_FILE)
    assert "half_done" not in tables(db)  # the table it created is gone
    assert "m999_broken" not in names(db)  # and it is not recorded as applied
    db.close()
    Store(tmp_path / "runs").close()  # the store still opens once the bad migration is gone


def test_two_processes_opening_a_new_store_apply_each_migration_once(tmp_path: Path) -> None:
    """The second opener waits for the first's migration and then skips it, instead of re-running it."""
    entered = threading.Event()

    def m998_slow(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE slow_probe (x INTEGER)")  # fails if it ever runs twice
        if not entered.is_set():
            entered.set()
            time.sleep(0.3)  # hold the write lock while the other opener starts

    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(tmp_path / "runs").close()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)

    MIGRATIONS.append(("m998_slow", m998_slow))
    try:
        first = threading.Thread(target=open_store)
        first.start()
        assert entered.wait(5)
        open_store()  # while the first is inside m998_slow
        first.join(10)
    finally:
        MIGRATIONS.remove(("m998_slow", m998_slow))
    assert errors == []
    db = sqlite3.connect(tmp_path / "runs" / STORE_FILE)
    assert "m998_slow" in names(db) and "slow_probe" in tables(db)
    db.close()


def test_a_store_of_the_previous_schema_has_its_scores_migrated(tmp_path: Path) -> None:
    """A store written before assessments existed (migrations up to m002 only, rows as that
    code wrote them) opens with every score as an assessment, and `scores` gone."""
    path = tmp_path / "runs" / STORE_FILE
    path.parent.mkdir()
    old = sqlite3.connect(path, isolation_level=None)
    previous = MIGRATIONS[: [n for n, _ in MIGRATIONS].index("m003_assessments")]
    saved = MIGRATIONS[:]
    MIGRATIONS[:] = previous
    try:
        assert apply_migrations(old) == ["m001_initial", "m002_retrievals"]
    finally:
        MIGRATIONS[:] = saved
    spec = '{"checks": [{"name": "shape", "kind": "regex", "tag": "form"}, {"name": "value", "kind": "numeric"}]}'
    old.execute("INSERT INTO runs VALUES ('old', 't', 'task.yaml', 'h', ?, 'm', '2026-01-02T03:04:05+00:00',"
                " NULL, 'finished')", (spec,))
    old.execute("INSERT INTO rung_results (id, run_id, position, rung, kind, candidate_json, status)"
                " VALUES (7, 'old', 0, 'zero_shot', 'prompt', '{}', 'ok')")
    for gid, example in ((1, "e1"), (2, "e2")):
        old.execute("INSERT INTO generations VALUES (?, 7, ?, 'q', '4', '[]', 'out', 3, 1, 0.1, 'stop', 0, NULL)",
                    (gid, example))
    old.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?)", [
        (1, "shape", "form", 1, ""),
        (1, "value", "knowledge", 0, "got 5.0, want 4.0 +- 0.0"),
        (1, "per-example", "knowledge", 1, ""),
        (2, "value", "knowledge", 0, "reference has no number to compare ('four')"),
        (2, "same", "knowledge", 0, "nothing to compare: the reference has no match for `extract`"),
    ])
    old.close()

    with Store(path.parent) as store:
        assert "scores" not in tables(store.db)
        g1, g2 = store.generations(7)
        assert g1.assessments == (
            Assessment("shape", "form", source_kind="code", source_name="regex", passed=True),
            Assessment("value", "knowledge", source_kind="code", source_name="numeric", passed=False,
                       rationale="got 5.0, want 4.0 +- 0.0"),
            Assessment("per-example", "knowledge", source_kind="code", source_name="", passed=True),
        )
        # what was stored as a failure for want of a readable reference is an error of the data
        assert g2.assessments == (
            Assessment("value", "knowledge", source_name="numeric", error="reference has no number to compare ('four')"),
            Assessment("same", "knowledge", error="nothing to compare: the reference has no match for `extract`"),
        )
        created = {r[0] for r in store.db.execute("SELECT created_at FROM assessments")}
        assert created == {"2026-01-02T03:04:05+00:00"}  # the run's start, the best date known


def test_run_script_keeps_semicolons_inside_literals_and_triggers(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    migrations._run_script(
        db,
        """
        CREATE TABLE t (a TEXT);
        CREATE TABLE log (msg TEXT);
        CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
            INSERT INTO log VALUES ('added; ' || new.a);
        END;
        INSERT INTO t VALUES ('x;y');
        """,
    )
    assert db.execute("SELECT a FROM t").fetchall() == [("x;y",)]
    assert db.execute("SELECT msg FROM log").fetchall() == [("added; x;y",)]
    db.close()


# -- runs, rung results, generations -------------------------------------------------------------

def start(store: Store, run_id: str = "run-1") -> None:
    store.start_run(run_id, "demo", "/tmp/task.yaml", "hash", {"name": "demo", "n": [1, 2]}, "tiny-model")


def test_run_round_trip(store: Store) -> None:
    start(store)
    run = store.run("run-1")
    assert run["task_name"] == "demo" and run["status"] == "running" and run["finished_at"] is None
    assert run["spec"] == {"name": "demo", "n": [1, 2]}
    store.finish_run("run-1", "done")
    assert store.run("run-1")["status"] == "done"
    assert [r["id"] for r in store.runs()] == ["run-1"]
    with pytest.raises(KeyError, match="no run 'nope'"):
        store.run("nope")


def test_rung_result_round_trip_with_generations_and_checks(store: Store) -> None:
    start(store)
    ex1 = Example(id="e1", input="2+2?", expected="4")
    ex2 = Example(id="e2", input="3+3?", expected="6")
    gen1 = Generation(text="4", prompt_tokens=10, completion_tokens=1, latency_s=0.5)
    gen2 = Generation(text="", prompt_tokens=12, completion_tokens=0, latency_s=0.25,
                      finish_reason="error", error="boom")
    checks1 = (Assessment("form", "form", source_name="regex", passed=True),
               Assessment("value", "knowledge", source_name="numeric", passed=False, rationale="got 5, want 4"),
               Assessment("again", "knowledge", source_name="exact", error="the reference has no match for `extract`"))
    prompt = '[{"role": "user", "content": "2+2?"}]'
    rung_id = store.add_rung_result(
        RungRecord("run-1", 0, "zero_shot", "prompt", {"rung": "zero_shot", "adapter": None},
                   build_seconds=1.5, build_money=0.25, build_tokens=100, build_reused=True, eval_seconds=3.0,
                   build_notes="9 of 36 planned steps"),
        [ExampleResult(ex1, prompt, gen1, checks1), ExampleResult(ex2, "[]", gen2)],
    )
    other = store.add_rung_result(
        RungRecord("run-1", 1, "few_shot", "prompt", {}, status="failed", error="out of memory", eval_seconds=1.0)
    )

    rows = store.rung_results("run-1")
    assert [r.rung for r in rows] == ["zero_shot", "few_shot"]
    r = rows[0]
    assert r.id == rung_id and r.run_id == "run-1" and r.position == 0 and r.kind == "prompt"
    assert r.candidate == {"rung": "zero_shot", "adapter": None}
    assert (r.build_seconds, r.build_money, r.build_tokens, r.build_reused) == (1.5, 0.25, 100, True)
    assert (r.eval_seconds, r.status, r.error) == (3.0, "ok", None)
    assert rows[1].id == other and rows[1].build_reused is False and rows[1].error == "out of memory"
    assert (r.build_notes, rows[1].build_notes) == ("9 of 36 planned steps", None)

    g1, g2 = store.generations(rung_id)
    assert (g1.example_id, g1.input, g1.expected, g1.output) == ("e1", "2+2?", "4", "4")
    assert g1.prompt == [{"role": "user", "content": "2+2?"}]
    assert (g1.prompt_tokens, g1.completion_tokens, g1.latency_s) == (10, 1, 0.5)
    assert (g1.finish_reason, g1.cached, g1.error) == ("stop", False, None)
    assert g1.assessments == checks1  # in the order they were recorded, errors kept apart from failures
    assert (g2.example_id, g2.finish_reason, g2.error, g2.assessments) == ("e2", "error", "boom", ())
    assert store.generations(other) == []


def test_a_skipped_rung_needs_no_placeholders(store: Store) -> None:
    start(store)
    store.add_rung_result(RungRecord("run-1", 0, "lora_sft", "finetune", {"description": "budget spent"},
                                     status="skipped"))
    (row,) = store.rung_results("run-1")
    assert (row.status, row.error, row.build_money, row.build_reused, row.eval_seconds) == ("skipped", None, 0.0,
                                                                                           False, 0.0)


def test_a_paused_rung_is_finished_on_the_same_row_and_only_once(store: Store) -> None:
    start(store)
    ex1, ex2 = Example(id="e1", input="a", expected="1"), Example(id="e2", input="b", expected="2")
    gen = Generation(text="1", prompt_tokens=3, completion_tokens=1, latency_s=0.5)
    check = (Assessment("same", "knowledge", source_name="exact", passed=True),)
    rung_id = store.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}, eval_seconds=2.0,
                                               eval_stop="stopped after 1 rows"), [ExampleResult(ex1, "[]", gen, check)])
    store.finish_rung_eval(rung_id, [ExampleResult(ex2, "[]", gen, check)], seconds=1.5)
    (row,) = store.rung_results("run-1")
    assert (row.eval_stop, row.eval_seconds) == (None, 3.5)
    assert [(g.example_id, g.assessments) for g in store.generations(rung_id)] == [("e1", check), ("e2", check)]
    with pytest.raises(ValueError, match="not a paused rung"):
        store.finish_rung_eval(rung_id, [ExampleResult(ex2, "[]", gen, check)], seconds=1.0)
    assert len(store.generations(rung_id)) == 2  # the refused call added nothing
    store.set_eval_stop(rung_id, "stopped after 1 rows; worse than b")
    assert store.rung_results("run-1")[0].eval_stop == "stopped after 1 rows; worse than b"


def test_judge_and_human_verdicts_are_added_to_a_stored_answer(store: Store) -> None:
    start(store)
    ex = Example(id="e1", input="q", expected="a")
    check = Assessment("value", "knowledge", source_name="exact", passed=True)
    rung_id = store.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}),
                                    [ExampleResult(ex, "[]", Generation("a", 1, 1, 0.1), (check,))])
    (g,) = store.generations(rung_id)
    judge = Assessment("sufficient", "helpfulness", source_kind="llm_judge", source_name="openai:host:judge",
                       passed=False, score=2.0, rationale="right but thin",
                       cost=AssessmentCost(prompt_tokens=120, completion_tokens=15, money=0.0004, latency_s=0.8),
                       metadata={"prompt": "Is this answer sufficient?", "raw": '{"score": 2}'})
    unparsed = Assessment("sufficient", "helpfulness", source_kind="llm_judge", source_name="openai:host:judge",
                          error="judge_error: not JSON after 3 tries")
    label = Assessment("rating", "helpfulness", source_kind="human", source_name="ana", passed=True, score=4.0,
                       rationale="fine", cost=AssessmentCost(latency_s=12.5), metadata={"order_shown": 3})
    store.add_assessments(g.id, [judge, unparsed])
    store.add_assessments(g.id, [label])
    (g,) = store.generations(rung_id)
    assert g.assessments == (check, judge, unparsed, label)
    with pytest.raises(sqlite3.IntegrityError):  # a source kind the record does not know
        store.add_assessments(g.id, [Assessment("x", "form", source_kind="oracle", passed=True)])  # type: ignore[arg-type]


def test_same_rung_twice_in_a_run_is_refused_and_rolled_back(store: Store) -> None:
    start(store)
    ex = Example(id="e1", input="q", expected="a")
    gen = Generation(text="a", prompt_tokens=1, completion_tokens=1, latency_s=0.1)
    store.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_rung_result(RungRecord("run-1", 1, "zero_shot", "prompt", {}), [ExampleResult(ex, "[]", gen)])
    assert store.db.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 0
    assert not store.db.in_transaction


def test_rung_result_needs_a_known_run(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.add_rung_result(RungRecord("ghost", 0, "zero_shot", "prompt", {}))


def test_data_survives_reopening(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        start(s)
        s.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}))
    with Store(tmp_path) as s:
        assert [r.rung for r in s.rung_results("run-1")] == ["zero_shot"]


# -- call cache ------------------------------------------------------------------------------

def test_cache_get_put(store: Store) -> None:
    assert store.cache_get("k1") is None
    good = Generation(text="hi", prompt_tokens=5, completion_tokens=2, latency_s=0.3, finish_reason="length")
    bad = Generation(text="", prompt_tokens=5, completion_tokens=0, latency_s=0.1, finish_reason="error",
                     error="timeout")
    store.cache_put([("k1", "model-a", good), ("k2", "model-a", bad)])
    hit = store.cache_get("k1")
    assert hit == Generation(text="hi", prompt_tokens=5, completion_tokens=2, latency_s=0.3,
                             finish_reason="length", cached=True)
    assert store.cache_get("k2") is None  # failed calls are never cached
    newer = Generation(text="hello", prompt_tokens=5, completion_tokens=3, latency_s=0.2)
    store.cache_put([("k1", "model-a", newer)])
    assert store.cache_get("k1").text == "hello"  # type: ignore[union-attr]
    store.cache_put([])


def test_cache_is_shared_between_stores_on_one_folder(tmp_path: Path) -> None:
    gen = Generation(text="x", prompt_tokens=1, completion_tokens=1, latency_s=0.1)
    with Store(tmp_path) as a, Store(tmp_path) as b:
        a.cache_put([("k", "m", gen)])
        assert b.cache_get("k") is not None


# -- for_run_dir -------------------------------------------------------------------------------

def test_for_run_dir_finds_the_store_in_the_parent(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with Store(runs) as s:
        start(s, "20240101-abc")
    (runs / "20240101-abc").mkdir()
    with Store.for_run_dir(runs / "20240101-abc") as found:
        assert found.path == runs / STORE_FILE
        assert found.run("20240101-abc")["task_name"] == "demo"


def test_for_run_dir_errors_clearly_without_a_store(tmp_path: Path) -> None:
    run_dir = tmp_path / "somewhere" / "run-1"
    run_dir.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=f"no {STORE_FILE} in .*somewhere; is this a run folder"):
        Store.for_run_dir(run_dir)
    assert not (run_dir.parent / STORE_FILE).exists()  # nothing was created


def test_for_run_dir_given_the_runs_folder_says_so(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    Store(runs).close()
    with pytest.raises(FileNotFoundError, match="is a runs folder, pass one of its run folders"):
        Store.for_run_dir(runs)


def _store_before(path: Path, migration: str) -> sqlite3.Connection:
    """A store file with only the migrations before `migration` applied, as older code left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path, isolation_level=None)
    saved = MIGRATIONS[:]
    MIGRATIONS[:] = MIGRATIONS[: [n for n, _ in MIGRATIONS].index(migration)]
    try:
        apply_migrations(old)
    finally:
        MIGRATIONS[:] = saved
    return old


def test_a_store_from_before_provenance_and_environments_opens_with_them_not_recorded(tmp_path: Path) -> None:
    old = _store_before(tmp_path / "runs" / STORE_FILE, "m004_generation_provenance")
    old.execute("INSERT INTO runs VALUES ('old', 't', 'task.yaml', 'h', '{}', 'm', '2026-01-02T03:04:05+00:00',"
                " NULL, 'finished')")
    old.execute("INSERT INTO rung_results (id, run_id, position, rung, kind, candidate_json, status)"
                " VALUES (7, 'old', 0, 'zero_shot', 'prompt', '{}', 'ok')")
    old.execute("INSERT INTO generations VALUES (1, 7, 'e1', 'q', '4', '[]', 'out', 3, 1, 0.1, 'stop', 0, NULL)")
    old.execute("INSERT INTO call_cache VALUES ('k', 'm', 'out', 3, 1, 0.1, 'stop', '2026-01-02T03:04:05+00:00')")
    old.close()

    with Store(tmp_path / "runs") as store:
        assert {"m004_generation_provenance", "m005_run_environment"} <= set(names(store.db))
        assert store.run("old")["environment"] is None
        assert store.rung_results("old")[0].build_notes is None  # how it was built: not recorded then
        (g,) = store.generations(7)
        assert g.output == "out" and (g.response_model, g.system_fingerprint) == (None, None)
        cached = store.cache_get("k")
        assert cached is not None and cached.text == "out" and cached.response_model is None


def test_environment_and_what_answered_round_trip(store: Store) -> None:
    environment = {"ladder_version": "9.9", "libraries": {"torch": "2.0"}, "seed": 3}
    store.start_run("run-env", "demo", "/tmp/task.yaml", "hash", {}, "m", environment=environment)
    assert store.run("run-env")["environment"] == environment
    gen = Generation("hi", 3, 1, 0.1, response_model="snap-2026-01-01", system_fingerprint="fp_1")
    rung = store.add_rung_result(RungRecord("run-env", 0, "zero_shot", "prompt", {}),
                                 [ExampleResult(Example("e1", "q", "a"), "[]", gen)])
    (row,) = store.generations(rung)
    assert (row.response_model, row.system_fingerprint) == ("snap-2026-01-01", "fp_1")
    store.cache_put([("key", "m", gen)])
    assert store.cache_get("key") == Generation("hi", 3, 1, 0.1, cached=True, response_model="snap-2026-01-01",
                                                system_fingerprint="fp_1")


def test_comparisons_round_trip_and_refuse_answers_to_different_examples(store: Store) -> None:
    from ladder.types import Comparison

    start(store)
    ex1, ex2 = Example(id="e1", input="q1", expected="r1"), Example(id="e2", input="q2", expected="r2")
    gen = Generation(text="x", prompt_tokens=1, completion_tokens=1, latency_s=0.1)
    first = store.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}),
                                  [ExampleResult(ex1, "[]", gen), ExampleResult(ex2, "[]", gen)])
    second = store.add_rung_result(RungRecord("run-1", 1, "few_shot", "prompt", {}),
                                   [ExampleResult(ex1, "[]", gen), ExampleResult(ex2, "[]", gen)])
    a1, a2 = (g.id for g in store.generations(first))
    b1, b2 = (g.id for g in store.generations(second))
    votes = [
        Comparison(a1, b1, "llm_judge", "pairwise-judge", "b", first_shown="a", metadata={"pair": 1},
                   cost=AssessmentCost(prompt_tokens=30, completion_tokens=5)),
        Comparison(a1, b1, "llm_judge", "pairwise-judge", "a", first_shown="b", metadata={"pair": 1}),
        Comparison(a2, b2, "human", "ana", "both_bad", first_shown="b", rationale="neither cites the policy"),
        Comparison(a2, b2, "llm_judge", "pairwise-judge", None, error="unparsable verdict"),
    ]
    assert len(store.add_comparisons("run-1", votes)) == 4
    assert store.comparisons("run-1") == votes
    with pytest.raises(ValueError, match="not two answers to one example"):
        store.add_comparisons("run-1", [Comparison(a1, b2, "human", "ana", "a")])
    with pytest.raises(sqlite3.IntegrityError):  # the schema refuses what the type does not allow
        store.add_comparisons("run-1", [Comparison(a1, b1, "human", "ana", "maybe")])  # type: ignore[arg-type]
    assert len(store.comparisons("run-1")) == 4


def test_a_person_s_latest_label_supersedes_their_earlier_one_on_read(store: Store) -> None:
    from ladder.types import Comparison

    start(store)
    gen = Generation(text="x", prompt_tokens=1, completion_tokens=1, latency_s=0.1)
    ex = Example(id="e1", input="q1", expected="r1")
    first = store.add_rung_result(RungRecord("run-1", 0, "zero_shot", "prompt", {}), [ExampleResult(ex, "[]", gen)])
    second = store.add_rung_result(RungRecord("run-1", 1, "few_shot", "prompt", {}), [ExampleResult(ex, "[]", gen)])
    (a,), (b,) = store.generations(first), store.generations(second)
    person = dict(name="review", tag="human", source_kind="human")
    store.add_assessments(a.id, [
        Assessment(**person, source_name="ana", passed=True, score=4),
        Assessment("equivalent", "knowledge", "llm_judge", "equivalent", passed=True),
        Assessment(**person, source_name="bo", passed=False),
        Assessment("equivalent", "knowledge", "llm_judge", "equivalent", passed=False),  # a judge's: both kept
    ])
    store.add_assessments(a.id, [Assessment(**person, source_name="ana", passed=False, score=2, rationale="thin")])
    (row,) = store.generations(first)
    assert [(x.source_name, x.passed, x.score) for x in row.assessments] == [
        ("equivalent", True, None), ("bo", False, None), ("equivalent", False, None), ("ana", False, 2)]
    assert store.db.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 5  # nothing deleted

    store.add_comparisons("run-1", [Comparison(a.id, b.id, "human", "ana", "a"),
                                    Comparison(a.id, b.id, "llm_judge", "pairwise", "a", first_shown="a"),
                                    Comparison(a.id, b.id, "llm_judge", "pairwise", "b", first_shown="b"),
                                    Comparison(a.id, b.id, "human", "ana", "tie", first_shown="b")])
    assert [(c.source_name, c.winner) for c in store.comparisons("run-1")] == [
        ("pairwise", "a"), ("pairwise", "b"), ("ana", "tie")]


# -- which process records a run ---------------------------------------------------------------

def test_a_running_run_reads_interrupted_once_its_process_is_gone_or_its_pid_reused(store: Store) -> None:
    import subprocess
    import sys

    store.start_run("r", "toy", "toy/task.yaml", "hash", {"name": "toy"}, "model")
    assert store.run("r")["status"] == "running"  # this process recorded it and is alive
    assert "pid" not in store.run("r") and "pid" not in store.runs()[0]

    def recorded_as(**columns) -> str:
        store.db.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = 'r'",
                         tuple(columns.values()))
        return store.run("r")["status"]

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now
    assert recorded_as(pid=gone.pid) == "interrupted"
    assert store.runs()[0]["status"] == "interrupted"
    import os

    assert recorded_as(pid=os.getpid()) == "running"
    assert recorded_as(process_start="1") == "interrupted"  # the pid now names another process
    assert recorded_as(process_start=None) == "running"  # no start time recorded: the pid alone
    assert recorded_as(pid=gone.pid, host="another-host") == "running"  # can't tell from here
    store.finish_run("r", "finished")
    assert store.run("r")["status"] == "finished"
