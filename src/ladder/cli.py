"""The `ladder` command: thin wrappers over library functions.

Exit codes: 0 success, 2 bad input (task.yaml, data files, options) or a failed run.
`ladder climb` and `ladder recommend` (usable in CI): 0 target met, 1 target not met, 2 error.
"""

from __future__ import annotations

import sys
from enum import Enum
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


class _Scenario(str, Enum):
    target = "target"
    budget = "budget"
    frontier = "frontier"


def _advice_help(field: str) -> str:
    from ladder.diagnosis.recommend import AdviceOptions

    return AdviceOptions.model_fields[field].description or ""


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
    all_rungs: Annotated[bool, typer.Option(
        "--all", help="Climb every rung, even after one meets the target (default: stop there).")] = False,
) -> None:
    """Evaluate the task on every rung, cheapest first, and record quality and cost.
    Exit code 0 target met, 1 target not met, 2 error (bad input or a failed rung)."""
    from ladder.climb import climb as run_climb
    from ladder.climb import make_backend, select_rungs
    from ladder.tracking.store import Store

    loaded = _load(task)
    only = [r.strip() for r in rungs.split(",") if r.strip()] if rungs else None
    try:
        select_rungs(loaded, only)  # fail on bad rung names/options before loading anything
        backend = make_backend(loaded)  # a bad endpoint or a missing key fails here, by name
        if loaded.spec.teacher is not None and loaded.spec.teacher.backend != "local":
            make_backend(loaded, loaded.spec.teacher)  # likewise for the teacher's
    except ValueError as e:
        raise _fail([f"error: {task}: {e}"]) from None
    store = Store(runs_dir)
    err.print(f"climbing [bold]{loaded.name}[/bold]: {len(loaded.train)} train, {len(loaded.eval)} eval examples")
    result = run_climb(loaded, store, backend=backend, only=only, console=err, all_rungs=all_rungs)
    err.print(
        f"climb finished in {result.seconds:.1f}s; model calls: {result.cache_misses} made, "
        f"{result.cache_hits} answered from cache"
    )
    if report:
        summary = _write_report(store, result.run_id, result.run_dir)
    else:
        from ladder.report import summarize

        summary = summarize(store, result.run_id)
        _print_summary(summary)
    out.print(f"run: {result.run_dir}")
    if any(o.status == "failed" for o in result.outcomes):
        failed = ", ".join(o.rung for o in result.outcomes if o.status == "failed")
        raise _fail([f"error: rung(s) failed: {failed} (see the log above)"])
    raise typer.Exit(0 if summary["recommendation"]["meets_target"] else 1)


def _write_report(store, run_id: str, run_dir: Path) -> dict:
    from ladder.report import summarize, write_report

    paths = write_report(store, run_id, run_dir)
    summary = summarize(store, run_id)
    _print_summary(summary)
    out.print(f"report: {paths['html']}")
    return summary


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
    _print_advice(summary)


def _print_advice(summary: dict) -> None:
    """Recommended rung, why, next step, and whether the lead is measurable: one screen."""
    from ladder.report.fmt import advice_lines

    for line in advice_lines(summary):
        if not line.startswith("Power estimate:"):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    counts = {d["rung"]: d["counts"] for d in summary.get("diagnosis", [])}
    rec = summary["recommendation"]["rung"]
    if counts.get(rec):
        out.print(f"failures of {rec} by class: " + ", ".join(f"{c} {n}" for c, n in counts[rec].items()),
                  markup=False, highlight=False, soft_wrap=True)


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


