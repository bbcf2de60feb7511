"""`ladder data ...`: check, validate, convert and import training data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import TaskArg, fail, load_task_or_exit, data_app, out


@data_app.command("check")
def data_check(task: TaskArg) -> None:
    """Load a task and its data files; report every problem as file:line, including every eval row
    that no check of the target metric's tag can score. Eval rows that are near-duplicates of a
    training row (similar input, same answer) are warned about as `eval file:line ~ train file:line`.
    Exit code 0 clean, 1 near-duplicates found (the task still runs, but those rows measure recall
    of the training data), 2 the task does not load."""
    from ladder.task.near_duplicates import near_duplicates

    loaded = load_task_or_exit(task)
    out.print(f"ok: {loaded.name}: {len(loaded.train)} train, {len(loaded.eval)} eval examples, "
              f"{len(loaded.checks)} task checks")
    dev = len(loaded.dev_ids)
    _say([f"selection: rungs are chosen on {dev} dev rows and reported on the other {len(loaded.eval) - dev}" if dev
          else "selection: no dev split (data.dev or selection.dev_fraction): the winner's figure will be optimistic"])
    pairs = near_duplicates(loaded.train, loaded.eval)
    if pairs:
        _say([f"warning: {p.line()}" for p in pairs])
        rows = len({p.eval.id for p in pairs})
        _say([f"{rows} of {len(loaded.eval)} eval row(s) near-duplicate a training row"])
        raise typer.Exit(1)


class _Target(str, Enum):
    openai = "openai"
    alpaca = "alpaca"
    sharegpt = "sharegpt"


def _say(lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@data_app.command("validate")
def data_validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A JSONL training-data file (openai, alpaca, sharegpt, ...).")],
    model: Annotated[Optional[str], typer.Option(
        help="Local model whose tokenizer and context count the tokens (default: the task's, else smollm2-135m-instruct).")] = None,
    task: Annotated[Optional[Path], typer.Option(
        help="A task.yaml to take the model and prices.train_per_1m_tokens from.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        help="Longest example allowed, in tokens (default: the model's context).", min=1)] = None,
    epochs: Annotated[int, typer.Option(help="Epochs, for the cost estimate.", min=1)] = 3,
    price_per_1m: Annotated[Optional[float], typer.Option(
        "--price-per-1m", help="Price per 1M training tokens, for the cost estimate.", min=0)] = None,
) -> None:
    """Check a fine-tuning data file line by line: file:line: code: message for every problem, then
    accepted/rejected counts, token statistics and an estimated training cost.
    Exit code 0 clean, 1 problems found, 2 unreadable."""
    from ladder.task.spec import TaskError
    from ladder.task.yaml_file import parse_task_yaml
    from ladder.task.validate import TokenCounter, validate_file

    currency = "USD"
    if task is not None:
        try:
            spec = parse_task_yaml(task)
        except TaskError as e:
            raise fail([f"error: {e.file}: {p}" for p in e.problems]) from None
        if model is None and spec.model.backend == "local":
            model = str(task.parent / spec.model.path) if spec.model.path is not None else spec.model.name
        if price_per_1m is None:
            price_per_1m = spec.prices.train_per_1m_tokens
        currency = spec.prices.currency
    model = model or "smollm2-135m-instruct"
    if not file.is_file():
        raise fail([f"{file}: unreadable: {'not a file' if file.exists() else 'file not found'}"])
    from ladder.backends.local_models import ModelNotFound

    try:
        counter = TokenCounter.for_model(model)
    except ModelNotFound as e:
        raise fail([f"error: --model: {e}"]) from None
    report = validate_file(file, counter, max_tokens, epochs, price_per_1m, currency)
    _say(report.lines())
    raise typer.Exit(report.exit_code)


@data_app.command("convert")
def data_convert(
    src: Annotated[Path, typer.Argument(metavar="IN", help="A JSONL data file in any format ladder reads, or a CSV/TSV table of such records.")],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write the converted JSONL.")],
    to: Annotated[_Target, typer.Option(help="Target format.")],
) -> None:
    """Convert a data file to openai, alpaca or sharegpt JSONL. Nothing is written if any line is broken
    or would lose information (exit 1); exit 2 if IN is unreadable."""
    from ladder.task.convert import convert_file

    result = convert_file(src, dst, to.value)
    if result.unreadable:
        raise fail([result.unreadable])
    _say(result.problems)
    if result.problems:
        _say([f"{len(result.problems)} problem(s); nothing written"])
    else:
        read = ", ".join(f"{n} {fmt}" for fmt, n in result.formats_read.items())
        _say([f"{dst}: {result.written} {to.value} row(s) written (read {read})"])
    raise typer.Exit(result.exit_code)


@data_app.command("from-logs")
def data_from_logs(
    src: Annotated[Path, typer.Argument(metavar="IN", help=(
        "Logged OpenAI chat-completions calls (JSONL of {request, response}), or a runs folder "
        "holding ladder.sqlite."))],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write OpenAI chat JSONL.")],
    run: Annotated[Optional[str], typer.Option(help="Run id in the store (default: the latest run).")] = None,
    rung: Annotated[Optional[str], typer.Option(help="Only this rung's generations (store only).")] = None,
    passed_only: Annotated[bool, typer.Option(
        "--passed-only", help="Only outputs whose every recorded check passed (store only).")] = False,
    min_rating: Annotated[Optional[float], typer.Option(
        help="Only outputs rated at least this (a log line's `rating`; in a store, the mean of the people's "
             "1-5 ratings given in `ladder review`).")] = None,
    include_eval: Annotated[bool, typer.Option(
        "--include-eval", help="Write a run's generations although they answer its eval examples (store only; "
                               "refused by default: a fine-tune must not train on its own test).")] = False,
) -> None:
    """Turn logged requests and responses, or a run's recorded generations, into chat JSONL training
    data. Only answers that finished normally are kept; duplicates are written once."""
    from ladder.task.from_logs import LogError, import_logs

    try:
        result = import_logs(src, dst, run_id=run, rung=rung, passed_only=passed_only, min_rating=min_rating,
                             include_eval=include_eval)
    except LogError as e:
        raise fail([f"error: {e}"]) from None
    _say(result.lines(dst))
    raise typer.Exit(1 if result.problems or not result.written else 0)


class _PreferenceFormat(str, Enum):
    openai = "openai"
    trl = "trl"


@data_app.command("preferences")
def data_preferences(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A run folder (`runs/<id>`) or a run id in --runs-dir.")],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write the preference pairs (JSONL).")],
    runs_dir: Annotated[Path, typer.Option(
        "--runs-dir", "--runs", help="Folder holding ladder.sqlite and one folder per run.")] = Path("runs"),
    fmt: Annotated[_PreferenceFormat, typer.Option(
        "--format", help="openai: OpenAI's preference fine-tuning rows (input/preferred_output/non_preferred_output); "
                         "trl: prompt/chosen/rejected.")] = _PreferenceFormat.openai,
    include_eval: Annotated[bool, typer.Option(
        "--include-eval", help="Write pairs although their inputs are the run's eval examples (refused by default: "
                               "a fine-tune must not train on its own test).")] = False,
) -> None:
    """Write the people's blind A/B choices of a run (`ladder review`) as DPO preference pairs: one per
    pair of answers with a winner (a tie or 'both bad' makes no pair). Exit code 0 written, 1 nothing
    to write (every pair skipped, with the reasons), 2 bad input."""
    from ladder.cli.app import open_run
    from ladder.task.preferences import export_preferences

    store, run_id = open_run(run, runs_dir)
    with store:
        result = export_preferences(store, run_id, dst, fmt.value, include_eval=include_eval)
    _say(result.lines(dst))
    raise typer.Exit(0 if result.written else 1)
