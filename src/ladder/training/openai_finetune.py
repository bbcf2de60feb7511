"""Managed fine-tuning through an OpenAI-compatible API (OpenAI, Azure OpenAI, `ladder serve`).

The path a user of a hosted model takes, with the `openai` SDK:

    validate the chat JSONL here -> upload it (files, purpose fine-tune) -> create a job
    -> poll it, printing its events -> the job's `fine_tuned_model` id

The id is then a `model.name` for `backend: openai` on the same endpoint. Interrupting the poll
does not cancel the remote job; `job_id=` picks up polling an existing job.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

MIN_EXAMPLES = 10  # OpenAI rejects fine-tuning files with fewer examples
TERMINAL = ("succeeded", "failed", "cancelled")


class RemoteFinetuneError(RuntimeError):
    pass


class RemoteFinetuneConfig(BaseModel):
    """Options of `ladder finetune-remote`; each field is a flag of the same name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field("openai", description="Named endpoint from endpoints.yaml (openai, azure, ladder-serve, ...).")
    base_url: str | None = Field(None, description="Override the endpoint's base URL.")
    api_key_env: str | None = Field(None, description="Environment variable holding the key (default: the endpoint's).")
    model: str = Field(description="Base model to fine-tune, e.g. gpt-4o-mini or smollm2-135m-instruct.")
    epochs: int | None = Field(None, gt=0, description="n_epochs (default: the service's 'auto').")
    batch_size: int | None = Field(None, gt=0, description="batch_size (default: 'auto').")
    learning_rate_multiplier: float | None = Field(None, gt=0, description="learning_rate_multiplier (default: 'auto').")
    suffix: str | None = Field(None, max_length=64, description="Text added to the fine-tuned model's name.")
    seed: int | None = Field(None, description="Seed for a reproducible job.")
    poll_s: float = Field(10.0, gt=0, description="Seconds between status polls.")
    timeout_s: float | None = Field(None, gt=0, description="Give up polling after this many seconds (the job goes on).")


@dataclass(frozen=True)
class RemoteFinetuneResult:
    job_id: str
    file_id: str
    status: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    seconds: float
    examples: int = 0
    estimated_tokens: int = 0  # ~4 characters per token: the remote tokenizer is not available here
    cost: float | None = None  # trained_tokens x the endpoint's train price, where it lists one
    events: tuple[str, ...] = field(default_factory=tuple)


def validate_training_file(path: Path) -> tuple[int, int]:
    """(examples, estimated tokens) of an OpenAI chat JSONL file, checked with `ladder data
    validate`'s rules (every line, at least 10 examples, the OpenAI chat format only, as the
    fine-tuning APIs take it); DataError with every `file:line: code: message` problem."""
    from ladder.task.validate import read_openai_chats

    chats = read_openai_chats(path, min_examples=MIN_EXAMPLES)
    chars = sum(len(t.content) for c in chats for t in c.turns)
    return len(chats), chars // 4


def _hyperparameters(config: RemoteFinetuneConfig) -> dict[str, Any]:
    values = {"n_epochs": config.epochs, "batch_size": config.batch_size,
              "learning_rate_multiplier": config.learning_rate_multiplier}
    return {k: v for k, v in values.items() if v is not None}


def wait_for_job(client: Any, job_id: str, poll_s: float, timeout_s: float | None = None,
                 on_event: Callable[[str], None] = lambda _m: None) -> tuple[Any, list[str]]:
    """Poll until the job ends; report each new event once, oldest first. Returns (job, events)."""
    seen: set[str] = set()
    messages: list[str] = []
    t0 = time.monotonic()
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        page = client.fine_tuning.jobs.list_events(job_id, limit=100)
        for event in reversed(list(page.data)):
            if event.id not in seen:
                seen.add(event.id)
                messages.append(event.message)
                on_event(event.message)
        if job.status in TERMINAL:
            return job, messages
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            raise RemoteFinetuneError(f"job {job_id} still {job.status} after {timeout_s:.0f}s; "
                                      f"it goes on remotely: poll again with --job {job_id}")
        time.sleep(poll_s)


def finetune_remote(data: Path | None, config: RemoteFinetuneConfig, client: Any = None,
                    job_id: str | None = None, on_event: Callable[[str], None] = lambda _m: None) -> RemoteFinetuneResult:
    """Validate, upload, create the job (or resume polling `job_id`), wait, and return the result.

    API failures raise RemoteFinetuneError with the key (if any was echoed) masked."""
    import os

    import openai

    from ladder.backends.endpoints import get_endpoint
    from ladder.backends.openai_compat import make_client, redact

    endpoint = get_endpoint(config.endpoint)
    client = client or make_client(endpoint, config.base_url, config.api_key_env)
    try:
        return _run(data, config, endpoint, client, job_id, on_event)
    except openai.APIError as e:
        secret = os.environ.get(config.api_key_env or endpoint.api_key_env)
        raise RemoteFinetuneError(redact(f"{type(e).__name__}: {e}", secret)) from None


def _run(data: Path | None, config: RemoteFinetuneConfig, endpoint: Any, client: Any, job_id: str | None,
         on_event: Callable[[str], None]) -> RemoteFinetuneResult:
    t0 = time.monotonic()
    examples = tokens = 0
    if job_id is None:
        if data is None:
            raise ValueError("give a training file, or --job to resume polling an existing job")
        examples, tokens = validate_training_file(data)
        on_event(f"validated {data}: {examples} examples, ~{tokens} tokens per epoch")
        with open(data, "rb") as f:
            uploaded = client.files.create(file=(data.name, f), purpose="fine-tune")
        on_event(f"uploaded {data.name} as {uploaded.id}")
        kwargs: dict[str, Any] = {"model": config.model, "training_file": uploaded.id,
                                  "method": {"type": "supervised",
                                             "supervised": {"hyperparameters": _hyperparameters(config)}}}
        if config.suffix:
            kwargs["suffix"] = config.suffix
        if config.seed is not None:
            kwargs["seed"] = config.seed
        job = client.fine_tuning.jobs.create(**kwargs)
        job_id = job.id
        on_event(f"created job {job_id} ({job.status})")
    job, messages = wait_for_job(client, job_id, config.poll_s, config.timeout_s, on_event)
    if job.status != "succeeded":
        why = job.error.message if getattr(job, "error", None) else job.status
        raise RemoteFinetuneError(f"job {job_id} {job.status}: {why}")
    price = endpoint.price(config.model)
    cost = None
    if price is not None and price.train_per_1k is not None and job.trained_tokens is not None:
        cost = job.trained_tokens / 1000 * price.train_per_1k
    return RemoteFinetuneResult(
        job_id=job_id, file_id=job.training_file, status=job.status, fine_tuned_model=job.fine_tuned_model,
        trained_tokens=job.trained_tokens, seconds=time.monotonic() - t0, examples=examples,
        estimated_tokens=tokens, cost=cost, events=tuple(messages),
    )


def result_json(result: RemoteFinetuneResult) -> str:
    return json.dumps(result.__dict__, indent=1, default=list)
