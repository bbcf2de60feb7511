"""`ladder export`: a recorded run into another tool (MLflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import app, err, fail, out

export_app = typer.Typer(help="Export a recorded run to another tool.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("mlflow")
def export_mlflow(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A run id (in --runs) or a run folder, e.g. `runs/<run id>`.")],
    tracking_uri: Annotated[str, typer.Option(
        help="MLflow tracking URI, e.g. sqlite:///mlflow.db (artifacts go to mlartifacts/ beside it) "
             "or http://host:5000.")],
    experiment: Annotated[Optional[str], typer.Option(help="MLflow experiment (default: the task's name).")] = None,
    runs: Annotated[Path, typer.Option("--runs", help="Folder holding ladder.sqlite, when RUN is a run id.")] = Path("runs"),
) -> None:
    """One parent MLflow run for the climb (report, summary.json, frontier.png), one nested run per
    rung (options as params; quality with its interval, cost, tokens, latency as metrics; the
    per-example table; a fine-tuned rung's adapter). Exporting a run again replaces its earlier export."""
    from ladder.export.mlflow_export import MlflowMissing, export_run
    from ladder.tracking.store import STORE_FILE, Store

    folder = Path(run)
    # a path whose folder holds a store is a run folder; a bare name is a run id in --runs
    store_dir, run_id = (folder.parent, folder.name) if len(folder.parts) > 1 and (folder.parent / STORE_FILE).exists() \
        else (runs, run)
    if not (store_dir / STORE_FILE).exists():
        raise fail([f"error: no {STORE_FILE} in {store_dir}; pass --runs DIR or a run folder"])
    store = Store(store_dir)
    try:
        store.run(run_id)
    except KeyError as e:
        raise fail([f"error: {e.args[0]}"]) from None
    try:
        done = export_run(store, run_id, tracking_uri, experiment, on_status=lambda m: err.print(m, markup=False))
    except MlflowMissing as e:
        raise fail([f"error: {e}"]) from None
    out.print(f"exported {run_id} to {tracking_uri}: experiment {done.experiment_id}, parent run "
              f"{done.parent_run_id}, {len(done.rung_run_ids)} rung run(s)", markup=False, highlight=False)
