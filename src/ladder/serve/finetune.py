"""The managed fine-tuning API of `ladder serve`: /v1/fine_tuning/jobs.

It follows OpenAI's wire format and job life cycle: a created job is `validating_files` (the
training file, and the validation file if one is given, are checked with `ladder data validate`'s
rules and must be OpenAI chat JSONL; fewer than 10 training examples fail, as on OpenAI), then
`queued`, then `running` (a real LoRA adapter is trained with ladder.training, one job at a time,
in a background thread), then `succeeded` with a `fine_tuned_model` id that
/v1/chat/completions answers with that adapter, or `failed` / `cancelled`. Events carry progress
messages and per-step training loss (type "metrics"); with a validation file, the validation
loss of the trained adapter.

As on OpenAI, every assistant message is trained on unless it carries `weight: 0`.

Jobs, events and `ft:` ids live in the server's SQLite state (serve/state.py): after a restart
every job and model is still there, and a job that was queued or running when the server
stopped is queued again (training resumes from its last checkpoint). A training failure's
detail goes to the server's log only; the job's error names the job.
"""

import logging
import math
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from ladder.serve.state import ServeState
from ladder.types import Message

MIN_EXAMPLES = 10  # OpenAI's minimum for a fine-tuning file
TERMINAL = ("succeeded", "failed", "cancelled")
ACTIVE = ("validating_files", "queued", "running")
log = logging.getLogger("ladder.serve")


class _Cancelled(Exception):
    pass


def read_training_file(path: Path, min_examples: int = MIN_EXAMPLES) -> list[tuple[tuple[Message, ...], list[bool]]]:
    """(chat, trained flag per message) of an uploaded OpenAI chat file; ValueError naming the
    problems by line (at most five) when `ladder data validate` would reject it."""
    from ladder.task.datasets import DataError
    from ladder.task.validate import read_openai_chats

    try:
        conversations = read_openai_chats(path, min_examples=min_examples, where="line")
    except DataError as e:
        more = f" (+{len(e.problems) - 5} more)" if len(e.problems) > 5 else ""
        raise ValueError("; ".join(p.removeprefix("line: ") for p in e.problems[:5]) + more) from None
    return [(tuple(Message(t.role, t.content) for t in c.turns),
             [t.role == "assistant" and t.weight != 0 for t in c.turns]) for c in conversations]


