"""The managed fine-tuning API of `ladder serve`: /v1/files and /v1/fine_tuning/jobs.

It follows OpenAI's wire format and job life cycle: a created job is `validating_files` (the
uploaded chat JSONL is read with ladder's dataset reader; fewer than 10 examples fail, as on
OpenAI), then `queued`, then `running` (a real LoRA adapter is trained with
ladder.training.lora_sft, one job at a time, in a background thread; bf16 autocast where
the CPU has AMX/AVX512-BF16, as the lora_sft rung does), then `succeeded` with a
`fine_tuned_model` id that /v1/chat/completions answers with that adapter, or `failed` /
`cancelled`. Events carry progress messages and per-step training loss (type "metrics").
"""

import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from ladder.types import Message

MIN_EXAMPLES = 10  # OpenAI's minimum for a fine-tuning file
TERMINAL = ("succeeded", "failed", "cancelled")


class _Cancelled(Exception):
    pass


def _chats_from_file(path: Path) -> list[tuple[Message, ...]]:
    """Training chats from an uploaded file; ValueError listing the problems (line numbers)."""
    from ladder.task.datasets import DataError, read_examples

    try:
        examples = read_examples(path)
    except DataError as e:
        shown = [p.replace(str(path), "line") for p in e.problems[:5]]
        more = f" (+{len(e.problems) - 5} more)" if len(e.problems) > 5 else ""
        raise ValueError("; ".join(shown) + more) from None
    if len(examples) < MIN_EXAMPLES:
        raise ValueError(f"the training file has {len(examples)} example(s); at least {MIN_EXAMPLES} are required")
    chats = []
    for ex in examples:
        head = (Message("system", ex.system),) if ex.system else ()
        chats.append(head + ex.history + (Message("user", ex.input), Message("assistant", ex.expected)))
    return chats


