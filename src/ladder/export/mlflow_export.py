"""Export a climb to an MLflow tracking store: one parent run per climb, one nested run per rung.

    parent (tag ladder.run_id)     params: model, target, volume, prices; tags: the recommendation
      artifacts: summary.json, frontier.png, report.md, report.html
      nested run per rung          params: its options, kind, description; metrics: quality and its
                                   interval, accuracies, cost per 1K requests, build cost, tokens, latency
        artifacts: examples.csv (one row per eval example), adapter/ (a fine-tuned rung's LoRA folder)

Everything comes from the store (like the report) plus the adapter folders the store names.
Exporting a run again replaces what an earlier export made of it: once the new export is
complete, the earlier parent and its nested runs are deleted (MLflow's soft delete), so an
experiment never lists a climb twice, and a failed re-export leaves the earlier one in place.

The MlflowClient API is used rather than mlflow's fluent one: it sets no global active run and
records no context tags (command line, user, environment), so nothing beyond what is listed above,
and never a key, reaches the tracking store.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import unquote, urlparse

from ladder.diagnosis.teacher import TEACHER_KIND
from ladder.report import summarize, write_report
from ladder.scoring import METRICS, outcome
from ladder.tracking.store import GenerationRow, RungRow, Store

INSTALL_HINT = "pip install 'ladder[mlflow]'"
RUN_TAG = "ladder.run_id"  # on the parent and every nested run: what an export is found by
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag for nesting
PARAM_CHARS = 500  # MLflow accepts longer values, but a parameter is a label, not a document

# summary.json's rung figures exported as metrics (None and non-numbers are left out)
RUNG_METRICS = (
    "quality", "dev_quality", "form_accuracy", "knowledge_accuracy", "overall_accuracy",
    "cost_per_1k_requests", "cost_at_volume", "build_money", "build_seconds", "build_tokens",
    "build_call_tokens", "prompt_tokens", "completion_tokens", "latency_s", "eval_seconds",
    "n", "n_dev", "n_errors", "n_unscored", "n_failed", "coverage", "cached_share",
)


class MlflowMissing(RuntimeError):
    """mlflow is not installed: the export needs the optional extra."""


@dataclass(frozen=True)
class Exported:
    experiment_id: str
    parent_run_id: str
    rung_run_ids: dict[str, str]  # rung name -> its nested MLflow run
    replaced: tuple[str, ...]  # parent runs of an earlier export of this climb, now deleted


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MlflowMissing(f"exporting to MLflow needs the mlflow package: {INSTALL_HINT}") from None
    return MlflowClient(tracking_uri=tracking_uri)


def _params(values: Mapping[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    return [Param(k, v) for k, v in _flatten("", values)]


def _metrics(values: Mapping[str, float], timestamp: int) -> list[Any]:
    from mlflow.entities import Metric

    return [Metric(k, v, timestamp, 0) for k, v in values.items()]


def default_artifact_location(tracking_uri: str) -> str | None:
    """For a SQLite file store, `mlartifacts/` beside the database file (MLflow's own default is
    relative to the current folder, so the artifacts would land wherever the command ran)."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme != "sqlite" or not parsed.path or parsed.path == "/:memory:":
        return None
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db"
    db = Path(unquote(parsed.path[1:]))
    return (db.resolve().parent / "mlartifacts").as_uri()


def _millis(iso: str | None) -> int | None:
    return None if not iso else int(datetime.fromisoformat(iso).timestamp() * 1000)


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    """Nested options as dotted MLflow parameters, e.g. retriever.top_k=3."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        text = "" if value is None else str(value)
        yield prefix, text if len(text) <= PARAM_CHARS else text[: PARAM_CHARS - 1] + "…"


def _experiment(client: Any, name: str, tracking_uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    return client.create_experiment(name, artifact_location=default_artifact_location(tracking_uri))


def _earlier_exports(client: Any, experiment_id: str, run_id: str) -> list[Any]:
    return client.search_runs([experiment_id], filter_string=f"tags.`{RUN_TAG}` = '{run_id}'", max_results=10000)


def _rung_options(row: RungRow, spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The options the rung was climbed with: recorded with the rung since the climb records them,
    else what task.yaml's `rungs:` said for it (defaults left out)."""
    recorded = row.candidate.get("options")
    if isinstance(recorded, Mapping):
        return recorded
    configured = spec.get("rungs") or {}
    return configured.get(row.rung) or configured.get(row.rung.split("(")[0]) or {}


def _example_rows(gens: list[GenerationRow], metric: str, dev_ids: set[str]) -> list[dict[str, Any]]:
    checks = sorted({a.name for g in gens for a in g.assessments})
    rows = []
    for g in gens:
        verdicts = {a.name: a.verdict for a in g.assessments}
        rows.append({
            "example_id": g.example_id, "split": "dev" if g.example_id in dev_ids else "test",
            "input": g.input, "expected": g.expected, "output": g.output,
            "target": outcome(g, metric), **{tag: outcome(g, tag) for tag in METRICS},
            **{f"check:{name}": {True: "pass", False: "fail"}.get(verdicts.get(name), "") for name in checks},
            "error": g.error or "", "prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens,
            "latency_s": g.latency_s, "cached": g.cached,
        })
    return rows


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["example_id"])
        writer.writeheader()
        writer.writerows(rows)


