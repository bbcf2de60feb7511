"""remote_sft: a managed fine-tune on the task's own remote endpoint (OpenAI, Azure, `ladder serve`).

The remote counterpart of lora_sft, for a task whose model is `backend: openai`: the training
split under the zero-shot prompt, answered by its references, goes to the endpoint's fine-tuning
API (training/openai_finetune.py: validated with `ladder data validate`'s rules, uploaded, a job
created and polled), and the job's `fine_tuned_model` id answers the eval under the zero-shot
prompt (a remote fine-tune is a model id, carried in the Candidate's `adapter`).

Its build cost is what the endpoint charges: trained tokens x the endpoint's `train_per_1k` for
the base model (endpoints.yaml), recorded like a local fine-tune's, so the report's build cost,
break-even and the task's budget see it. The job's result is kept, content-addressed by endpoint,
model, data and options, under artifacts/remote_finetunes/: a second climb reuses the model id
instead of paying again.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal

from pydantic import Field

from ladder.fsutil import write_file_atomic
from ladder.rungs.base import RungContext, RungOptions, first_unmet, needs_train
from ladder.rungs.finetune import answer_chats
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.types import BuildCost, Candidate, content_hash


class RemoteSFT:
    name: ClassVar[str] = "remote_sft"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(RungOptions):
        epochs: int | None = Field(None, gt=0, description="n_epochs of the job (default: the service's 'auto')")
        batch_size: int | None = Field(None, gt=0, description="batch_size of the job (default: 'auto')")
        learning_rate_multiplier: float | None = Field(None, gt=0, description="default: 'auto'")
        suffix: str | None = Field(None, max_length=64, description="text added to the fine-tuned model's name")
        poll_s: float = Field(10.0, gt=0, description="seconds between polls of the job")

    def requires(self, task: Task, options: Options) -> str | None:
        model = task.spec.model
        remote = None if model.backend == "openai" else (
            f"{self.name} fine-tunes through a remote fine-tuning API: set `model.backend: openai` in task.yaml")
        named = None if model.endpoint is not None or model.base_url is None else (
            f"{self.name} needs `model.endpoint` (endpoints.yaml) for the endpoint's training price")
        return first_unmet(remote, named, needs_train(task, self.name, at_least=10))

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        from ladder.backends.endpoints import url_without_credentials
        from ladder.backends.openai_compat import resolve_endpoint
        from ladder.task import DataError
        from ladder.training.openai_finetune import RemoteFinetuneConfig, finetune_remote

        spec = ctx.task.spec.model
        prompt = ChatPrompt(system=ctx.task.spec.prompts.system)
        lines = [{"messages": [m.to_dict() for m in chat]} for chat in answer_chats(prompt, ctx.task.train)]
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        endpoint, key_env = resolve_endpoint(spec.endpoint, spec.base_url, spec.api_key_env,
                                             "api_key_env" in spec.model_fields_set)
        url = url_without_credentials(spec.base_url or endpoint.resolved_base_url())
        key = content_hash(url, spec.name, data, options.model_dump(exclude={"poll_s"}))
        folder = ctx.artifacts / "remote_finetunes"
        kept = folder / f"{key}.json"
        if kept.exists():
            result = json.loads(kept.read_text())
            ctx.on_status(f"reusing remote fine-tune {result['fine_tuned_model']} (job {result['job_id']})")
            reused = True
        else:
            train_file = folder / f"{key}.jsonl"
            write_file_atomic(train_file, data)
            config = RemoteFinetuneConfig(
                endpoint=spec.endpoint or "openai", base_url=spec.base_url, api_key_env=key_env,
                model=spec.name, epochs=options.epochs, batch_size=options.batch_size,
                learning_rate_multiplier=options.learning_rate_multiplier, suffix=options.suffix,
                seed=ctx.task.spec.seed, poll_s=options.poll_s)
            try:
                done = finetune_remote(train_file, config, on_event=ctx.on_status)
            except DataError as e:  # the training split breaks the fine-tuning format: the rung fails, by line
                raise ValueError("; ".join(e.problems[:5])) from None
            result = {"job_id": done.job_id, "fine_tuned_model": done.fine_tuned_model, "seconds": done.seconds,
                      "trained_tokens": done.trained_tokens or 0, "cost": done.cost}
            write_file_atomic(kept, json.dumps(result, indent=1))
            reused = False
        priced = result["cost"] is not None
        return Candidate(
            rung=self.name, kind=self.kind, prompt=prompt, adapter=result["fine_tuned_model"],
            build=BuildCost(seconds=result["seconds"], money=result["cost"] or 0.0,
                            train_tokens=result["trained_tokens"], reused=reused,
                            notes=f"remote job {result['job_id']}: {result['trained_tokens']} trained tokens"
                                  + ("" if priced else "; the endpoint lists no train_per_1k for this model: "
                                     "build cost 0")),
            description=f"a managed fine-tune on the endpoint ({result['fine_tuned_model']}), zero-shot prompt",
        )
