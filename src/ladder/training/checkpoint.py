"""Atomic training checkpoints: safetensors for tensors, JSON for everything else.

A checkpoint is a folder ``step-000012/`` inside a checkpoint root. It is written into a
temporary folder first, ``manifest.json`` (sha256 of every other file, and the key of the run
it belongs to) last, and only then published: fsynced and renamed into place
(fsutil.publish_dir). A reader accepts a folder only when its manifest exists, names the same
run key and every checksum matches, so a process killed at any point (during a write, between
write and rename) never leaves a checkpoint that is picked up half-written.

Nothing here uses pickle: tensors go through safetensors, and no torch.load is needed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ladder import fsutil
from ladder.types import file_sha256

MANIFEST = "manifest.json"
TENSORS = "tensors.safetensors"
STATE = "state.json"
KEEP = 2  # complete checkpoints kept; older ones are deleted after a newer one is published


def step_dir(root: Path, step: int) -> Path:
    return Path(root) / f"step-{step:06d}"


def save_checkpoint(root: Path, step: int, key: str, tensors: dict[str, Any], state: dict[str, Any]) -> Path:
    """Write one checkpoint atomically; return its folder."""
    from safetensors.torch import save_file

    final = step_dir(root, step)
    tmp = fsutil.staging_dir(final)
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tmp / TENSORS))
    (tmp / STATE).write_text(json.dumps(state))
    manifest = {"key": key, "step": step, "files": {n: file_sha256(tmp / n) for n in (TENSORS, STATE)}}
    (tmp / MANIFEST).write_text(json.dumps(manifest))  # last: its presence says every other file is complete
    fsutil.publish_dir(tmp, final)
    for old in complete_steps(root, key)[:-KEEP]:
        shutil.rmtree(step_dir(root, old), ignore_errors=True)
    return final


def is_complete(folder: Path, key: str) -> bool:
    """True when `folder` holds a manifest for this run key and every checksum matches."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = manifest["files"]
        return manifest["key"] == key and set(files) == {TENSORS, STATE} and all(
            file_sha256(folder / name) == digest for name, digest in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def complete_steps(root: Path, key: str) -> list[int]:
    """Steps of the complete checkpoints of run `key` under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    steps = []
    for child in root.iterdir():
        if child.name.startswith("step-") and child.name[5:].isdigit() and is_complete(child, key):
            steps.append(int(child.name[5:]))
    return sorted(steps)


def load_latest(root: Path, key: str) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """(step, tensors, state) of the newest complete checkpoint of run `key`, or None."""
    from safetensors.torch import load_file

    steps = complete_steps(root, key)
    if not steps:
        return None
    folder = step_dir(root, steps[-1])
    return steps[-1], load_file(str(folder / TENSORS)), json.loads((folder / STATE).read_text())


def clear(root: Path) -> None:
    """Remove a checkpoint root (after the final adapter is saved)."""
    shutil.rmtree(root, ignore_errors=True)