def _hyper(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(method type, hyperparameters) from `method` or the older top-level `hyperparameters`."""
    method = body.get("method") or {}
    kind = method.get("type", "supervised")
    hyper = (method.get(kind) or {}).get("hyperparameters") or body.get("hyperparameters") or {}
    return kind, dict(hyper)


class FineTuning:
    """Files, jobs and their events, in memory; file bytes and adapters under `data_dir`."""

    def __init__(self, config: Any, data_dir: Path, models: dict[str, str | None]):
        self.config = config
        self.data_dir = data_dir
        self.models = models
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.cancel_requested: set[str] = set()
        self.lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    # -- state ----------------------------------------------------------------------------
    def add_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        file_id = f"file-{secrets.token_hex(12)}"
        (self.data_dir / "files").mkdir(parents=True, exist_ok=True)
        (self.data_dir / "files" / file_id).write_bytes(content)
        obj = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
               "filename": filename, "purpose": purpose, "status": "processed", "expires_at": None,
               "status_details": None}
        with self.lock:
            self.files[file_id] = obj
        return obj

    def _event(self, job_id: str, message: str, level: str = "info", data: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.events[job_id].append({
                "id": f"ftevent-{secrets.token_hex(10)}", "object": "fine_tuning.job.event",
                "created_at": int(time.time()), "level": level, "message": message,
                "data": data or {}, "type": "metrics" if data else "message",
            })

    def _set(self, job_id: str, **fields: Any) -> None:
        with self.lock:
            self.jobs[job_id].update(fields)

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, hyper = _hyper(body)
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
        with self.lock:
            self.jobs[job_id] = job
            self.events[job_id] = []
        self._event(job_id, f"Validating training file: {body['training_file']}")
        with self.lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._loop, name="ladder-finetune", daemon=True)
                self._worker.start()
        self._queue.put(job_id)
        return dict(job)

    def cancel(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self.jobs[job_id]
            if job["status"] not in TERMINAL:
                self.cancel_requested.add(job_id)
                if job["status"] in ("validating_files", "queued"):
                    job["status"] = "cancelled"
                    job["finished_at"] = int(time.time())
            return dict(job)

    def close(self) -> None:
        with self.lock:
            self.cancel_requested |= set(self.jobs)
        self._queue.put(None)

    # -- the worker -----------------------------------------------------------------------
    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                self._run(job_id)
            except _Cancelled:
                self._set(job_id, status="cancelled", finished_at=int(time.time()))
                self._event(job_id, "Fine-tuning job cancelled")
            except Exception as e:  # a job failure is the job's, never the server's
                self._set(job_id, status="failed", finished_at=int(time.time()),
                          error={"code": "training_failed", "message": f"{type(e).__name__}: {e}", "param": None})
                self._event(job_id, f"Fine-tuning job failed: {type(e).__name__}: {e}", level="error")

    def _check_cancel(self, job_id: str) -> None:
        if job_id in self.cancel_requested:
            raise _Cancelled()

    def _run(self, job_id: str) -> None:
        from ladder.backends.local import load_model_and_tokenizer
        from ladder.training.lora_sft import LoraArgs, train_lora_sft

        job = self.jobs[job_id]
        self._check_cancel(job_id)
        try:
            chats = _chats_from_file(self.data_dir / "files" / job["training_file"])
        except ValueError as e:
            self._set(job_id, status="failed", finished_at=int(time.time()),
                      error={"code": "invalid_training_file", "message": str(e), "param": "training_file"})
            self._event(job_id, f"Training file validation failed: {e}", level="error")
            return
        self._set(job_id, status="queued")
        self._event(job_id, f"Files validated: {len(chats)} examples; job queued")
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
        out = self.data_dir / "adapters" / job_id
        result = train_lora_sft(model, tokenizer, chats, args, out, seed=job["seed"], on_step=on_step)
        del model
        suffix = job["user_provided_suffix"] or ""
        model_id = f"ft:{job['model']}:ladder:{suffix}:{job_id.removeprefix('ftjob-')[:8]}"
        csv = "step,train_loss\n" + "".join(f"{i + 1},{loss:.6f}\n" for i, loss in enumerate(result.losses))
        results_file = self.add_file("step_metrics.csv", "fine-tune-results", csv.encode())
        with self.lock:
            self.models[model_id] = str(out)
        self._event(job_id, f"New fine-tuned model created: {model_id}")
        self._set(job_id, status="succeeded", fine_tuned_model=model_id, finished_at=int(time.time()),
                  trained_tokens=result.train_tokens, result_files=[results_file["id"]])
        self._event(job_id, "The job has successfully completed")

    # -- routes ---------------------------------------------------------------------------
    def router(self, ApiError: type) -> Any:  # noqa: N803 - the error class of the app
        from fastapi import APIRouter, File, Form, Request, UploadFile
        from fastapi.responses import Response

        r = APIRouter(prefix="/v1")

        def file_or_404(file_id: str) -> dict[str, Any]:
            if file_id not in self.files:
                raise ApiError(404, f"No such File object: {file_id}", param="id")
            return self.files[file_id]

        def job_or_404(job_id: str) -> dict[str, Any]:
            if job_id not in self.jobs:
                raise ApiError(404, f"Could not find fine-tune: {job_id}", param="fine_tune_id")
            return self.jobs[job_id]

        def page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
            ids = [i["id"] for i in items]
            start = ids.index(after) + 1 if after in ids else 0
            chunk = items[start : start + limit]
            return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}

        @r.post("/files")
        async def upload(file: UploadFile = File(...), purpose: str = Form(...)) -> dict[str, Any]:
            if purpose not in ("fine-tune", "batch", "assistants", "user_data", "evals"):
                raise ApiError(400, f"purpose: unsupported purpose {purpose!r}", param="purpose")
            return self.add_file(file.filename or "upload.jsonl", purpose, await file.read())

        @r.get("/files")
        def list_files() -> dict[str, Any]:
            return {"object": "list", "data": sorted(self.files.values(), key=lambda f: -f["created_at"]),
                    "has_more": False}

        @r.get("/files/{file_id}")
        def get_file(file_id: str) -> dict[str, Any]:
            return file_or_404(file_id)

        @r.get("/files/{file_id}/content")
        def file_content(file_id: str) -> Any:
            file_or_404(file_id)
            return Response((self.data_dir / "files" / file_id).read_bytes(), media_type="application/octet-stream")

        @r.delete("/files/{file_id}")
        def delete_file(file_id: str) -> dict[str, Any]:
            file_or_404(file_id)
            with self.lock:
                del self.files[file_id]
            (self.data_dir / "files" / file_id).unlink(missing_ok=True)
            return {"id": file_id, "object": "file", "deleted": True}

        @r.post("/fine_tuning/jobs")
        async def create(request: Request) -> dict[str, Any]:
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "the request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object")
            for key in ("model", "training_file"):
                if not isinstance(body.get(key), str):
                    raise ApiError(400, f"{key}: required (a string)", param=key)
            if body["model"] != self.config.model:
                raise ApiError(400, f"model: {body['model']!r} cannot be fine-tuned here; use {self.config.model!r}",
                               param="model", code="model_not_available")
            if file_or_404(body["training_file"])["purpose"] != "fine-tune":
                raise ApiError(400, "training_file: the file's purpose is not fine-tune", param="training_file",
                               code="invalid_training_file")
            kind, hyper = _hyper(body)
            if kind != "supervised":
                raise ApiError(400, f"method.type: only supervised fine-tuning is supported (got {kind!r})",
                               param="method.type")
            for key, value in hyper.items():
                ok = key in ("n_epochs", "batch_size", "learning_rate_multiplier") and (
                    value == "auto" or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0))
                if not ok:
                    raise ApiError(400, f"hyperparameters.{key}: must be 'auto' or a positive number (got {value!r})",
                                   param=f"hyperparameters.{key}")
            return self.create_job(body)

        @r.get("/fine_tuning/jobs")
        def list_jobs(after: str | None = None, limit: int = 20) -> dict[str, Any]:
            with self.lock:
                items = sorted((dict(j) for j in self.jobs.values()), key=lambda j: -j["created_at"])
            return page(items, after, limit)

        @r.get("/fine_tuning/jobs/{job_id}")
        def get_job(job_id: str) -> dict[str, Any]:
            with self.lock:
                return dict(job_or_404(job_id))

        @r.get("/fine_tuning/jobs/{job_id}/events")
        def list_events(job_id: str, after: str | None = None, limit: int = 20) -> dict[str, Any]:
            job_or_404(job_id)
            with self.lock:
                newest_first = list(reversed(self.events[job_id]))
            return page(newest_first, after, limit)

        @r.post("/fine_tuning/jobs/{job_id}/cancel")
        def cancel(job_id: str) -> dict[str, Any]:
            job_or_404(job_id)
            return self.cancel(job_id)

        return r
