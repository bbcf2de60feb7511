"""`ladder review`: the human review app over a recorded run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import app, err, fail, out


def _help(field: str) -> str:
    from ladder.review.app import ReviewConfig

    return ReviewConfig.model_fields[field].description or ""


def resolve_run(run: str | None, runs_dir: Path):  # -> tuple[Store, str]
    """The store and run id that `RUN` names: a run folder (runs/<id>), a run id in `runs_dir`, or
    (None) the newest run there. The id is checked against the store's runs, never used as a path."""
    from ladder.tracking.store import STORE_FILE, Store

    if run is not None and (Path(run).parent / STORE_FILE).is_file() and Path(run).is_dir():
        runs_dir, run = Path(run).parent, Path(run).name
    if not (runs_dir / STORE_FILE).is_file():  # checked first: opening a Store would create an empty one
        raise fail([f"error: {runs_dir}: no {STORE_FILE} here (pass --runs-dir, or a run folder runs/<id>)"])
    store = Store(runs_dir)
    ids = [r["id"] for r in store.runs()]
    if not ids:
        raise fail([f"error: {runs_dir}: the store has no runs"])
    if run is None:
        return store, ids[-1]
    if run not in ids:
        raise fail([f"error: no run {run!r} in {runs_dir}; runs: {', '.join(ids[-5:])}"])
    return store, run


@app.command("review")
def review_cmd(
    run: Annotated[Optional[str], typer.Argument(
        help="A run folder (runs/<id>) or a run id in --runs-dir (default: the newest run).")] = None,
    runs_dir: Annotated[Path, typer.Option(
        "--runs-dir", "--runs", help="Folder holding ladder.sqlite and one folder per run.")] = Path("runs"),
    host: Annotated[str, typer.Option(help=_help("host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_help("port"))] = 0,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help=_help("allow_remote"))] = False,
    token_env: Annotated[Optional[str], typer.Option(help=_help("token_env"))] = None,
) -> None:
    """Start the human review app on a run: rate answers, choose between two rungs' answers blind,
    browse the results. Every label is stored in the run store the moment it is given."""
    from pydantic import ValidationError

    from ladder.review.app import ReviewConfig, review_server
    from ladder.task.spec import format_validation_error

    try:
        config = ReviewConfig(host=host, port=port, allow_remote=allow_remote, token_env=token_env)
    except ValidationError as e:
        raise fail([f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, ReviewConfig)]) from None
    store, run_id = resolve_run(run, runs_dir)
    token = os.environ.get(token_env) if token_env else None
    try:
        server = review_server(store, run_id, config, token)
    except (ValueError, OSError) as e:
        raise fail([f"error: {e}"]) from None
    err.print(f"reviewing run {run_id} of {store.path} (Ctrl-C stops)", markup=False, highlight=False)
    if token is not None and config.allow_remote:
        err.print(f"open {server.url}/?token=<the value of ${token_env}> once; the browser keeps it in a cookie",
                  markup=False, highlight=False)
    out.print(server.url, markup=False, highlight=False)
    server.run()
