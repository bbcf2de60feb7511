"""The frontier plot's labels (report/frontier.py): rungs of about the same cost and quality get
labels that do not print over each other, in the figure as rendered."""

from __future__ import annotations

from matplotlib.text import Annotation, Text

from ladder.report.frontier import LABEL_LINE_PT, frontier_figure, label_levels


def _summary(points: list[tuple[str, str, float, float]]) -> dict:
    return {"run": {"target_metric": "form", "target_value": 0.9, "currency": "USD", "task_name": "toy"},
            "frontier": [points[-1][0]],
            "rungs": [{"rung": name, "kind": kind, "cost_per_1k_requests": cost, "quality": quality}
                      for name, kind, cost, quality in points]}


def test_a_label_is_lifted_only_as_far_as_its_neighbours_need():
    assert label_levels([(0, 0, 50), (100, 0, 50)]) == [0, 0]  # side by side, apart
    assert label_levels([(0, 0, 50), (30, 0, 50)]) == [0, 1]  # the second starts inside the first
    assert label_levels([(0, 0, 50), (0, 0, 50), (0, 0, 50)]) == [0, 1, 2]  # the same point three times
    assert label_levels([(0, 0, 50), (30, LABEL_LINE_PT, 50)]) == [0, 0]  # a line above already
    assert label_levels([(0, 0, 50), (30, 0, 50), (200, 0, 50)]) == [0, 1, 0]


def test_labels_of_close_rungs_do_not_overlap_in_the_rendered_figure():
    # the balance-shift climb's points: instructed and few_shot both at 0%, 0.015 USD apart
    fig = frontier_figure(_summary([("zero_shot", "prompt", 0.1058, 0.0), ("instructed", "prompt", 0.2200, 0.0),
                                    ("few_shot", "prompt", 0.2346, 0.0), ("lora_sft_twin", "finetune", 0.1029, 1.0),
                                    ("lora_sft", "finetune", 0.1029, 1.0)]))
    renderer = fig.canvas.get_renderer()
    labels = [a for a in fig.axes[0].texts if isinstance(a, Annotation)]
    assert sorted(a.get_text() for a in labels) == ["few_shot", "instructed", "lora_sft", "lora_sft_twin", "zero_shot"]
    for a in labels:
        a.update_positions(renderer)
    boxes = {a.get_text(): Text.get_window_extent(a, renderer) for a in labels}  # the text's, not its leader's
    overlapping = [(p, q) for i, p in enumerate(boxes) for q in list(boxes)[i + 1:] if boxes[p].overlaps(boxes[q])]
    assert not overlapping
    # and each label still sits by its own point: lifted, not moved sideways
    assert boxes["few_shot"].x0 > boxes["instructed"].x0 and boxes["few_shot"].y0 > boxes["instructed"].y0
    assert boxes["zero_shot"].y0 == boxes["instructed"].y0
    # a lifted label has a line down to its point; one in its place needs none
    leaders = {a.get_text(): a.arrow_patch is not None for a in labels}
    assert leaders["few_shot"] and leaders["lora_sft"] and not leaders["instructed"] and not leaders["zero_shot"]
