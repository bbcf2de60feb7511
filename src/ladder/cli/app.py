"""The Typer app, shared console, argument types and error helpers of the `ladder` command."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Iterator

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Measure whether an LLM task needs prompting, few-shot, RAG or fine-tuning, and what each costs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # docstrings wrap at 100 columns: markdown joins a paragraph's lines and rewraps them to the
    # terminal ("rich" would keep each line break)
    rich_markup_mode="markdown",
)
data_app = typer.Typer(help="Inspect and check data files.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console()
err = Console(stderr=True, log_path=False)  # a climb's log lines: the time and the news, not ladder's source lines


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (a CI job's timeout, `kill`) stops the command as Ctrl+C does, so
    that a climb records its run as interrupted instead of leaving it `running`. The handler before
    is restored on leaving; off the main thread (where Python takes no signal handlers) nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def print_table(table: Table) -> None:
    """`table` on standard output. Where that is not a terminal (a pipe, a CI log, a file) it keeps
    its natural width: rich would otherwise fit it to 80 columns and cut rung names to `lora_…`."""
    if out.is_terminal:
        out.print(table)
        return
    natural = out.measure(table, options=out.options.update_width(1000)).maximum
    Console(file=out.file, width=max(out.width, natural), no_color=out.no_color).print(table)


@app.callback()
def _setup() -> None:
    _log_to_stderr()
    _quiet_library_deprecations()


def _log_to_stderr() -> None:
    # LADDER_LOG=debug|info|warning: ladder's log lines (e.g. each retry of a remote call) on stderr.
    # Never a key: every text a backend logs has been through its redaction.
    level = os.environ.get("LADDER_LOG", "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("ladder").setLevel(level)


def _quiet_library_deprecations() -> None:
    # transformers/peft deprecation notices about each other's internals tell a ladder user
    # nothing they can act on, and they break the progress display mid-line.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft|torch)\b")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(transformers|peft|torch)\b")

TaskArg = Annotated[Path, typer.Argument(metavar="TASK.yaml", help="Path to the task's task.yaml.")]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Folder holding ladder.sqlite and one folder per run.")]


def fail(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        err.print(line, markup=False, highlight=False)
    return typer.Exit(code)


class Scenario(str, Enum):
    target = "target"
    budget = "budget"
    frontier = "frontier"


def advice_help(field: str) -> str:
    from ladder.diagnosis.recommend import AdviceOptions

    return AdviceOptions.model_fields[field].description or ""


def load_task_or_exit(task_path: Path):  # -> Task
    from ladder.task import DataError, TaskError, load_task

    try:
        return load_task(task_path)
    except TaskError as e:
        raise fail([f"error: {e.file}: {p}" for p in e.problems]) from None
    except DataError as e:
        raise fail([f"error: {p}" for p in e.problems] + [f"{len(e.problems)} problem(s) in the data files"]) from None


def open_run(run: str | None, runs_dir: Path):  # -> tuple[Store, str]
    """The store and run id that `RUN` names: a run folder (runs/<id>), a run id in `runs_dir`, or
    (None) the newest run there. The id is checked against the store's runs, never used as a path."""
    from ladder.tracking.store import STORE_FILE, Store

    if run is not None and (Path(run).parent / STORE_FILE).is_file() and Path(run).is_dir():
        runs_dir, run = Path(run).parent, Path(run).name
    if not (runs_dir / STORE_FILE).is_file():  # checked first: opening a Store would create an empty one
        raise fail([f"error: {runs_dir}: no {STORE_FILE} here (pass --runs-dir, or a run folder runs/<id>)"])
    store = Store(runs_dir)
    ids = [r["id"] for r in store.runs()]
    if run is None and ids:
        return store, ids[-1]
    if run in ids:
        return store, run
    store.close()
    if not ids:
        raise fail([f"error: {runs_dir}: the store has no runs"])
    raise fail([f"error: no run {run!r} in {runs_dir}; runs: {', '.join(ids[-5:])}"])
