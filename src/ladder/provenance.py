"""What ran, where: the facts a run's figures depend on, recorded with the run.

ladder's version and, when it runs from a git checkout, the commit (and whether the work tree
had uncommitted changes); the versions of the libraries that compute or fetch the answers; the
CPU, its speed-relevant flags and the thread count; Python, the platform and the seed. Library
versions come from the installed distributions' metadata, without importing them.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import ladder
from ladder.hardware import SPEED_FLAGS, cpu_info

LIBRARIES = ("torch", "transformers", "peft", "openai")
GIT_TIMEOUT_S = 2.0


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """Installed version of each distribution; None where it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_checkout(package_dir: Path | None = None) -> dict[str, Any]:
    """{"commit", "dirty"} of the git checkout ladder is imported from; both None when it is not
    imported from a checkout of its own (an installed wheel, or a venv inside another repository)."""
    package_dir = (package_dir or Path(ladder.__file__).parent).resolve()
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top is None or (Path(top) / "src" / "ladder").resolve() != package_dir:
        return {"commit": None, "dirty": None}
    commit = _git(package_dir, "rev-parse", "HEAD")
    status = _git(package_dir, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def torch_threads() -> int | None:
    """Threads torch computes with (its intra-op pool); None without torch."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()


def run_environment(seed: int | None) -> dict[str, Any]:
    """Everything about this process that a run's figures may depend on, as plain JSON values."""
    cpu = cpu_info()
    checkout = source_checkout()
    return {
        "ladder_version": ladder.__version__,
        "ladder_commit": checkout["commit"],
        "ladder_dirty": checkout["dirty"],
        "libraries": library_versions(),
        "cpu_model": cpu.model,
        "cpu_flags": sorted(f for f in SPEED_FLAGS if f in cpu.flags),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seed": seed,
    }
