"""The report's "Environment" section: what ran, where (ladder.provenance.run_environment, stored
with the run). A run recorded before environments were stored shows "not recorded"."""

from __future__ import annotations

from typing import Any, Mapping

from ladder.provenance import LIBRARIES

NOT_RECORDED = "not recorded"


def _ladder(env: Mapping[str, Any]) -> str:
    commit = env.get("ladder_commit")
    if commit is None:
        return f"{env.get('ladder_version')} (not from a git checkout)"
    return f"{env.get('ladder_version')} (commit {commit[:12]}{', uncommitted changes' if env.get('ladder_dirty') else ''})"


def environment_rows(env: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(what, value) rows for a run's stored environment; every value "not recorded" without one."""
    labels = ["ladder", *LIBRARIES, "CPU", "CPU flags", "CPU cores", "torch threads", "Python", "platform", "seed"]
    if env is None:
        return [(label, NOT_RECORDED) for label in labels]
    libraries = env.get("libraries") or {}

    def text(value: Any) -> str:
        return NOT_RECORDED if value is None else str(value)

    return [
        ("ladder", _ladder(env)),
        *[(name, libraries.get(name) or "not installed") for name in LIBRARIES],
        ("CPU", text(env.get("cpu_model"))),
        ("CPU flags", ", ".join(env.get("cpu_flags") or []) or "none of the speed-relevant ones"),
        ("CPU cores", text(env.get("cpu_count"))),
        ("torch threads", text(env.get("torch_threads"))),
        ("Python", text(env.get("python"))),
        ("platform", text(env.get("platform"))),
        ("seed", text(env.get("seed"))),
    ]
