"""The `ladder` command: thin wrappers over library functions.

Exit codes: 0 success, 2 bad input (task.yaml, data files, options) or a failed run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Measure whether an LLM task needs prompting, few-shot, RAG or fine-tuning, and what each costs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect and check data files.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console()
err = Console(stderr=True)

TaskArg = Annotated[Path, typer.Argument(help="Path to the task's task.yaml.")]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Folder holding ladder.sqlite and one folder per run.")]


def _fail(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        err.print(line, markup=False, highlight=False)
    return typer.Exit(code)


def _load(task_path: Path):  # -> Task
    from ladder.task import DataError, TaskError, load_task

    try:
        return load_task(task_path)
    except TaskError as e:
        raise _fail([f"error: {e.file}: {p}" for p in e.problems]) from None
    except DataError as e:
        raise _fail([f"error: {p}" for p in e.problems] + [f"{len(e.problems)} problem(s) in the data files"]) from None


@app.command()
def climb(
    task: TaskArg,
    runs_dir: RunsDirOpt = Path("runs"),
    rungs: Annotated[
        Optional[str], typer.Option(help="Comma-separated rungs to climb (default: all in task.yaml, cheapest first).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the report when the climb ends.")] = True,
) -> None:
    """Evaluate the task on every rung, cheapest first, and record quality and cost."""
    from ladder.climb import climb as run_climb
    from ladder.climb import select_rungs
    from ladder.tracking.store import Store

    loaded = _load(task)
    only = [r.strip() for r in rungs.split(",") if r.strip()] if rungs else None
    try:
        select_rungs(loaded, only)  # fail on bad rung names/options before loading anything
    except ValueError as e:
        raise _fail([f"error: {task}: {e}"]) from None
    store = Store(runs_dir)
    err.print(f"climbing [bold]{loaded.name}[/bold]: {len(loaded.train)} train, {len(loaded.eval)} eval examples")
    result = run_climb(loaded, store, only=only, console=err)
    err.print(
        f"climb finished in {result.seconds:.1f}s; model calls: {result.cache_misses} made, "
        f"{result.cache_hits} answered from cache"
    )
    if report:
        _write_report(store, result.run_id, result.run_dir)
    out.print(f"run: {result.run_dir}")
    if any(o.status == "failed" for o in result.outcomes):
        failed = ", ".join(o.rung for o in result.outcomes if o.status == "failed")
        raise _fail([f"error: rung(s) failed: {failed} (see the log above)"])


def _write_report(store, run_id: str, run_dir: Path) -> None:
    from ladder.report import summarize, write_report

    paths = write_report(store, run_id, run_dir)
    _print_summary(summarize(store, run_id))
    out.print(f"report: {paths['html']}")


def _print_summary(summary: dict) -> None:
    run = summary["run"]
    table = Table(title=f"{run['task_name']}: target {run['target_metric']} >= {run['target_value']}")
    for col in ("rung", "form", "knowledge", "prompt tok", "latency s", "build s", f"per 1K req ({run['currency']})"):
        table.add_column(col, justify="left" if col == "rung" else "right")

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.0%}"

    for r in summary["rungs"]:
        if r["status"] != "ok":
            table.add_row(r["rung"], r["status"], "", "", "", "", "")
            continue
        table.add_row(
            r["rung"], pct(r["form_accuracy"]), pct(r["knowledge_accuracy"]),
            f"{r['prompt_tokens']:.0f}", f"{r['latency_s']:.2f}", f"{r['build_seconds']:.0f}",
            f"{r['cost_per_1k_requests']:.4f}",
        )
    out.print(table)
    for be in summary.get("break_even", []):
        out.print(f"break-even {be['finetune_rung']} vs {be['prompt_rung']}: {be['formula']}")
    rec = summary.get("recommendation")
    if rec:
        out.print(f"recommendation: [bold]{rec['rung']}[/bold] — {rec['reason']}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<run id>.")],
) -> None:
    """Write report.html, report.md, frontier.png and summary.json for a run (reads the store only)."""
    from ladder.tracking.store import Store

    try:
        store = Store.for_run_dir(run_dir)
        store.run(run_dir.name)
    except (FileNotFoundError, KeyError) as e:
        raise _fail([f"error: {e}"]) from None
    _write_report(store, run_dir.name, run_dir)


@app.command("runs")
def list_runs(runs_dir: RunsDirOpt = Path("runs")) -> None:
    """List the runs recorded in a runs folder."""
    from ladder.tracking.store import Store

    table = Table("run", "task", "started", "status")
    for r in Store(runs_dir).runs():
        table.add_row(str(runs_dir / r["id"]), r["task_name"], r["started_at"], r["status"])
    out.print(table)


@app.command("rungs")
def list_rungs() -> None:
    """List the rungs ladder can climb, cheapest first, with their options."""
    from ladder.rungs import REGISTRY

    table = Table("rung", "kind", "options", "what it does")
    for r in REGISTRY:
        opts = ", ".join(f"{k}={f.default}" for k, f in r.Options.model_fields.items()) or "-"
        doc = (sys.modules[type(r).__module__].__doc__ or "").strip().split("\n")[0]
        table.add_row(r.name, r.kind, opts, doc.removeprefix(f"{r.name}: "))
    out.print(table)


@data_app.command("check")
def data_check(task: TaskArg) -> None:
    """Load a task and its data files; report every problem as file:line (exit 2 if any)."""
    loaded = _load(task)
    out.print(f"ok: {loaded.name}: {len(loaded.train)} train, {len(loaded.eval)} eval examples, "
              f"{len(loaded.checks)} task checks")


if __name__ == "__main__":
    app()