@app.command()
def recommend(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<run id>.")],
    target: Annotated[Optional[float], typer.Option(help=_advice_help("target"), min=0, max=1)] = None,
    volume: Annotated[Optional[int], typer.Option(help=_advice_help("volume"), min=0)] = None,
    scenario: Annotated[_Scenario, typer.Option(help=_advice_help("scenario"))] = "target",  # type: ignore[assignment]
    budget: Annotated[Optional[float], typer.Option(help=_advice_help("budget"), min=0)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the advice as JSON instead of text.")] = False,
) -> None:
    """Recompute the advice for a recorded run from the store alone (nothing is re-run).
    Exit code 0 target met, 1 target not met, 2 error."""
    import json

    from ladder.diagnosis import AdviceOptions
    from ladder.report import summarize
    from ladder.tracking.store import Store

    try:
        store = Store.for_run_dir(run_dir)
        store.run(run_dir.name)
    except (FileNotFoundError, KeyError) as e:
        raise _fail([f"error: {e}"]) from None
    options = AdviceOptions(scenario=_Scenario(scenario).value, target=target, volume=volume, budget=budget)
    summary = summarize(store, run_dir.name, options)
    if json_out:
        out.print_json(json.dumps({"recommendation": summary["recommendation"], "break_even": summary["break_even"],
                                   "diagnosis": [{k: d[k] for k in ("rung", "counts", "dominant", "next_step")}
                                                 for d in summary["diagnosis"]]}))
    else:
        _print_summary(summary)
    raise typer.Exit(0 if summary["recommendation"]["meets_target"] else 1)


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


class _Target(str, Enum):
    openai = "openai"
    alpaca = "alpaca"
    sharegpt = "sharegpt"


def _say(lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@data_app.command("validate")
def data_validate(
    file: Annotated[Path, typer.Argument(help="A JSONL training-data file (openai, alpaca, sharegpt, ...).")],
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
    from ladder.task.spec import TaskError, parse_task_yaml
    from ladder.task.validate import TokenCounter, validate_file

    currency = "USD"
    if task is not None:
        try:
            spec = parse_task_yaml(task)
        except TaskError as e:
            raise _fail([f"error: {e.file}: {p}" for p in e.problems]) from None
        if model is None and spec.model.backend == "local":
            model = spec.model.name
        if price_per_1m is None:
            price_per_1m = spec.prices.train_per_1m_tokens
        currency = spec.prices.currency
    model = model or "smollm2-135m-instruct"
    if not file.is_file():
        raise _fail([f"{file}: unreadable: {'not a file' if file.exists() else 'file not found'}"])
    from ladder.backends.local import ModelNotFound

    try:
        counter = TokenCounter.for_model(model)
    except ModelNotFound as e:
        raise _fail([f"error: --model: {e}"]) from None
    report = validate_file(file, counter, max_tokens, epochs, price_per_1m, currency)
    _say(report.lines())
    raise typer.Exit(report.exit_code)


@data_app.command("convert")
def data_convert(
    src: Annotated[Path, typer.Argument(metavar="IN", help="A JSONL data file in any format ladder reads.")],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="Where to write the converted JSONL.")],
    to: Annotated[_Target, typer.Option(help="Target format.")],
) -> None:
    """Convert a data file to openai, alpaca or sharegpt JSONL. Nothing is written if any line is broken
    or would lose information (exit 1); exit 2 if IN is unreadable."""
    from ladder.task.convert import convert_file

    result = convert_file(src, dst, to.value)
    if result.unreadable:
        raise _fail([result.unreadable])
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
        help="Only outputs rated at least this (a log line's `rating`, or the store's ratings table).")] = None,
) -> None:
    """Turn logged requests and responses, or a run's recorded generations, into chat JSONL training
    data. Only answers that finished normally are kept; duplicates are written once."""
    from ladder.task.from_logs import LogError, import_logs

    try:
        result = import_logs(src, dst, run_id=run, rung=rung, passed_only=passed_only, min_rating=min_rating)
    except LogError as e:
        raise _fail([f"error: {e}"]) from None
    _say(result.lines(dst))
    raise typer.Exit(1 if result.problems or not result.written else 0)



