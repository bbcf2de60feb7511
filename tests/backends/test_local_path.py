"""One's own local model: `model: {backend: local, path: ...}` — a Hugging Face folder (here a
copy of the converted SmolLM2 folder that ladder itself caches) or a .gguf file, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ladder.backends.local import LocalBackend
from ladder.backends.local_models import NoChatTemplate, converted_dir, gguf_path, weights_dir, weights_sha256
from ladder.types import Message

ROOT = Path(__file__).resolve().parents[2]


def copy_model(to: Path, with_template: bool = True) -> Path:
    """A copy of ladder's converted default model; the weights hard-linked (same bytes, no 500 MB copy)."""
    source = converted_dir("smollm2-135m-instruct")
    to.mkdir(parents=True)
    for f in source.iterdir():
        if f.name == "chat_template.jinja" and not with_template:
            continue
        if f.suffix == ".safetensors":
            os.link(f, to / f.name)
        else:
            shutil.copy(f, to / f.name)
    config = json.loads((to / "tokenizer_config.json").read_text())
    if not with_template:
        config.pop("chat_template", None)
        (to / "tokenizer_config.json").write_text(json.dumps(config))
    return to


def test_the_fingerprint_is_the_weights_not_the_name_or_place(tmp_path: Path):
    a, b = copy_model(tmp_path / "a"), copy_model(tmp_path / "elsewhere" / "b")
    assert LocalBackend(str(a)).fingerprint() == LocalBackend(str(b)).fingerprint()
    (b / "generation_config.json").write_text("{}")  # any file of the folder changes how it answers
    weights_sha256.cache_clear()
    assert LocalBackend(str(a)).fingerprint() != LocalBackend(str(b)).fingerprint()
    assert LocalBackend(str(a)).fingerprint() != LocalBackend(str(a), chat_template="{{ messages }}").fingerprint()
    assert str(a) not in LocalBackend(str(a)).fingerprint()


def test_a_model_without_a_chat_template_says_how_to_give_one(tmp_path: Path):
    folder = copy_model(tmp_path / "m", with_template=False)
    with pytest.raises(NoChatTemplate, match="give one in task.yaml as `model.chat_template:`"):
        LocalBackend(str(folder)).tokenizer
    template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}<assistant>"
    backend = LocalBackend(str(folder), chat_template=template)
    assert backend.count_tokens((Message("user", "hi"),)) > 0


def test_a_path_that_is_not_a_model_is_refused(tmp_path: Path):
    from ladder.backends.local_models import ModelNotFound

    with pytest.raises(ModelNotFound, match="has no config.json"):
        weights_dir(str(tmp_path))
    with pytest.raises(ModelNotFound, match="does not exist"):
        weights_dir(str(tmp_path / "nothing.gguf"))


def ladder(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "ladder.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def write_task(folder: Path, model: str) -> Path:
    rows = [{"input": "What is 2 + 2? Answer with a number.", "expected": "4"},
            {"input": "What is the capital of France? One word.", "expected": "Paris"}]
    (folder / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(f"data: {{eval: eval.jsonl}}\nmodel: {model}\ngeneration: {{max_new_tokens: 8}}\n"
                                      "checks:\n  - {name: answer, kind: contains, tag: knowledge, ignore_case: true}\n")
    return folder / "task.yaml"


def test_cli_refuses_a_model_folder_without_a_chat_template(tmp_path: Path):
    copy_model(tmp_path / "my-model", with_template=False)
    r = ladder("climb", str(write_task(tmp_path, "{backend: local, path: my-model}")), "--runs-dir", "runs",
               cwd=tmp_path)
    assert r.returncode == 2 and "has no chat template" in r.stderr and "model.chat_template:" in r.stderr


@pytest.mark.slow
def test_cli_climbs_zero_shot_with_ones_own_model_folder(tmp_path: Path):
    copy_model(tmp_path / "my-model")
    task = write_task(tmp_path, "{backend: local, path: my-model}")
    r = ladder("climb", str(task), "--runs-dir", "runs", "--rungs", "zero_shot", "--no-report", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    from ladder.tracking.store import Store

    store = Store(tmp_path / "runs")
    (run,) = store.runs()
    (row,) = store.rung_results(run["id"])
    assert row.status == "ok" and all(g.output and g.error is None for g in store.generations(row.id))
    assert "model calls: 2 made" in r.stderr
    # A copy of the same weights elsewhere answers from the cache: the key is the weights', not the path.
    (tmp_path / "other").mkdir()
    copy_model(tmp_path / "other" / "copied-model")
    again = ladder("climb", str(write_task(tmp_path / "other", "{backend: local, path: copied-model}")),
                   "--runs-dir", str(tmp_path / "runs"), "--rungs", "zero_shot", "--no-report", cwd=tmp_path)
    assert again.returncode == r.returncode and "model calls: 0 made, 2 answered from cache" in again.stderr


@pytest.mark.slow
def _model_config(folder: Path) -> dict:
    """A converted folder's config.json without the stamp of the transformers that wrote it: the
    default model's folder may have been converted in the user cache by an older release."""
    config = json.loads((folder / "config.json").read_text())
    config.pop("transformers_version", None)
    return config


def test_a_gguf_file_is_converted_once_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    default_config = _model_config(converted_dir("smollm2-135m-instruct"))
    monkeypatch.setenv("LADDER_CACHE", str(tmp_path / "cache"))
    folder = weights_dir(str(gguf_path("smollm2-135m-instruct")))
    assert folder.parent == tmp_path / "cache" / "models" and (folder / "model.safetensors").is_file()
    assert _model_config(folder) == default_config
    assert weights_dir(str(gguf_path("smollm2-135m-instruct"))) == folder
