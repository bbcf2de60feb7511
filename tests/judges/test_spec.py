"""`judges:` in task.yaml: the agreed format, validated with errors that say what to fix."""

from __future__ import annotations

import json

import pytest

from ladder.task import DataError, load_task
from ladder.task.schema import task_json_schema
from ladder.task.spec import TaskError
from ladder.task.yaml_file import parse_task_yaml

HEAD = "name: t\ndata: {eval: eval.jsonl}\n"


def problems(tmp_path, text: str) -> list[str]:
    (tmp_path / "task.yaml").write_text(HEAD + text, encoding="utf-8")
    with pytest.raises(TaskError) as info:
        parse_task_yaml(tmp_path / "task.yaml")
    return info.value.problems


def test_the_agreed_format_parses_with_each_kinds_defaults(tmp_path):
    (tmp_path / "task.yaml").write_text(HEAD + """
rungs: {zero_shot: null, instructed: null}
judges:
  - {name: helpful, kind: rubric, criteria: "answers the question in full", scoring: logprobs, tag: helpfulness,
     model: {backend: openai, base_url: "http://127.0.0.1:9/v1", name: j, prices: {input_per_1k: 0.1}}}
  - {name: equivalent, kind: reference, retries: 0}
  - {name: enough, kind: sufficiency}
  - {name: ab, kind: pairwise, against: instructed}
  - {name: style, kind: rubric, criteria: "is polite"}
target: {metric: helpfulness, value: 0.8}
""", encoding="utf-8")
    spec = parse_task_yaml(tmp_path / "task.yaml")
    helpful, equivalent, enough, ab, style = spec.judges
    assert (helpful.verdict_tag, helpful.scoring, helpful.retries, helpful.model.prices.input_per_1k) == (
        "helpfulness", "logprobs", 2, 0.1)
    assert (equivalent.verdict_tag, equivalent.retries, equivalent.model) == ("knowledge", 0, None)
    assert enough.verdict_tag == "sufficiency" and style.verdict_tag == "style" and ab.against == "instructed"


@pytest.mark.parametrize(("yaml", "problem"), [
    ("judges: [{name: j, kind: vibes}]", "judges.0.kind: Input should be 'rubric', 'reference', 'sufficiency' or "
                                         "'pairwise'"),
    ("judges: [{name: j, kind: rubric}]", "a rubric judge needs `criteria`"),
    ("judges: [{name: j, kind: reference, criteria: x}]", "`criteria` is for rubric judges only"),
    ("judges: [{name: j, kind: pairwise, against: zero_shot, scoring: logprobs}]",
     "`scoring: logprobs` is not for pairwise judges"),
    ("judges: [{name: j, kind: rubric, criteria: x, scoring: mean}]", "judges.0.scoring: Input should be 'argmax' or "
                                                                      "'logprobs'"),
    ("judges: [{name: j, kind: pairwise}]", "a pairwise judge needs `against`"),
    ("judges: [{name: j, kind: sufficiency, against: zero_shot}]", "`against` is for pairwise judges only"),
    ("judges: [{name: j, kind: reference, retries: -1}]", "judges.0.retries: Input should be greater than or equal"),
    ("judges: [{name: j, kind: reference, temprature: 0}]", "judges.0.temprature: Extra inputs are not permitted"),
    ("judges: [{name: j, kind: reference, model: {backend: lokal}}]", "did you mean 'local'?"),
    ("judges: [{name: j, kind: reference}, {name: j, kind: sufficiency}]", "the name(s) 'j' are given twice"),
    ("checks: [{name: j, kind: exact, tag: knowledge}]\njudges: [{name: j, kind: reference}]",
     "'j' is also a check's name"),
    ("rungs: {zero_shot: null}\njudges: [{name: j, kind: pairwise, against: instructed}]",
     "'j' compares against 'instructed', which is not among the rungs climbed (zero_shot)"),
    ("target: {metric: helpfulness}", "target.metric 'helpfulness' is neither form, knowledge, overall nor the tag "
                                      "of a judge (no judge gives verdicts)"),
    ("judges: [{name: j, kind: pairwise, against: zero_shot, tag: helpfulness}]\ntarget: {metric: helpfulness}",
     "nor the tag of a judge (no judge gives verdicts)"),
])
def test_a_bad_judge_is_refused_with_what_to_fix(tmp_path, yaml, problem):
    assert any(problem in p for p in problems(tmp_path, yaml + "\n")), problems(tmp_path, yaml + "\n")


def test_a_judge_of_the_target_tag_makes_every_row_scorable(tmp_path):
    (tmp_path / "eval.jsonl").write_text(json.dumps({"input": "q", "expected": "a"}) + "\n", encoding="utf-8")
    (tmp_path / "task.yaml").write_text(HEAD + "checks: [{name: shape, kind: regex, pattern: '.', tag: form}]\n"
                                        "target: {metric: knowledge}\n", encoding="utf-8")
    with pytest.raises(DataError, match="no check of tag 'knowledge'"):
        load_task(tmp_path / "task.yaml")
    (tmp_path / "task.yaml").write_text(HEAD + "checks: [{name: shape, kind: regex, pattern: '.', tag: form}]\n"
                                        "judges: [{name: eq, kind: reference}]\ntarget: {metric: knowledge}\n",
                                        encoding="utf-8")
    assert load_task(tmp_path / "task.yaml").spec.judges[0].verdict_tag == "knowledge"
    (tmp_path / "task.yaml").write_text(HEAD + "checks: [{name: shape, kind: regex, pattern: '.', tag: form}]\n"
                                        "judges: [{name: kind, kind: rubric, criteria: is kind, tag: kindness}]\n"
                                        "target: {metric: kindness}\n", encoding="utf-8")
    assert load_task(tmp_path / "task.yaml").spec.target.metric == "kindness"


def test_the_schema_describes_judges():
    schema = task_json_schema()
    judge = schema["$defs"]["JudgeSpec"]
    assert set(judge["properties"]) >= {"name", "kind", "tag", "model", "criteria", "scoring", "retries", "against"}
    assert "rubric only" in judge["properties"]["criteria"]["description"]
