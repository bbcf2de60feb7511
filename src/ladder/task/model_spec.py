"""Which model answers a task, and at what price: the `model:`, `models:`, `teacher:` and
`prices:` parts of task.yaml (task/spec.py holds the rest and re-exports these)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ladder.backends.endpoints import url_without_credentials
from ladder.backends.retry import RetrySettings
from ladder.plugins import load_plugins


class Strict(BaseModel):
    """A part of task.yaml: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Strict):
    """Which model answers. `local` runs in-process on CPU; `openai` is any OpenAI-compatible API;
    an installed plugin may add others (entry point group `ladder.backends`)."""

    backend: str = Field("local", description="local, openai, or the name of a plugin's backend")
    name: str = Field("smollm2-135m-instruct", description="local model id (smollm2-135m-instruct, gemma3-270m), or the API's model name")
    path: Path | None = Field(
        None, description="one's own local model (backend: local), relative to task.yaml: a folder in Hugging Face "
                          "format (config.json, tokenizer files, *.safetensors) or a .gguf file; loaded offline; "
                          "replaces `name`")
    chat_template: str | None = Field(
        None, description="Jinja chat template for a local model whose tokenizer has none (or to replace its own)")
    endpoint: str | None = Field(
        None, description="a named endpoint from endpoints.yaml (backend: openai), e.g. openai, vllm, ladder-serve"
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (backend: openai); overrides the endpoint's. A user:password@ "
                          "in it is used to connect but never stored (run records, cache keys, reports)")
    revision: str | None = Field(
        None, description="the snapshot the API's model name answers with (backend: openai), e.g. gpt-4o-2024-08-06 "
                          "behind the alias gpt-4o; part of every cache key of this model. ladder cannot see an alias "
                          "move to a new snapshot by itself: set this (and change it when it moves), or re-ask with "
                          "`ladder climb --refresh RUNG` / `--no-cache`",
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key (never the key itself)")
    concurrency: int = Field(4, gt=0, description="most requests in flight at once (backend: openai); halved on "
                                                   "each rate limit (429), then raised again by one per that many answers")
    retry: RetrySettings = Field(
        RetrySettings(), description="retries, timeouts and deadline of each remote call (backend: openai)")
    execution: Literal["live", "batch"] = Field(
        "live", description="backend: openai only. live: one chat-completions request per row. batch: each rung's "
        "eval goes to the endpoint's Batch API as one JSONL file (/v1/files + /v1/batches); the batch id is kept in "
        "the run store so a killed climb resumes polling it, and the report prices its rows at the endpoint's "
        "batch_discount")
    batch_poll_s: float = Field(10.0, gt=0, description="seconds between polls of a running batch (execution: batch)")
    dtype: Literal["float32", "bfloat16", "auto"] = Field(
        "float32",
        description="local weights' precision. bfloat16 is faster on CPUs with AMX/AVX512-BF16 but can change "
                    "greedy answers: the climb first reports how many of a sample of eval prompts it answers "
                    "exactly as float32 does. auto = bfloat16 only on such CPUs and when the 95% lower bound of the "
                    "sample's match rate is >= 90%",
    )

    @property
    def display_label(self) -> str:
        """How rows and reports name this model: the stem of `path`, else `name`."""
        return self.path.stem if self.path is not None else self.name

    @field_serializer("base_url")
    def _without_credentials(self, url: str | None) -> str | None:
        # every dump (the run's stored spec, the task's hash) leaves user:password out
        return None if url is None else url_without_credentials(url)


    @model_validator(mode="after")
    def _batch_needs_openai(self) -> "ModelSpec":
        if self.execution == "batch" and self.backend != "openai":
            raise ValueError(f"execution: batch needs backend: openai (a Batch API), not {self.backend!r}")
        return self

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        known = [*BUILT_IN_BACKENDS, *load_plugins("ladder.backends")]
        if v not in known:
            close = difflib.get_close_matches(v, known, n=1)
            message = f"Input should be {' or '.join(repr(k) for k in known)}" + (
                f" (did you mean {close[0]!r}?)" if close else "")
            raise PydanticCustomError("literal_error", message.replace("{", "{{").replace("}", "}}"))
        return v


BUILT_IN_BACKENDS = ("local", "openai")


class PricedModelSpec(ModelSpec):
    """A model that is not the task's own, with its token prices (a teacher, a judge)."""

    prices: "PriceSpec | None" = Field(None, description="this model's token prices (default: the task's prices)")


class TeacherSpec(PricedModelSpec):
    """A stronger model. The diagnosis asks it the prompts a rung got wrong (teacher right ->
    distil; teacher wrong too -> improve the data or retrieval); calls are cached and costed."""

    max_examples: int = Field(100, gt=0, description="most failed examples per rung the diagnosis sends to the teacher")


class CandidateModelSpec(PricedModelSpec):
    """One base model of task.yaml's `models:`: every rung climbs on it, its rows named
    `<rung>@<label>` and costed at its own prices."""

    label: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the model's name in rung rows (`instructed@<label>`) and reports; default: the stem of "
                    "`path`, else `name`")
    prices: "PriceSpec | None" = Field(
        None, description="this model's prices; default: the endpoint's listed prices for `name` (endpoints.yaml), "
                          "else the task's `prices:`")

    @property
    def display_label(self) -> str:
        """The label rows carry: `label`, else the stem of `path`, else `name`."""
        return self.label if self.label is not None else super().display_label

    def base(self) -> ModelSpec:
        """The plain model spec (what answers), without the label and prices."""
        return ModelSpec.model_validate(self.model_dump(include=set(ModelSpec.model_fields), exclude_unset=True))


class PriceSpec(Strict):
    """Prices used for every cost figure; the example's numbers are assumptions, say so."""

    currency: str = "USD"
    input_per_1k: float = Field(0.0, ge=0, description="per 1K prompt tokens")
    output_per_1k: float = Field(0.0, ge=0, description="per 1K completion tokens")
    train_per_hour: float = Field(0.0, ge=0, description="per hour of training wall-clock")
    train_per_1m_tokens: float | None = Field(
        None, ge=0, description="per 1M training tokens (hosted fine-tuning); `ladder data validate` estimates with it"
    )
    finetuned_input_per_1k: float | None = Field(
        None, ge=0, description="per 1K prompt tokens sent to a fine-tuned model (hosted fine-tunes are often "
        "priced above their base); default: input_per_1k"
    )
    finetuned_output_per_1k: float | None = Field(
        None, ge=0, description="per 1K completion tokens from a fine-tuned model; default: output_per_1k"
    )
