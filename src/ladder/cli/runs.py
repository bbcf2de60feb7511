"""Commands over tasks and runs: climb, report, recommend, runs, rungs."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Iterator, List, Optional

import typer
from rich import box
from rich.table import Table

from ladder.cli.app import (RunsDirOpt, TaskArg, Scenario, advice_help, fail, load_task_or_exit, app, err, out,
                            print_table, terminate_as_interrupt)


class ExecutorName(str, Enum):
    local = "local"
    ray = "ray"


@contextmanager
def _executor(name: ExecutorName, ray_address: str | None, ray_workers: int | None) -> Iterator[Any]:
    """The executor the climb's calls run on (None: this process), closed after: its actors, and
    the local Ray instance it started."""
    if name is ExecutorName.local:
        yield None
        return
    from ladder.eval.ray_executor import RayExecutor

    with RayExecutor(address=ray_address, workers=ray_workers) as ray_executor:
        yield ray_executor


def _check_executor(name: ExecutorName, ray_address: str | None, ray_workers: int | None) -> None:
    """Refuse Ray options without Ray, and Ray without its package, before any model loads."""
    if name is ExecutorName.local and (ray_address or ray_workers):
        raise fail(["error: --ray-address and --ray-workers need --executor ray"])
    if name is ExecutorName.ray:
        from ladder.eval.ray_executor import RayMissing, require_ray

        try:
            require_ray()
        except RayMissing as e:
            raise fail([f"error: {e}"]) from None


@app.command()
def climb(
    task: TaskArg,
    runs_dir: RunsDirOpt = Path("runs"),
    rungs: Annotated[
        Optional[str], typer.Option(help="Comma-separated rungs to climb (default: those in task.yaml, else the main ladder; cheapest first).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the report when the climb ends.")] = True,
    all_rungs: Annotated[bool, typer.Option(
        "--all", help="Climb every rung, even after one meets the target (default: stop there).")] = False,
    junit: Annotated[Optional[Path], typer.Option(
        "--junit", help="Also write a JUnit XML report here: one test case per rung, passing when it meets the target.")
    ] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Ask the model every call: neither read nor write the call cache.")] = False,
    refresh: Annotated[Optional[List[str]], typer.Option(
        "--refresh", metavar="RUNG",
        help="Re-ask this rung's calls and overwrite their cached answers (repeatable), e.g. after a remote "
             "model's alias moved to a new snapshot; see model.revision in task.yaml.")] = None,
    exhaustive: Annotated[bool, typer.Option(
        "--exhaustive", help="Score every rung on every eval row (default: a rung whose first 25% or 50% of rows "
                             "show it cannot meet the target pauses there, and its other rows are asked only "
                             "if no rung meets the target and it might be the best; on a local model, a run of "
                             "plain prompt rungs asks its first looks in one batch).")] = False,
    retry_errors: Annotated[bool, typer.Option(
        "--retry-errors", help="Climb nothing new: ask again only the rows of the task's last run (or --run) that "
                               "ended in error(code), put their answers in that run and rewrite its report.")] = False,
    run: Annotated[Optional[str], typer.Option(
        "--run", metavar="RUN_ID", help="With --retry-errors: the run to repair (default: the task's latest).")] = None,
    executor: Annotated[ExecutorName, typer.Option(
        help="Where the model's calls run: in this process, or fanned out over a Ray cluster (needs "
             "ladder's ray extra); the store and the call cache are written here either way.")] = "local",  # type: ignore[assignment]
    ray_address: Annotated[Optional[str], typer.Option(
        help="With --executor ray: the address of a running Ray cluster (default: start a local one).")] = None,
    ray_workers: Annotated[Optional[int], typer.Option(
        min=1, help="With --executor ray: model actors to start (default: one per CPU of the cluster).")] = None,
) -> None:
    """Evaluate the task on its rungs (task.yaml's `rungs:`, else the main ladder), cheapest first, and record
    quality and cost; a rung the task lacks something for is skipped with the reason.
    Exit code 0 target met, 1 target not met, 2 error (bad input, a failed rung, or not one call
    answered: nothing measured), 130 stopped by Ctrl+C or SIGTERM (the run is recorded as interrupted).

    Started again after Ctrl+C or a kill, it asks only what is missing: every answered call is in the
    call cache the moment it ends. A row that ended in error is asked again by the next climb (errors
    are never cached); --retry-errors asks only those rows, in the run they belong to."""
    from ladder.asking import model_backend, teacher_backend
    from ladder.climb import check_refresh, select_rungs
    from ladder.climb import climb as run_climb
    from ladder.cli.progress import ClimbProgress
    from ladder.events import Status
    from ladder.tracking.store import Store

    _check_executor(ExecutorName(executor), ray_address, ray_workers)
    loaded = load_task_or_exit(task)
    only = [r.strip() for r in rungs.split(",") if r.strip()] if rungs else None
    progress = ClimbProgress(err)
    try:
        chosen = select_rungs(loaded, only)  # fail on bad rung names/options before loading anything
        check_refresh(chosen, refresh or ())
        # a bad endpoint or a missing key fails here, by name, for the model and the teacher alike
        backend = model_backend(loaded, on_status=lambda msg: progress(Status(msg)))
        teacher = teacher_backend(loaded, backend, on_status=lambda msg: progress(Status(msg)))
    except ValueError as e:
        raise fail([f"error: {task}: {e}"]) from None
    store = Store(runs_dir)
    if retry_errors:
        _retry_errors(loaded, store, backend, run, report, progress)
    elif run is not None:
        raise fail(["error: --run goes with --retry-errors"])
    err.print(f"climbing [bold]{loaded.name}[/bold]: {len(loaded.train)} train, {len(loaded.eval)} eval examples")
    try:
        with terminate_as_interrupt(), _executor(ExecutorName(executor), ray_address, ray_workers) as chosen_executor, \
                progress:
            result = run_climb(loaded, store, backend, rungs=chosen, teacher=teacher, all_rungs=all_rungs,
                               use_cache=not no_cache, refresh=refresh or (), exhaustive=exhaustive,
                               on_event=progress, executor=chosen_executor)
    except KeyboardInterrupt:
        err.print(f"interrupted: the run is recorded as interrupted in {store.path}; the same command again "
                  "resumes the climb, every answered call read from the call cache", markup=False, highlight=False)
        _exit_now(130)
    err.print(
        f"climb finished in {result.seconds:.1f}s; model calls: {result.cache_misses} made, "
        f"{result.cache_hits} answered from cache"
    )
    summary = _summarized(store, result.run_id, result.run_dir, report)
    if junit is not None:
        from ladder.report.junit import write_junit

        out.print(f"junit: {write_junit(summary, junit)}")
    if any(o.status == "failed" for o in result.outcomes):
        failed = ", ".join(o.rung for o in result.outcomes if o.status == "failed")
        raise fail([f"error: rung(s) failed: {failed} (see the log above)"])
    raise _advice_exit(summary)


def _advice_exit(summary: dict) -> typer.Exit:
    """0 when the advice meets the target, 1 when it does not, and 2 when the run measured nothing
    because every call of it failed (a server down, a key refused): "target not met" would read,
    in CI, as the model's quality, not as an outage."""
    asked = sum(r["n"] for r in summary["rungs"] if r["status"] == "ok")
    if asked and sum(r["n_errors"] for r in summary["rungs"] if r["status"] == "ok") == asked:
        return fail([f"error: not one of the run's {asked} calls was answered, so nothing was measured; once the "
                     f"model answers, `ladder climb {summary['run']['task_path']} --retry-errors` asks them again"])
    return typer.Exit(0 if summary["recommendation"]["meets_target"] else 1)


def _exit_now(code: int) -> None:
    """Exit at once. A normal exit would wait for the remote calls still in flight (their threads
    are joined at exit, each up to its timeout: two minutes by default) although their answers can
    no longer be recorded; the climb has already recorded the run and every answer it got."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _retry_errors(task, store, backend, run_id: Optional[str], report: bool, progress) -> None:
    """`ladder climb --retry-errors`: re-ask the error rows of one run, then report it; exits."""
    from ladder.retry_errors import retry_errors

    if run_id is None:
        mine = [r["id"] for r in store.runs() if r["task_name"] == task.name]
        if not mine:
            raise fail([f"error: --retry-errors: no run of {task.name} in {store.runs_dir}"])
        run_id = mine[-1]
    try:
        with terminate_as_interrupt(), progress:
            result = retry_errors(task, store, run_id, backend, on_event=progress)
    except (KeyError, ValueError) as e:
        raise fail([f"error: --retry-errors: {e}"]) from None
    err.print(f"run {run_id}: {result.asked} error row(s) asked again: {result.answered} answered, "
              f"{result.still_failing} failed again", markup=False, highlight=False)
    for line in result.not_asked:
        err.print(f"not asked: {line}", markup=False, highlight=False)
    summary = _summarized(store, run_id, store.runs_dir / run_id, report)
    raise _advice_exit(summary)


def _summarized(store, run_id: str, run_dir: Path, report: bool) -> dict:
    """The run's summary, printed, with its report files written unless `report` is off; then the
    run's folder."""
    if report:
        summary = _write_report(store, run_id, run_dir)
    else:
        from ladder.report import summarize

        summary = summarize(store, run_id)
        _print_summary(summary)
    out.print(f"run: {run_dir}")
    return summary


def _write_report(store, run_id: str, run_dir: Path) -> dict:
    from ladder.report import summarize, write_report

    paths = write_report(store, run_id, run_dir)
    summary = summarize(store, run_id)
    _print_summary(summary)
    out.print(f"report: {paths['html']}")
    return summary


def _print_summary(summary: dict) -> None:
    from ladder.report.fmt import errors_cell

    run = summary["run"]
    # no vertical rules: the nine columns fit an 80-column terminal with the main ladder's names
    table = Table(title=f"{run['task_name']}: target {run['target_metric']} >= {run['target_value']}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col in ("rung", "target", "errors", "form", "knowledge", "prompt\ntokens", "latency\ns", "build\ns",
                f"per 1K req\n({run['currency']})"):
        if col == "rung":  # a rung's name wraps in a narrow terminal rather than being cut short
            table.add_column(col, overflow="fold")
        else:
            table.add_column(col, justify="right")

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.0%}"

    def fixed(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    for r in summary["rungs"]:
        if r["status"] != "ok":
            table.add_row(r["rung"], r["status"], "", "", "", "", "", "", "")
            continue
        table.add_row(
            r["rung"], pct(r["quality"]), errors_cell(r), pct(r["form_accuracy"]), pct(r["knowledge_accuracy"]),
            fixed(r["prompt_tokens"], ".0f"), fixed(r["latency_s"], ".2f"), fixed(r["build_seconds"], ".0f"),
            fixed(r["cost_per_1k_requests"], ".4f"),
        )
    print_table(table)
    for r in summary["rungs"]:
        if r["status"] != "ok":  # why it did not run, or how it broke
            out.print(f"{r['rung']}: {r['status']}: {r['error'] or r['description']}",
                      markup=False, highlight=False, soft_wrap=True)
    from ladder.report.fmt import break_even_line

    for be in summary.get("break_even", []):
        out.print(f"break-even {break_even_line(be)}", markup=False, highlight=False, soft_wrap=True)
    _print_advice(summary)


def _print_advice(summary: dict) -> None:
    """Recommended rung, why, next step, and whether the lead is measurable: one screen."""
    from ladder.report.fmt import advice_lines

    for line in advice_lines(summary):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    counts = {d["rung"]: d["counts"] for d in summary.get("diagnosis", [])}
    rec = summary["recommendation"]["rung"]
    if counts.get(rec):
        out.print(f"failures of {rec} by class: " + ", ".join(f"{c} {n}" for c, n in counts[rec].items()),
                  markup=False, highlight=False, soft_wrap=True)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run folder, e.g. `runs/<run id>`.")],
) -> None:
    """Write report.html, report.md, frontier.png and summary.json for a run (reads the store only)."""
    from ladder.tracking.store import Store

    try:
        store = Store.for_run_dir(run_dir)
        store.run(run_dir.name)
    except (FileNotFoundError, KeyError) as e:
        raise fail([f"error: {e}"]) from None
    _write_report(store, run_dir.name, run_dir)