def _serve_help(field: str) -> str:
    from ladder.serve.app import ServeConfig

    return ServeConfig.model_fields[field].description or ""


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help=_serve_help("host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_serve_help("port"))] = 8321,
    model: Annotated[str, typer.Option(help=_serve_help("model"))] = "smollm2-135m-instruct",
    data_dir: Annotated[Optional[Path], typer.Option(help=_serve_help("data_dir"))] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help=_serve_help("api_key_env"))] = None,
    batch_size: Annotated[int, typer.Option(help=_serve_help("batch_size"))] = 8,
    rank: Annotated[int, typer.Option(help=_serve_help("rank"))] = 16,
    learning_rate: Annotated[float, typer.Option(help=_serve_help("learning_rate"))] = 1e-3,
    epochs: Annotated[int, typer.Option(help=_serve_help("epochs"))] = 2,
    train_batch_size: Annotated[int, typer.Option(help=_serve_help("train_batch_size"))] = 8,
    max_length: Annotated[int, typer.Option(help=_serve_help("max_length"))] = 512,
    test_faults: Annotated[bool, typer.Option(help=_serve_help("test_faults"))] = False,
) -> None:
    """Serve the local model over an OpenAI-compatible API: chat completions and managed fine-tuning."""
    from pydantic import ValidationError

    from ladder.serve.app import ServeConfig, serve
    from ladder.task.spec import format_validation_error

    try:
        config = ServeConfig(host=host, port=port, model=model, data_dir=data_dir, api_key_env=api_key_env,
                             batch_size=batch_size, rank=rank, learning_rate=learning_rate, epochs=epochs,
                             train_batch_size=train_batch_size, max_length=max_length, test_faults=test_faults)
        serve(config)
    except ValidationError as e:
        raise _fail([f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, ServeConfig)]) from None
    except ValueError as e:
        raise _fail([f"error: {e}"]) from None


def _ft_help(field: str) -> str:
    from ladder.training.openai_finetune import RemoteFinetuneConfig

    return RemoteFinetuneConfig.model_fields[field].description or ""


@app.command("finetune-remote")
def finetune_remote_cmd(
    data: Annotated[Optional[Path], typer.Argument(help="Training data: OpenAI chat JSONL (at least 10 examples).")] = None,
    model: Annotated[str, typer.Option(help=_ft_help("model"))] = "gpt-4o-mini",
    endpoint: Annotated[str, typer.Option(help=_ft_help("endpoint"))] = "openai",
    base_url: Annotated[Optional[str], typer.Option(help=_ft_help("base_url"))] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help=_ft_help("api_key_env"))] = None,
    epochs: Annotated[Optional[int], typer.Option(help=_ft_help("epochs"))] = None,
    batch_size: Annotated[Optional[int], typer.Option(help=_ft_help("batch_size"))] = None,
    learning_rate_multiplier: Annotated[Optional[float], typer.Option(help=_ft_help("learning_rate_multiplier"))] = None,
    suffix: Annotated[Optional[str], typer.Option(help=_ft_help("suffix"))] = None,
    seed: Annotated[Optional[int], typer.Option(help=_ft_help("seed"))] = None,
    poll_s: Annotated[float, typer.Option(help=_ft_help("poll_s"))] = 10.0,
    timeout_s: Annotated[Optional[float], typer.Option(help=_ft_help("timeout_s"))] = None,
    job: Annotated[Optional[str], typer.Option(help="Resume polling this existing job id instead of starting one.")] = None,
) -> None:
    """Fine-tune on a hosted OpenAI-compatible service: validate, upload, create a job, poll, print the model id."""
    from pydantic import ValidationError

    from ladder.task import DataError
    from ladder.task.spec import format_validation_error
    from ladder.training.openai_finetune import RemoteFinetuneConfig, RemoteFinetuneError, finetune_remote

    try:
        config = RemoteFinetuneConfig(
            endpoint=endpoint, base_url=base_url, api_key_env=api_key_env, model=model, epochs=epochs,
            batch_size=batch_size, learning_rate_multiplier=learning_rate_multiplier, suffix=suffix, seed=seed,
            poll_s=poll_s, timeout_s=timeout_s,
        )
        result = finetune_remote(data, config, job_id=job, on_event=lambda m: err.print(m, markup=False, highlight=False))
    except ValidationError as e:
        raise _fail([f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, RemoteFinetuneConfig)]) from None
    except DataError as e:
        raise _fail([f"error: {p}" for p in e.problems]) from None
    except (ValueError, RemoteFinetuneError) as e:
        raise _fail([f"error: {e}"]) from None
    cost = "" if result.cost is None else f", training cost ~{result.cost:.4f} (endpoint's listed price)"
    err.print(f"job {result.job_id} succeeded: {result.trained_tokens} trained tokens{cost}")
    out.print(f"fine_tuned_model: {result.fine_tuned_model}")
    out.print(f"use it in task.yaml:  model: {{backend: openai, endpoint: {endpoint}, name: {result.fine_tuned_model}}}",
              markup=False, highlight=False)


if __name__ == "__main__":
    app()
