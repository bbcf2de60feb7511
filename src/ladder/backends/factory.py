"""backend_for: the one place a model spec (task.yaml's `model:`, `teacher:`, ...) becomes a backend.

A local model asked to run in bfloat16 (or `auto`) is first measured against float32 on a sample
of prompts (backends/precision.py); an OpenAI-compatible one is resolved through endpoints.yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from ladder.backends.base import Backend
from ladder.plugins import load_plugins
from ladder.types import Chat, GenerationParams

if TYPE_CHECKING:  # only read for its fields: building a backend needs no task machinery
    from ladder.task.spec import ModelSpec


def _quiet(_message: str) -> None:
    pass


def backend_for(
    spec: ModelSpec,
    *,
    params: GenerationParams = GenerationParams(),
    batch_size: int | None = None,
    precision_sample: Sequence[Chat] = (),
    on_status: Callable[[str], None] = _quiet,
) -> Backend:
    """The backend that answers as `spec` says.

    `batch_size` is the local model's rows per batch (None: auto). `precision_sample` and
    `params` are the prompts and settings a local bfloat16/auto model is measured on against
    float32; without a sample, auto runs in float32 and bfloat16 runs unmeasured. `on_status`
    hears what was measured and chosen. A bad endpoint or a missing key raises ValueError here,
    before anything is asked."""
    if spec.backend == "local":
        return _local(spec, params, batch_size, precision_sample, on_status)
    if spec.backend == "openai":
        from ladder.backends.openai_compat import OpenAICompatBackend, resolve_endpoint

        endpoint, key_env = resolve_endpoint(spec.endpoint, spec.base_url, spec.api_key_env,
                                             "api_key_env" in spec.model_fields_set)
        live = OpenAICompatBackend(endpoint, spec.name, base_url=spec.base_url, api_key_env=key_env,
                                   concurrency=spec.concurrency, retry=spec.retry,
                                   revision=spec.revision)
        if spec.execution == "batch":  # the climb gives it the run store as its ledger (resume after a kill)
            from ladder.backends.batch import BatchBackend

            return BatchBackend(live, discount=endpoint.batch_discount or 0.0, poll_s=spec.batch_poll_s,
                                on_status=on_status)
        return live
    plugin = load_plugins("ladder.backends").get(spec.backend)
    if plugin is not None:  # an installed plugin's: it gets the spec and the settings above
        return plugin(spec, params=params, batch_size=batch_size, on_status=on_status)
    raise ValueError(f"model.backend {spec.backend!r} is not available; use `local`, `openai` or a plugin's backend")


def _local(spec: ModelSpec, params: GenerationParams, batch_size: int | None, sample: Sequence[Chat],
           on_status: Callable[[str], None]) -> Backend:
    from ladder.backends.local import LocalBackend
    from ladder.backends.local_models import ModelNotFound

    source = str(spec.path) if spec.path is not None else spec.name
    if spec.path is not None:  # one's own model: refuse a missing folder or chat template now, by name
        try:
            LocalBackend(source, chat_template=spec.chat_template).tokenizer
        except ModelNotFound as e:
            raise ValueError(str(e)) from None
    if spec.dtype == "float32":
        return LocalBackend(source, dtype="float32", batch_size=batch_size, chat_template=spec.chat_template)
    from ladder.backends.precision import choose_dtype

    choice = choose_dtype(source, spec.dtype, sample, params, batch_size, spec.chat_template)
    if choice.match_rate is not None:
        on_status(f"precision: bfloat16 answers {choice.match_rate:.0%} of {choice.sample} sample prompts "
                  f"exactly as float32 does; running in {choice.dtype} ({choice.reason})")
    else:
        on_status(f"precision: running in {choice.dtype} ({choice.reason})")
    return choice.backend  # the weights loaded for the sample are kept, not loaded again
