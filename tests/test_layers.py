"""Layers import downward only (docs/architecture.md, "Layers"). Checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ladder"

LAYER = {
    "types": 0, "hardware": 0, "events": 0, "stats": 0, "bradley_terry": 0, "fsutil": 0, "plugins": 0, "validation_errors": 0, "provenance": 1,
    "task": 1, "metrics": 1, "backends": 1, "retrieval": 1, "training": 1, "tracking": 1, "scoring": 1,
    "scoring_human": 1, "scoring_judges": 1, "scoring_ranking": 1,
    "rungs": 2, "eval": 2, "diagnosis": 2, "judges": 2,
    "climb": 3, "climb_rung": 3, "asking": 3, "target_met": 3, "first_looks": 3, "retry_errors": 3, "serve": 3,
    "report": 4, "cli": 4, "web": 4, "review": 4, "export": 4,
}
# Pairs that the layer numbers allow but the design forbids.
FORBIDDEN = {
    ("eval", "rungs"),  # the runner evaluates any Candidate; it must not know how one is built
    ("rungs", "eval"),
    ("training", "tracking"),  # training knows nothing of runs or rungs
    ("report", "backends"),  # the report reads the store only: no model, no climb
    ("report", "eval"),
    ("report", "rungs"),
    ("report", "climb"),
    ("report", "training"),
    ("diagnosis", "rungs"),  # the diagnosis reads what was measured, whatever built it
    ("diagnosis", "eval"),
    ("review", "backends"),  # the review app reads and writes the store only: no model, no climb
    ("review", "climb"),
    ("review", "rungs"),
    ("judges", "rungs"),  # a judge reads answers, whatever rung gave them
    ("judges", "eval"),
    ("export", "backends"),  # an export reads the store (and the adapter folders it names), like the report
    ("export", "eval"),
    ("export", "rungs"),
    ("export", "climb"),
    ("export", "training"),
}


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else module


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ladder."):
            names.add(_package(node.module))
        elif isinstance(node, ast.Import):
            names |= {_package(a.name) for a in node.names if a.name.startswith("ladder.")}
    return names


def test_every_package_has_a_layer():
    found = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if not p.name.startswith("_")}
    found.discard("py.typed")
    assert found <= set(LAYER), f"add {found - set(LAYER)} to LAYER"


def test_imports_go_downward_only():
    problems = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for target in _imports(path):
            if target == own:
                continue
            if LAYER[target] > LAYER[own] or (own, target) in FORBIDDEN:
                problems.append(f"{rel} imports ladder.{target}")
    assert not problems, "\n".join(problems)


def _third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
    return names


def test_only_the_cli_owns_the_terminal():
    # the library reports progress through events (ladder.events); drawing them is the CLI's job
    drawing = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
               if p.relative_to(SRC).parts[0] != "cli" and "rich" in _third_party(p)]
    assert not drawing, f"import rich only in ladder.cli: {drawing}"
