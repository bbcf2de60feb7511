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


def test_a_judged_climbs_block_carries_the_judge_cards_and_the_cost_of_evaluation(answers_with_spec) -> None:
    from ladder.report import summarize
    from ladder.types import Assessment, AssessmentCost

    answers = answers_with_spec({"name": "toy", "prices": {"currency": "USD", "input_per_1k": 0.5, "output_per_1k": 1.5},
                                 "target": {"metric": "knowledge", "value": 0.5}, "volume": 1000,
                                 "judges": [{"name": "equivalent", "kind": "reference"}]})
    ids = answers.rung("zero_shot", [True, False, True, False, True, True])
    for gid, passed in zip(ids, [True, False, True, True, True, True]):
        answers.store.add_assessments(gid, [Assessment(
            "equivalent", "knowledge", "llm_judge", "equivalent", passed=passed, cost=AssessmentCost(100, 0, 0.05, 0.2),
            metadata={"judge_kind": "reference", "model": "m", "scoring": "logprobs", "prompt": [], "raw": "",
                      "attempts": 1})])
    block = _module().figures_block(summarize(answers.store, "run-1"), "ladder climb x", 12.0, 0.0)
    assert "| zero_shot |" in block and "Judge cards:" in block and "| equivalent |" in block
    assert "Evaluation cost (the judges' calls" in block and "6 verdicts" in block
    assert "Other processes" not in block
    assert "Other processes used 30% of the CPU" in _module().figures_block(summarize(answers.store, "run-1"), "x", 1.0, 0.3)
