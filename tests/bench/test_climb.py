"""bench/climb.py writes an example README's figures between its markers, and only there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("bench_climb", ROOT / "bench" / "climb.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_block_between_the_markers_is_replaced_and_nothing_else() -> None:
    figures = _module()
    readme = f"# title\n\nprose before\n{figures.BEGIN}\nold table\n{figures.END}\nprose after\n"
    new = figures.replace_block(readme, "| new | table |\n")
    assert new == f"# title\n\nprose before\n{figures.BEGIN}\n| new | table |\n{figures.END}\nprose after\n"
    assert figures.replace_block(new, "| new | table |") == new  # idempotent
    with pytest.raises(ValueError, match="no <!-- figures:begin -->"):
        figures.replace_block("# no markers here\n", "x")


def test_a_named_block_has_markers_of_its_own() -> None:
    figures = _module()
    begin, end = figures.markers("search")
    readme = f"{figures.BEGIN}\ndefault\n{figures.END}\n{begin}\nold\n{end}\n"
    assert figures.replace_block(readme, "new", "search") == f"{figures.BEGIN}\ndefault\n{figures.END}\n{begin}\nnew\n{end}\n"
    with pytest.raises(ValueError, match="figures:other:begin"):
        figures.replace_block(readme, "x", "other")
