"""The climb's events drawn on the terminal: a Rich progress bar per training and eval, and a
log line for each status, skip and finished rung. The library itself never writes to the terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ladder.events import (ClimbEvent, EvalProgress, JudgeProgress, RungFinished, RungSkipped, RungStarted,
                           Status, TrainStep)


class ClimbProgress:
    """A listener for climb(on_event=...): use it as a context manager around the climb so its bars
    are drawn live; outside one it still logs every line."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        )
        self._train: dict[str, TaskID] = {}
        self._eval: dict[str, TaskID] = {}
        self._judge: dict[tuple[str, str], TaskID] = {}

    def __enter__(self) -> ClimbProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def __call__(self, event: ClimbEvent) -> None:
        match event:
            case Status(message=message, rung=rung, level=level):
                text = escape(message if rung is None else f"{rung}: {message}")
                self._log(f"[yellow]{text}[/yellow]" if level == "warning" else text)
            case TrainStep(rung=rung, step=step, total=total, loss=loss):
                if rung not in self._train:
                    self._train[rung] = self.progress.add_task(f"{rung}: train", total=total)
                self.progress.update(self._train[rung], completed=step, description=f"{rung}: train loss {loss:.3f}")
            case EvalProgress(rung=rung, done=done, total=total):
                if rung not in self._eval:
                    self._eval[rung] = self.progress.add_task(f"{rung}: eval", total=total)
                self.progress.update(self._eval[rung], completed=done)
            case JudgeProgress(rung=rung, judge=judge, done=done, total=total):
                if (rung, judge) not in self._judge:
                    self._judge[rung, judge] = self.progress.add_task(escape(f"{rung}: judge {judge}"), total=total)
                self.progress.update(self._judge[rung, judge], completed=done)
            case RungSkipped(rung=rung, reason=reason):
                self._log(escape(f"{rung}: skipped: {reason}"))
            case RungFinished(outcome=outcome, traceback=trace):
                if outcome.status == "failed":
                    self._log(f"[red]{escape(outcome.rung)} failed while preparing:[/red] {escape(outcome.error or '')}")
                    if trace:
                        self._log(escape(trace))
                self._log(escape(f"{outcome.rung}: {outcome.status} in {outcome.seconds:.1f}s"))
            case RungStarted():
                pass  # its bars appear with its first training step or eval row

    def _log(self, text: str) -> None:
        self.console.log(text)