def _note(entry: Mapping[str, Any]) -> str:
    """A rung's MLflow note (markdown): what it is, and how it was built where that was recorded."""
    built = f"build: {entry['build_notes']}" if entry.get("build_notes") else ""
    return "\n\n".join(part for part in (entry["description"], built) if part)


def _rung_metrics(entry: Mapping[str, Any]) -> dict[str, float]:
    metrics = {k: float(entry[k]) for k in RUNG_METRICS
               if isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)}
    for name, bounds in (("quality", entry.get("quality_ci")),
                         *((m, entry.get(f"{m}_ci")) for m in ("form_accuracy", "knowledge_accuracy",
                                                               "overall_accuracy"))):
        if bounds:  # the 95% interval of a proportion (summary.json's interval_method)
            metrics[f"{name}_ci_low"], metrics[f"{name}_ci_high"] = float(bounds[0]), float(bounds[1])
    return metrics


def export_run(store: Store, run_id: str, tracking_uri: str, experiment: str | None = None,
               on_status: Callable[[str], None] = lambda _m: None) -> Exported:
    """Export run `run_id` of `store` to the MLflow tracking store at `tracking_uri`, in the
    experiment `experiment` (default: the task's name), replacing an earlier export of it.

    Raises MlflowMissing without mlflow, KeyError for an unknown run."""
    client = _client(tracking_uri)
    summary = summarize(store, run_id)
    run = summary["run"]
    spec = store.run(run_id)["spec"]
    dev_ids = set((spec.get("selection") or {}).get("dev_ids") or ())
    experiment_id = _experiment(client, experiment or run["task_name"], tracking_uri)

    earlier = _earlier_exports(client, experiment_id, run_id)  # deleted once the new export is complete

    started, finished = _millis(run["started_at"]), _millis(run["finished_at"])
    rec = summary["recommendation"]
    parent = client.create_run(experiment_id, start_time=started, run_name=run_id, tags={
        RUN_TAG: run_id, "ladder.task": run["task_name"], "ladder.status": run["status"],
        "ladder.recommended_rung": str(rec.get("rung")), "ladder.meets_target": str(rec.get("meets_target")),
        "ladder.frontier": ",".join(summary["frontier"]),
    }).info.run_id
    params = {"model": run["model"], "target_metric": run["target_metric"], "target_value": run["target_value"],
              "volume": run["volume"], "budget": run["budget"], "scenario": run["scenario"],
              "interval_method": run["interval_method"], "prices": run["prices"]}
    recommended = next((r for r in summary["rungs"] if r["rung"] == rec.get("rung")), None)
    headline = {} if recommended is None else {  # the parent's row in MLflow's run list
        f"recommended_{k}": v for k, v in _rung_metrics(recommended).items()
        if k in ("quality", "quality_ci_low", "quality_ci_high", "cost_per_1k_requests", "build_money")}
    client.log_batch(parent, params=_params(params), metrics=_metrics(headline, finished or started or 0))

    rows = {(r.position, r.rung): r for r in store.rung_results(run_id) if r.kind != TEACHER_KIND}
    nested: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ladder-mlflow-") as tmp:
        report_dir = Path(tmp) / "report"
        for path in write_report(store, run_id, report_dir).values():
            client.log_artifact(parent, str(path))
        for entry in summary["rungs"]:
            row = rows[(entry["position"], entry["rung"])]
            child = client.create_run(experiment_id, start_time=started, run_name=entry["rung"], tags={
                PARENT_TAG: parent, RUN_TAG: run_id, "ladder.rung": entry["rung"], "ladder.kind": entry["kind"],
                "ladder.status": entry["status"], "ladder.on_frontier": str(entry.get("on_frontier", False)),
                "mlflow.note.content": entry["error"] or _note(entry),
            }).info.run_id
            nested[entry["rung"]] = child
            rung_params = {"kind": entry["kind"], "description": entry["description"],
                           "options": _rung_options(row, spec)}
            client.log_batch(child, params=_params(rung_params),
                             metrics=_metrics(_rung_metrics(entry), finished or started or 0))
            if entry["status"] == "ok":
                table = Path(tmp) / str(entry["position"]) / "examples.csv"
                table.parent.mkdir(parents=True)
                _write_csv(_example_rows(store.generations(row.id), run["target_metric"], dev_ids), table)
                client.log_artifact(child, str(table))
            adapter = row.candidate.get("adapter")
            if adapter:
                if Path(adapter).is_dir():
                    client.log_artifacts(child, adapter, artifact_path="adapter")
                else:
                    client.set_tag(child, "ladder.adapter_missing", str(adapter))
                    on_status(f"{entry['rung']}: adapter folder {adapter} is gone; exported without it")
            client.set_terminated(child, "FAILED" if entry["status"] == "failed" else "FINISHED", end_time=finished)
    # a climb that was interrupted (or is still running, or was killed) did not finish: its tag says which
    client.set_terminated(parent, "FINISHED" if run["status"] == "finished" else "KILLED", end_time=finished)
    for old in earlier:
        client.delete_run(old.info.run_id)
    parents = tuple(r.info.run_id for r in earlier if PARENT_TAG not in r.data.tags)
    if parents:
        on_status(f"replaced the earlier export of {run_id} ({', '.join(parents)})")
    return Exported(experiment_id, parent, nested, parents)