def hyperparameters(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(method type, hyperparameters) from `method` or the older top-level `hyperparameters`."""
    method = body.get("method") or {}
    kind = method.get("type", "supervised") if isinstance(method, dict) else "supervised"
    inner = method.get(kind) if isinstance(method, dict) else None
    hyper = (inner or {}).get("hyperparameters") if isinstance(inner, dict) else None
    hyper = hyper or body.get("hyperparameters") or {}
    return kind, dict(hyper) if isinstance(hyper, dict) else {"hyperparameters": hyper}


def check_hyperparameters(hyper: dict[str, Any], max_epochs: int) -> str | None:
    """Why these hyperparameters are refused (a message naming the field), or None."""
    for key, value in hyper.items():
        if key not in ("n_epochs", "batch_size", "learning_rate_multiplier"):
            return f"hyperparameters.{key}: unknown hyperparameter"
        if value == "auto":
            continue
        if key == "learning_rate_multiplier":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
                return f"hyperparameters.{key}: must be 'auto' or a positive number (got {value!r})"
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"hyperparameters.{key}: must be 'auto' or a positive integer (got {value!r})"
        elif key == "n_epochs" and value > max_epochs:
            return f"hyperparameters.n_epochs: at most {max_epochs} on this server (--max-epochs) (got {value})"
    return None


def validation_loss(model: Any, tokenizer: Any, rows: list[Any], batch_size: int) -> float:
    """Mean next-token loss per labelled token of `rows` under `model` (the trained adapter)."""
    import torch
    import torch.nn.functional as F

    from ladder.training.lora_sft import collate, labelled_logits, pad_id_of

    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = collate(rows[start : start + batch_size], pad_id_of(tokenizer))
            logits, targets, _ = labelled_logits(model, batch)
            total += float(F.cross_entropy(logits, targets, reduction="sum"))
            count += int(targets.numel())
    return total / count if count else math.nan


class FineTuning:
    """Jobs and their worker thread; files and state in `state`, adapters under its data dir."""

    def __init__(self, config: Any, state: ServeState, models: dict[str, str | None]):
        self.config = config
        self.state = state
        self.models = models
        self.cancel_requested: set[str] = set()
        self.lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closing = False
        for job in reversed(state.all("jobs")):  # oldest first: a restart keeps the queue's order
            if job["status"] in ACTIVE:
                self._event(job["id"], "Server restarted; job queued again")
                self._enqueue(job["id"])

    def _event(self, job_id: str, message: str, level: str = "info", data: dict[str, Any] | None = None) -> None:
        self.state.add_event(job_id, {
            "id": f"ftevent-{secrets.token_hex(10)}", "object": "fine_tuning.job.event",
            "created_at": int(time.time()), "level": level, "message": message,
            "data": data or {}, "type": "metrics" if data else "message",
        })

    def _set(self, job_id: str, **fields: Any) -> dict[str, Any]:
        return self.state.update("jobs", job_id, **fields)

    def _enqueue(self, job_id: str) -> None:
        with self.lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._loop, name="ladder-finetune", daemon=True)
                self._worker.start()
        self._queue.put(job_id)

    def active_jobs(self) -> int:
        return sum(j["status"] in ACTIVE for j in self.state.all("jobs"))

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, hyper = hyperparameters(body)
        job_id = f"ftjob-{secrets.token_hex(12)}"
        n_epochs = hyper.get("n_epochs", "auto")
        batch = hyper.get("batch_size", "auto")
        mult = hyper.get("learning_rate_multiplier", "auto")
        job = {
            "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None,
            "fine_tuned_model": None, "finished_at": None, "model": body["model"],
            "organization_id": "org-ladder", "result_files": [], "seed": int(body.get("seed") or 0),
            "status": "validating_files", "trained_tokens": None, "training_file": body["training_file"],
            "validation_file": body.get("validation_file"), "estimated_finish": None, "integrations": [],
            "metadata": body.get("metadata"), "user_provided_suffix": body.get("suffix"),
            "hyperparameters": {
                "n_epochs": self.config.epochs if n_epochs == "auto" else int(n_epochs),
                "batch_size": self.config.train_batch_size if batch == "auto" else int(batch),
                "learning_rate_multiplier": 1.0 if mult == "auto" else float(mult),
            },
        }
        job["method"] = {"type": kind, kind: {"hyperparameters": dict(job["hyperparameters"])}}
        self.state.put("jobs", job)
        self._event(job_id, f"Validating training file: {body['training_file']}")
        self._enqueue(job_id)
        return job

    def cancel(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self.state.get("jobs", job_id)
            assert job is not None
            if job["status"] not in TERMINAL:
                self.cancel_requested.add(job_id)
                if job["status"] in ("validating_files", "queued"):
                    job = self._set(job_id, status="cancelled", finished_at=int(time.time()))
            return job

    def close(self) -> None:
        """Stop the worker at its next step; a running job stays `running` and resumes on restart."""
        self._closing = True
        self._queue.put(None)

    # -- the worker -----------------------------------------------------------------------
    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                self._run(job_id)
            except _Cancelled:
                if self._closing:
                    return  # the server is stopping: the job is taken up again on restart
                self._set(job_id, status="cancelled", finished_at=int(time.time()))
                self._event(job_id, "Fine-tuning job cancelled")
            except Exception:  # a job failure is the job's, never the server's; its detail only in the log
                log.exception("fine-tuning job %s failed", job_id)
                message = f"training failed (job {job_id}); the server's log has the detail"
                self._set(job_id, status="failed", finished_at=int(time.time()),
                          error={"code": "training_failed", "message": message, "param": None})
                self._event(job_id, f"Fine-tuning job failed: {message}", level="error")

    def _check_cancel(self, job_id: str) -> None:
        if job_id in self.cancel_requested or self._closing:
            raise _Cancelled()

    def _fail_validation(self, job_id: str, param: str, error: str) -> None:
        self._set(job_id, status="failed", finished_at=int(time.time()),
                  error={"code": f"invalid_{param}", "message": error, "param": param})
        self._event(job_id, f"{param.replace('_', ' ').capitalize()} validation failed: {error}", level="error")

    def _run(self, job_id: str) -> None:
        from ladder.backends.local_models import load_model_and_tokenizer
        from ladder.training.lora_sft import LoraArgs, pad_id_of, tokenize_turns_for_sft, train_on_rows

        job = self.state.get("jobs", job_id)
        if job is None or job["status"] in TERMINAL:
            return
        self._check_cancel(job_id)
        try:
            train = read_training_file(self.state.file_path(job["training_file"]))
        except ValueError as e:
            return self._fail_validation(job_id, "training_file", str(e))
        valid: list[Any] = []
        if job.get("validation_file"):
            try:
                valid = read_training_file(self.state.file_path(job["validation_file"]), min_examples=1)
            except ValueError as e:
                return self._fail_validation(job_id, "validation_file", str(e))
        self._set(job_id, status="queued")
        self._event(job_id, f"Files validated: {len(train)} training examples"
                    + (f", {len(valid)} validation examples" if valid else "") + "; job queued")
        self._check_cancel(job_id)
        self._set(job_id, status="running")
        self._event(job_id, "Fine-tuning job started")
        hyper = job["hyperparameters"]
        args = LoraArgs(
            rank=self.config.rank, alpha=2 * self.config.rank, epochs=hyper["n_epochs"],
            batch_size=hyper["batch_size"], learning_rate=self.config.learning_rate * hyper["learning_rate_multiplier"],
            max_length=self.config.max_length, precision="auto",
        )

        def on_step(step: int, total: int, loss: float) -> None:
            self._event(job_id, f"Step {step}/{total}: training loss={loss:.4f}",
                        data={"step": step, "total_steps": total, "train_loss": loss})
            self._check_cancel(job_id)

        model, tokenizer = load_model_and_tokenizer(self.config.model)
        self._check_cancel(job_id)  # loading takes seconds: a cancel may have come meanwhile
        rows = [tokenize_turns_for_sft(tokenizer, chat, trained, args.max_length) for chat, trained in train]
        rows = [r for r in rows if any(label != -100 for label in r[1])]  # weight 0 everywhere: nothing to learn
        if not rows:
            return self._fail_validation(job_id, "training_file", "every assistant message has weight 0")
        out = self.state.data_dir / "adapters" / job_id
        result = train_on_rows(model, rows, pad_id_of(tokenizer), args, out, seed=job["seed"], on_step=on_step,
                               kind="sft")
        if valid:
            vrows = [tokenize_turns_for_sft(tokenizer, chat, trained, args.max_length) for chat, trained in valid]
            loss = validation_loss(model, tokenizer, vrows, args.batch_size)
            self._event(job_id, f"Step {result.steps}/{result.steps}: validation loss={loss:.4f}",
                        data={"step": result.steps, "total_steps": result.steps, "valid_loss": loss,
                              "train_loss": result.losses[-1] if result.losses else None})
        del model
        suffix = job["user_provided_suffix"] or ""
        model_id = f"ft:{job['model']}:ladder:{suffix}:{job_id.removeprefix('ftjob-')[:8]}"
        csv = "step,train_loss\n" + "".join(f"{i + 1},{loss:.6f}\n" for i, loss in enumerate(result.losses))
        results_file = self.state.add_file("step_metrics.csv", "fine-tune-results", csv.encode())
        self.state.add_model(model_id, out, job_id)
        self.models[model_id] = str(out)
        self._event(job_id, f"New fine-tuned model created: {model_id}")
        self._set(job_id, status="succeeded", fine_tuned_model=model_id, finished_at=int(time.time()),
                  trained_tokens=result.train_tokens, result_files=[results_file["id"]])
        self._event(job_id, "The job has successfully completed")

    # -- routes ---------------------------------------------------------------------------
    def router(self, ApiError: type) -> Any:  # noqa: N803 - the error class of the app
        from fastapi import APIRouter, Request

        from ladder.serve.files import page, read_json_body

        r = APIRouter(prefix="/v1")

        def job_or_404(job_id: str) -> dict[str, Any]:
            job = self.state.get("jobs", job_id)
            if job is None:
                raise ApiError(404, f"Could not find fine-tune: {job_id}", param="fine_tune_id")
            return job

        def file_of(body: dict[str, Any], key: str) -> None:
            f = self.state.get("files", body[key])
            if f is None:
                raise ApiError(404, f"{key}: no such file: {body[key]}", param=key)
            if f["purpose"] != "fine-tune":
                raise ApiError(400, f"{key}: the file's purpose is not fine-tune", param=key, code=f"invalid_{key}")

        @r.post("/fine_tuning/jobs")
        async def create(request: Request) -> dict[str, Any]:
            body = await read_json_body(request, ApiError)
            for key in ("model", "training_file"):
                if not isinstance(body.get(key), str):
                    raise ApiError(400, f"{key}: required (a string)", param=key)
            if body.get("validation_file") is not None and not isinstance(body["validation_file"], str):
                raise ApiError(400, "validation_file: must be a file id (a string)", param="validation_file")
            if body["model"] != self.config.model:
                raise ApiError(400, f"model: {body['model']!r} cannot be fine-tuned here; use {self.config.model!r}",
                               param="model", code="model_not_available")
            file_of(body, "training_file")
            if body.get("validation_file"):
                file_of(body, "validation_file")
            kind, hyper = hyperparameters(body)
            if kind != "supervised":
                raise ApiError(400, f"method.type: only supervised fine-tuning is supported (got {kind!r})",
                               param="method.type")
            problem = check_hyperparameters(hyper, self.config.max_epochs)
            if problem is not None:
                raise ApiError(400, problem, param=problem.split(":")[0])
            if self.active_jobs() >= self.config.max_training_jobs:
                raise ApiError(429, f"at most {self.config.max_training_jobs} fine-tuning job(s) may be queued or "
                               "running at once on this server (--max-training-jobs); try again later",
                               type_="rate_limit_exceeded", code="too_many_jobs")
            return self.create_job(body)

        @r.get("/fine_tuning/jobs")
        def list_jobs(after: str | None = None, limit: int = 20) -> dict[str, Any]:
            return page(self.state.all("jobs"), after, limit)

        @r.get("/fine_tuning/jobs/{job_id}")
        def get_job(job_id: str) -> dict[str, Any]:
            return job_or_404(job_id)

        @r.get("/fine_tuning/jobs/{job_id}/events")
        def list_events(job_id: str, after: str | None = None, limit: int = 20) -> dict[str, Any]:
            job_or_404(job_id)
            return page(list(reversed(self.state.events(job_id))), after, limit)

        @r.post("/fine_tuning/jobs/{job_id}/cancel")
        def cancel(job_id: str) -> dict[str, Any]:
            job_or_404(job_id)
            return self.cancel(job_id)

        return r