@app.command()
def recommend(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run folder, e.g. `runs/<run id>`.")],
    target: Annotated[Optional[float], typer.Option(help=advice_help("target"), min=0, max=1)] = None,
    volume: Annotated[Optional[int], typer.Option(help=advice_help("volume"), min=0)] = None,
    scenario: Annotated[Scenario, typer.Option(help=advice_help("scenario"))] = "target",  # type: ignore[assignment]
    budget: Annotated[Optional[float], typer.Option(help=advice_help("budget"), min=0)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the advice as JSON instead of text.")] = False,
) -> None:
    """Recompute the advice for a recorded run from the store alone (nothing is re-run).
    Exit code 0 target met, 1 target not met, 2 error (a run whose every call failed included)."""
    import json

    from ladder.diagnosis import AdviceOptions
    from ladder.report import summarize
    from ladder.tracking.store import Store

    try:
        store = Store.for_run_dir(run_dir)
        store.run(run_dir.name)
    except (FileNotFoundError, KeyError) as e:
        raise fail([f"error: {e}"]) from None
    options = AdviceOptions(scenario=Scenario(scenario).value, target=target, volume=volume, budget=budget)
    summary = summarize(store, run_dir.name, options)
    if json_out:
        out.print_json(json.dumps({"recommendation": summary["recommendation"], "break_even": summary["break_even"],
                                   "diagnosis": [{k: d[k] for k in ("rung", "counts", "dominant", "next_step")}
                                                 for d in summary["diagnosis"]]}))
    else:
        _print_summary(summary)
    raise _advice_exit(summary)


@app.command("runs")
def list_runs(runs_dir: RunsDirOpt = Path("runs")) -> None:
    """List the runs recorded in a runs folder."""
    from ladder.tracking.store import Store

    table = Table("run", "task", "started", "status")
    for r in Store(runs_dir).runs():
        table.add_row(str(runs_dir / r["id"]), r["task_name"], r["started_at"], r["status"])
    print_table(table)


@app.command("rungs")
def list_rungs() -> None:
    """List the rungs ladder can climb (built-ins cheapest first, then plugins') with their options;
    a `*` marks the main ladder, climbed when task.yaml has no `rungs:`."""
    from ladder.rungs import MAIN_LADDER, registered

    table = Table("rung", "kind", "options", "what it does")
    for r in registered():
        opts = ", ".join(f"{k}={f.default}" for k, f in r.Options.model_fields.items()) or "-"
        doc = (sys.modules[type(r).__module__].__doc__ or "").strip().split("\n")[0]
        table.add_row(r.name + (" *" if r.name in MAIN_LADDER else ""), r.kind, opts, doc.removeprefix(f"{r.name}: "))
    out.print(table)  # its descriptions wrap: fitted to the width, piped or not


