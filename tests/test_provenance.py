"""What ran, where: versions, checkout, CPU and seed, read from the real machine and files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import ladder
from ladder.hardware import cpu_info
from ladder.provenance import LIBRARIES, library_versions, run_environment, source_checkout

REPO = Path(__file__).resolve().parents[1]


def test_run_environment_records_versions_cpu_threads_and_seed():
    env = run_environment(seed=7)
    json.dumps(env)  # plain JSON values, ready to store
    assert env["seed"] == 7 and env["ladder_version"] == ladder.__version__
    assert set(env["libraries"]) == set(LIBRARIES) == {"torch", "transformers", "peft", "openai"}
    assert env["libraries"]["torch"] == metadata.version("torch")
    import torch

    assert env["torch_threads"] == torch.get_num_threads() and env["cpu_count"] >= 1
    assert env["python"] == sys.version.split()[0]
    assert set(env["cpu_flags"]) <= cpu_info().flags


def test_versions_are_read_without_importing_the_libraries():
    code = ("import sys; from ladder.provenance import library_versions; v = library_versions(); "
            "print(v['torch'] is not None, 'torch' in sys.modules, 'openai' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(Path(ladder.__file__).parents[1]), "PATH": "/usr/bin:/bin"})
    assert r.stdout.split() == ["True", "False", "False"], r.stderr
    assert library_versions(("no-such-distribution-xyz",)) == {"no-such-distribution-xyz": None}


def test_commit_comes_from_ladders_own_checkout_only(tmp_path: Path):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    here = source_checkout(Path(ladder.__file__).parent)
    head = subprocess.run([git, "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if (REPO / "src" / "ladder").resolve() == Path(ladder.__file__).parent.resolve():
        assert here["commit"] == head and isinstance(here["dirty"], bool)
    # a copy of the package outside any repository: nothing to record
    outside = tmp_path / "site-packages" / "ladder"
    shutil.copytree(Path(ladder.__file__).parent, outside, ignore=shutil.ignore_patterns("__pycache__"))
    assert source_checkout(outside) == {"commit": None, "dirty": None}
    # inside another project's repository (a venv in a checkout): that commit is not ladder's
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    subprocess.run([git, "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "other project"], check=True)
    assert source_checkout(outside) == {"commit": None, "dirty": None}


def test_cpu_info_reads_model_and_flags(tmp_path: Path):
    text = ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
            "flags\t\t: fpu avx avx2 avx512f amx_bf16 amx_tile\n\nprocessor\t: 1\n"
            "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx\n")
    (tmp_path / "cpuinfo").write_text(text)
    info = cpu_info(str(tmp_path / "cpuinfo"))
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert info.flags == {"fpu", "avx", "avx2", "avx512f", "amx_bf16", "amx_tile"}
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n")
    assert cpu_info(str(arm)).flags == {"fp", "asimd", "sve"}
    assert cpu_info(str(tmp_path / "missing")).flags == frozenset()
