"""Plugins: rungs, check kinds and backends an installed package adds through entry points,
in the manner of simonw/llm's plugin hooks (docs/architecture.md, "Plugins").

A package declares, in its pyproject.toml:

    [project.entry-points."ladder.rungs"]
    terse = "my_pkg.rungs:Terse"            # a rung class (or instance)
    [project.entry-points."ladder.checks"]
    word_count = "my_pkg.checks"            # a module whose @check functions register on import
    [project.entry-points."ladder.backends"]
    my_api = "my_pkg.backend:make_backend"  # (spec: ModelSpec, **settings) -> Backend

Nothing is imported when ladder is: each group is loaded the first time its registry is asked
for (rungs.registered, metrics.checks.registered_kinds, backends.backend_for), once per process.
A plugin that fails to load is left out with a PluginWarning that names it and says why; the
built-ins and the other plugins still work.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

GROUPS = ("ladder.rungs", "ladder.checks", "ladder.backends", "ladder.judges")


class PluginWarning(UserWarning):
    """An installed plugin could not be loaded."""


@lru_cache(maxsize=None)
def load_plugins(group: str) -> dict[str, Any]:
    """Entry point name -> the loaded object, for every installed plugin of `group`."""
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r}; known: {', '.join(GROUPS)}")
    loaded: dict[str, Any] = {}
    for ep in entry_points(group=group):
        dist = getattr(ep.dist, "name", None) or "?"
        try:
            loaded[ep.name] = ep.load()
        except Exception as e:  # a broken plugin must not take ladder down with it
            warnings.warn(f"ladder plugin {ep.name!r} ({group}, from {dist}: {ep.value}) failed to load and is "
                          f"left out: {type(e).__name__}: {e}", PluginWarning, stacklevel=2)
    return loaded
