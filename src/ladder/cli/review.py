"""`ladder review`: the human review app over a recorded run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import app, err, fail, open_run, out


def _help(field: str) -> str:
    from ladder.review.config import ReviewConfig

    return ReviewConfig.model_fields[field].description or ""


@app.command("review")
def review_cmd(
    run: Annotated[Optional[str], typer.Argument(
        metavar="RUN", help="A run folder (`runs/<id>`) or a run id in --runs-dir (default: the newest run).")] = None,
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

    from ladder.review.config import ReviewConfig
    from ladder.validation_errors import format_validation_error

    try:
        config = ReviewConfig(host=host, port=port, allow_remote=allow_remote, token_env=token_env)
    except ValidationError as e:
        raise fail([f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, ReviewConfig)]) from None
    store, run_id = open_run(run, runs_dir)
    token = os.environ.get(token_env) if token_env else None
    try:
        config.check(token)  # before the web stack is imported: a refused start is quick
        from ladder.review.app import review_server

        server = review_server(store, run_id, config, token)
    except (ValueError, OSError) as e:
        store.close()
        raise fail([f"error: {e}"]) from None
    err.print(f"reviewing run {run_id} of {store.path} (Ctrl-C stops)", markup=False, highlight=False)
    if token is not None and config.allow_remote:
        err.print(f"open {server.url}/?token=<the value of ${token_env}> once; the browser keeps it in a cookie",
                  markup=False, highlight=False)
    out.print(server.url, markup=False, highlight=False)
    server.run()
