"""Named OpenAI-compatible endpoints, read from YAML data (endpoints.yaml next to this file).

The built-in file names OpenAI, Azure, vLLM, Ollama, llama.cpp's server and `ladder serve`. A
user adds or overrides endpoints in ``~/.config/ladder/endpoints.yaml`` (``$XDG_CONFIG_HOME``
respected) and in the file named by ``$LADDER_ENDPOINTS``; later files win per endpoint, key by
key. Nothing here reads a key's value: an endpoint only names the variable that holds it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

BUILTIN = Path(__file__).with_name("endpoints.yaml")
ENV_FILE = "LADDER_ENDPOINTS"


def url_without_credentials(url: str) -> str:
    """`url` with any user:password@ removed from its authority, for storing or printing: a base_url
    such as https://user:secret@host/v1 must never reach the store, a cache key or a report."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class EndpointError(ValueError):
    """An endpoints file that cannot be used, or an endpoint name that is not defined."""


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_1k: float = Field(0.0, ge=0, description="per 1K prompt tokens")
    output_per_1k: float = Field(0.0, ge=0, description="per 1K completion tokens")
    train_per_1k: float | None = Field(None, ge=0, description="per 1K training tokens (managed fine-tuning)")
    finetuned_input_per_1k: float | None = Field(
        None, ge=0, description="per 1K prompt tokens to a model fine-tuned from this one; default: input_per_1k")
    finetuned_output_per_1k: float | None = Field(
        None, ge=0, description="per 1K completion tokens from a model fine-tuned from this one; default: output_per_1k")


class Endpoint(BaseModel):
    """One OpenAI-compatible API: where it is, which variable holds its key, what it charges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["openai", "azure"] = "openai"
    base_url: str = Field(description="API root, e.g. http://127.0.0.1:8000/v1")
    base_url_env: str | None = Field(None, description="variable whose value, when set, replaces base_url")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    key_required: bool = Field(True, description="false for local servers that accept any key")
    api_version: str | None = Field(None, description="Azure api-version")
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description="per model name")
    batch_discount: float | None = Field(
        None, ge=0, lt=1, description="share taken off every token price for requests sent through the Batch API "
        "(`execution: batch`; OpenAI's is 0.5, half price); unset: batch rows are priced like live ones")
    prices_note: str = ""

    def resolved_base_url(self) -> str:
        if self.base_url_env and os.environ.get(self.base_url_env):
            return os.environ[self.base_url_env]
        return self.base_url

    def price(self, model: str) -> ModelPrice | None:
        """The listed price of `model`; a fine-tuned id `ft:<base>:...` falls back to its base."""
        if model in self.prices:
            return self.prices[model]
        if model.startswith("ft:"):
            base = model.split(":")[1]
            return self.prices.get(base)
        return None


def user_files() -> list[Path]:
    """The user's endpoint files, in the order they are applied (later wins)."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    files = [config / "ladder" / "endpoints.yaml"]
    if os.environ.get(ENV_FILE):
        files.append(Path(os.environ[ENV_FILE]))
    return files


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise EndpointError(f"{path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise EndpointError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise EndpointError(f"{path}: expected a mapping of endpoint name -> settings")
    return {str(k): v for k, v in raw.items()}


def load_endpoints(extra: list[Path] | None = None) -> dict[str, Endpoint]:
    """Every known endpoint: the built-in file, then the user's files (missing ones skipped)."""
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    sources = [BUILTIN] + [p for p in user_files() if p.exists() or str(p) == os.environ.get(ENV_FILE)]
    for path in sources + list(extra or []):
        for name, settings in _read(path).items():
            merged[name] = {**merged.get(name, {}), **settings}
            origin[name] = path
    out: dict[str, Endpoint] = {}
    for name, settings in merged.items():
        try:
            out[name] = Endpoint.model_validate({**settings, "name": name})
        except ValidationError as e:
            problems = [
                f"{origin[name]}: {name}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in e.errors()
            ]
            raise EndpointError("\n".join(problems)) from None
    return out


def get_endpoint(name: str) -> Endpoint:
    endpoints = load_endpoints()
    if name not in endpoints:
        raise EndpointError(f"model.endpoint: unknown endpoint {name!r}; known: {', '.join(sorted(endpoints))}")
    return endpoints[name]
