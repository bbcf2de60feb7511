"""Commands for OpenAI-compatible serving and the managed fine-tuning flow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import fail, app, err, out


def _serve_help(field: str) -> str:
    from ladder.serve.app import ServeConfig

    return ServeConfig.model_fields[field].description or ""


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help=_serve_help("host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_serve_help("port"))] = 8321,
    model: Annotated[str, typer.Option(help=_serve_help("model"))] = "smollm2-135m-instruct",
    data_dir: Annotated[Optional[Path], typer.Option(help=_serve_help("data_dir"))] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help=_serve_help("api_key_env"))] = None,
    allowed_host: Annotated[Optional[list[str]], typer.Option(help=_serve_help("allowed_hosts"))] = None,
    batch_size: Annotated[int, typer.Option(help=_serve_help("batch_size"))] = 8,
    max_tokens: Annotated[int, typer.Option(help=_serve_help("max_tokens"))] = 1024,
    max_body_bytes: Annotated[int, typer.Option(help=_serve_help("max_body_bytes"))] = 1_000_000,
    max_upload_bytes: Annotated[int, typer.Option(help=_serve_help("max_upload_bytes"))] = 100_000_000,
    max_epochs: Annotated[int, typer.Option(help=_serve_help("max_epochs"))] = 10,
    max_training_jobs: Annotated[int, typer.Option(help=_serve_help("max_training_jobs"))] = 2,
    max_batch_requests: Annotated[int, typer.Option(help=_serve_help("max_batch_requests"))] = 50_000,
    rank: Annotated[int, typer.Option(help=_serve_help("rank"))] = 16,
    learning_rate: Annotated[float, typer.Option(help=_serve_help("learning_rate"))] = 1e-3,
    epochs: Annotated[int, typer.Option(help=_serve_help("epochs"))] = 2,
    train_batch_size: Annotated[int, typer.Option(help=_serve_help("train_batch_size"))] = 8,
    max_length: Annotated[int, typer.Option(help=_serve_help("max_length"))] = 512,
    test_faults: Annotated[bool, typer.Option(help=_serve_help("test_faults"))] = False,
) -> None:
    """Serve the local model over an OpenAI-compatible API: chat completions, files, managed fine-tuning
    and batches. Loopback only unless --api-key-env is given; state persists under --data-dir."""
    from pydantic import ValidationError

    from ladder.serve.app import ServeConfig, serve
    from ladder.validation_errors import format_validation_error

    try:
        config = ServeConfig(
            host=host, port=port, model=model, data_dir=data_dir, api_key_env=api_key_env,
            allowed_hosts=tuple(allowed_host or ()), batch_size=batch_size, max_tokens=max_tokens,
            max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes, max_epochs=max_epochs,
            max_training_jobs=max_training_jobs, max_batch_requests=max_batch_requests, rank=rank,
            learning_rate=learning_rate, epochs=epochs, train_batch_size=train_batch_size, max_length=max_length,
            test_faults=test_faults)
        serve(config)
    except ValidationError as e:
        whole = [f"error: {x['msg'].removeprefix('Value error, ')}" for x in e.errors() if not x["loc"]]
        fields = [f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, ServeConfig)
                  if not p.startswith("<top>")]
        raise fail(whole + fields) from None
    except ValueError as e:
        raise fail([f"error: {e}"]) from None


def _ft_help(field: str) -> str:
    from ladder.training.openai_finetune import RemoteFinetuneConfig

    return RemoteFinetuneConfig.model_fields[field].description or ""


@app.command("finetune-remote")
def finetune_remote_cmd(
    data: Annotated[Optional[Path], typer.Argument(metavar="DATA.jsonl", help="Training data: OpenAI chat JSONL (at least 10 examples).")] = None,
    model: Annotated[str, typer.Option(help=_ft_help("model"))] = "gpt-4o-mini",
    endpoint: Annotated[str, typer.Option(help=_ft_help("endpoint"))] = "openai",
    base_url: Annotated[Optional[str], typer.Option(help=_ft_help("base_url"))] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help=_ft_help("api_key_env"))] = None,
    epochs: Annotated[Optional[int], typer.Option(help=_ft_help("epochs"))] = None,
    batch_size: Annotated[Optional[int], typer.Option(help=_ft_help("batch_size"))] = None,
    learning_rate_multiplier: Annotated[Optional[float], typer.Option(help=_ft_help("learning_rate_multiplier"))] = None,
    suffix: Annotated[Optional[str], typer.Option(help=_ft_help("suffix"))] = None,
    seed: Annotated[Optional[int], typer.Option(help=_ft_help("seed"))] = None,
    poll_s: Annotated[float, typer.Option(help=_ft_help("poll_s"))] = 10.0,
    timeout_s: Annotated[Optional[float], typer.Option(help=_ft_help("timeout_s"))] = None,
    job: Annotated[Optional[str], typer.Option(help="Resume polling this existing job id instead of starting one.")] = None,
) -> None:
    """Fine-tune on a hosted OpenAI-compatible service: validate, upload, create a job, poll, print the model id."""
    from pydantic import ValidationError

    from ladder.task import DataError
    from ladder.validation_errors import format_validation_error
    from ladder.training.openai_finetune import RemoteFinetuneConfig, RemoteFinetuneError, finetune_remote

    try:
        config = RemoteFinetuneConfig(
            endpoint=endpoint, base_url=base_url, api_key_env=api_key_env, model=model, epochs=epochs,
            batch_size=batch_size, learning_rate_multiplier=learning_rate_multiplier, suffix=suffix, seed=seed,
            poll_s=poll_s, timeout_s=timeout_s,
        )
        result = finetune_remote(data, config, job_id=job, on_event=lambda m: err.print(m, markup=False, highlight=False))
    except ValidationError as e:
        raise fail([f"error: --{p.replace('_', '-')}" for p in format_validation_error(e, RemoteFinetuneConfig)]) from None
    except DataError as e:
        raise fail([f"error: {p}" for p in e.problems]) from None
    except (ValueError, RemoteFinetuneError) as e:
        raise fail([f"error: {e}"]) from None
    cost = "" if result.cost is None else f", training cost ~{result.cost:.4f} (endpoint's listed price)"
    err.print(f"job {result.job_id} succeeded: {result.trained_tokens} trained tokens{cost}")
    out.print(f"fine_tuned_model: {result.fine_tuned_model}")
    out.print(f"use it in task.yaml:  model: {{backend: openai, endpoint: {endpoint}, name: {result.fine_tuned_model}}}",
              markup=False, highlight=False)

