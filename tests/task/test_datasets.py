"""Data readers: both JSONL formats parse; every bad line is reported as `file:line: reason`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.metrics.checks import make_check
from ladder.task import DEFAULT_CHECK, DataError, load_task
from ladder.task.datasets import read_examples
from ladder.types import Message

REPO = Path(__file__).resolve().parents[2]
BALANCE_SHIFT = REPO / "examples" / "balance-shift" / "task.yaml"


def jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        read_examples(path)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def test_chat_jsonl_parses_system_history_and_checks(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "chat.jsonl",
        {"id": "a", "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
        {
            "id": "b",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "3+3?"},
                {"role": "assistant", "content": "6"},
            ],
            "checks": [{"name": "six", "kind": "numeric", "tag": "knowledge", "value": 6, "tolerance": 0.1}],
        },
    )
    a, b = read_examples(path)
    assert (a.id, a.input, a.expected, a.system, a.history, a.checks) == ("a", "2+2?", "4", None, (), ())
    assert a.source == f"{path}:1"
    assert b.system == "Be brief."
    assert b.input == "3+3?" and b.expected == "6"
    assert b.history == (Message("user", "Hi"), Message("assistant", "Hello."))
    assert b.checks == (make_check("numeric", name="six", tag="knowledge", value="6", tolerance=0.1),)
    assert b.source == f"{path}:2"


def test_input_expected_jsonl_parses(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "pairs.jsonl",
        {"input": "Capital of France?", "expected": "Paris"},
        {"id": 7, "input": "x", "expected": "y", "system": "Sys.",
         "checks": [{"name": "c", "kind": "contains", "tag": "knowledge", "value": "y", "ignore_case": True}]},
    )
    first, second = read_examples(path)
    assert first.id == "pairs-1"  # default id: file stem and line number
    assert (first.input, first.expected, first.system) == ("Capital of France?", "Paris", None)
    assert second.id == "7"
    assert second.system == "Sys."
    assert second.checks[0].ignore_case is True and second.checks[0].value == "y"


def test_blank_lines_and_crlf_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rec = json.dumps({"input": "a", "expected": "b"})
    path.write_bytes(f"\n{rec}\r\n   \r\n\n{rec.replace('a', 'c')}\r\n\n".encode())
    examples = read_examples(path)
    assert [e.input for e in examples] == ["a", "c"]
    assert [e.source for e in examples] == [f"{path}:2", f"{path}:5"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"input": "a", "expected": "b"}).encode() + b"\n")
    assert read_examples(path)[0].input == "a"


def test_unicode_line_separators_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    records = [{"input": "a\u2028b\x85c\x0cd", "expected": "e"}, {"input": "f", "expected": "g"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    examples = read_examples(path)
    assert [e.input for e in examples] == ["a\u2028b\x85c\x0cd", "f"]
    assert examples[1].source == f"{path}:2"


def test_every_bad_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    lines = [
        json.dumps(good),                                                                    # 1 ok
        '{"input": "q", "expected": ',                                                       # 2 bad JSON
        json.dumps({"input": "q", "expected": "a"}),                                         # 3 ok
        json.dumps({"input": "q"}),                                                          # 4 missing key
        json.dumps({"messages": [{"role": "bot", "content": "q"},
                                 {"role": "assistant", "content": "a"}]}),                   # 5 wrong role
        json.dumps({"messages": [{"role": "user", "content": 3},
                                 {"role": "assistant", "content": "a"}]}),                   # 6 content not str
        json.dumps({"messages": [{"role": "user", "content": "q"}]}),                        # 7 last not assistant
        "",                                                                                  # 8 blank: skipped
    ]
    path = tmp_path / "bad.jsonl"
    data = "\n".join(lines).encode() + b'\n{"input": "caf\xe9", "expected": "x"}\n'              # 9 not UTF-8
    path.write_bytes(data)
    assert problems_of(path) == [
        f"{path}:2: invalid JSON: Expecting value (column 28)",
        f"{path}:4: missing key 'expected'",
        f"{path}:5: messages[0] has unknown role 'bot' (use one of system, user, assistant)",
        f"{path}:6: messages[0].content must be a string",
        f"{path}:7: the last message must be the assistant's reference answer",
        f"{path}:9: not valid UTF-8 (byte 14 of the line)",
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([1, 2], "expected a JSON object, got list"),
        (
            {"question": "q", "answer": "a"},
            "missing key: expected 'messages' (chat format), 'input' + 'expected', "
            "or an alpaca / sharegpt / prompt-completion row",
        ),
        ({"text": "raw"},
         "a row of format text has no single reference answer; use it for training, not as an example"),
        ({"instruction": "q"}, "missing key 'output'"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "a"}]},
         "conversations[1] has unknown 'from' 'bot' (use one of system, human, gpt)"),
        ({"expected": "a"}, "missing key 'input'"),
        ({"input": "q", "expected": 4}, "'expected' must be a string"),
        ({"input": "q", "expected": "a", "system": ["x"]}, "'system' must be a string"),
        ({"id": None, "input": "q", "expected": "a"}, "'id' must be a string or an integer (got None)"),
        ({"messages": []}, "'messages' must be a non-empty list"),
        ({"messages": "hi"}, "'messages' must be a non-empty list"),
        ({"messages": ["hi"]}, "messages[0] must be an object"),
        ({"messages": [{"content": "q"}]}, "messages[0] is missing key 'role'"),
        ({"messages": [{"role": "user"}]}, "messages[0] is missing key 'content'"),
        ({"messages": [{"role": "assistant", "content": "a"}]}, "the reference answer must follow a user message"),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                          {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
            "a system message may only come first",
        ),
        ({"input": "q", "expected": " "}, "'expected' is empty: an example needs its reference answer"),
        ({"input": "q", "expected": "a", "checks": {}}, "'checks' must be a list"),
        ({"input": "q", "expected": "a", "checks": ["x"]}, "checks[0] must be an object"),
        (
            {"input": "q", "expected": "a", "checks": [{"name": "c", "kind": "exact"}]},
            "checks[0].tag: Field required",
        ),
        (
            {"input": "q", "expected": "a", "checks": [{"name": "c", "kind": "fuzzy", "tag": "form"}]},
            "checks[0].kind: Input should be 'exact', 'contains', 'regex', 'numeric', 'json' or 'python' (got 'fuzzy')",
        ),
        (
            {"input": "q", "expected": "a", "checks": [{"name": "c", "kind": "exact", "tag": "form", "extrct": "x"}]},
            "checks[0].extrct: Extra inputs are not permitted (did you mean 'extract'?)",
        ),
        (
            {"input": "q", "expected": "a", "checks": [{"name": "c", "kind": "regex", "tag": "form"}]},
            "checks[0].pattern: kind regex needs `pattern`",
        ),
    ],
)
def test_single_bad_record(tmp_path: Path, record: object, reason: str) -> None:
    path = jsonl(tmp_path / "d.jsonl", {"input": "ok", "expected": "ok"}, record)
    assert problems_of(path) == [f"{path}:2: {reason}"]


def test_alpaca_sharegpt_and_prompt_completion_rows_are_examples(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "mixed.jsonl",
        {"instruction": "Add.", "input": "2+2", "output": "4", "system": "Be brief."},
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."},
                           {"from": "human", "value": "3+3?"}, {"from": "gpt", "value": "6"}]},
        {"id": "pc", "prompt": "1+1?", "completion": "2"},
    )
    a, b, c = read_examples(path)
    assert (a.input, a.expected, a.system) == ("Add.\n\n2+2", "4", "Be brief.")
    assert (b.input, b.expected, b.history) == ("3+3?", "6", (Message("user", "Hi"), Message("assistant", "Hello.")))
    assert (c.id, c.input, c.expected) == ("pc", "1+1?", "2")


def test_invalid_regex_in_a_per_example_check(tmp_path: Path) -> None:
    check = {"name": "c", "kind": "regex", "tag": "form", "pattern": "(x"}
    path = jsonl(tmp_path / "d.jsonl", {"input": "q", "expected": "a", "checks": [check]})
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:1: checks[0].pattern: Value error, not a valid regular expression")


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "d.jsonl",
        {"id": "x", "input": "q", "expected": "a"},
        {"id": "y", "input": "q", "expected": "a"},
        {"id": "x", "input": "q", "expected": "a"},
    )
    assert problems_of(path) == [f"{path}:3: duplicate id 'x' (first on line 1)"]


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert problems_of(empty) == [f"{empty}: no examples (the file is empty)"]
    assert problems_of(tmp_path / "none.jsonl") == [f"{tmp_path / 'none.jsonl'}: file not found"]
    assert problems_of(tmp_path) == [f"{tmp_path}: cannot read: Is a directory"]


# -- load_task -----------------------------------------------------------------------------

TASK = """\
name: t
data: {train: train.jsonl, eval: eval.jsonl}
checks:
  - {name: same, kind: exact, tag: knowledge}
"""


def test_load_task_reads_both_files(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(TASK, encoding="utf-8")
    jsonl(tmp_path / "train.jsonl",
          {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    jsonl(tmp_path / "eval.jsonl", {"input": "q2", "expected": "a2"})
    task = load_task(tmp_path / "task.yaml")
    assert task.name == "t"
    assert [e.input for e in task.train] == ["q"]
    assert [e.input for e in task.eval] == ["q2"]
    assert task.checks == (make_check("exact", name="same", tag="knowledge"),)
    fp = task.fingerprint()
    assert fp == load_task(tmp_path / "task.yaml").fingerprint()
    jsonl(tmp_path / "eval.jsonl", {"input": "q2", "expected": "changed"})
    assert load_task(tmp_path / "task.yaml").fingerprint() != fp


def test_load_task_reports_problems_in_both_files(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(TASK, encoding="utf-8")
    (tmp_path / "train.jsonl").write_text("{oops\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_task(tmp_path / "task.yaml")
    assert info.value.problems == [
        f"{tmp_path / 'eval.jsonl'}: file not found",
        f"{tmp_path / 'train.jsonl'}:1: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
    ]


def test_load_task_needs_a_check_on_every_row(tmp_path: Path) -> None:
    # the default check (exact, tag knowledge) cannot score a `form` target
    (tmp_path / "task.yaml").write_text("name: t\ndata: {eval: eval.jsonl}\ntarget: {metric: form, value: 0.9}\n",
                                        encoding="utf-8")
    eval_file = jsonl(tmp_path / "eval.jsonl", {"input": "q", "expected": "a"})
    with pytest.raises(DataError) as info:
        load_task(tmp_path / "task.yaml")
    assert info.value.problems == [f"{eval_file}:1: no check of tag 'form' scores this row on the target metric "
                                   "(target.metric: form); add one to task.yaml checks or to the row's own checks, "
                                   "or a judge of that tag"]
    (tmp_path / "task.yaml").write_text("name: t\ndata: {eval: eval.jsonl}\n", encoding="utf-8")
    # Per-example checks are enough, but only on every row: the unchecked row is named by file:line
    check = {"name": "c", "kind": "exact", "tag": "knowledge"}
    jsonl(eval_file, {"input": "q", "expected": "a", "checks": [check]}, {"input": "q2", "expected": "b"},
          {"input": "q3", "expected": "c", "checks": [check]})
    with pytest.raises(DataError) as info:
        load_task(tmp_path / "task.yaml")
    assert [p.split(": ")[0] for p in info.value.problems] == [f"{eval_file}:2"]
    jsonl(eval_file, {"input": "q", "expected": "a", "checks": [check]})
    assert load_task(tmp_path / "task.yaml").checks == ()


def test_a_task_without_checks_or_name_gets_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "task.yaml").write_text("data: {eval: eval.jsonl}\n", encoding="utf-8")
    jsonl(tmp_path / "mine" / "eval.jsonl", {"input": "q", "expected": "a"})
    task = load_task(tmp_path / "mine" / "task.yaml")
    assert task.checks == (DEFAULT_CHECK,) and DEFAULT_CHECK.kind == "exact"
    assert task.name == "mine"
    (tmp_path / "task.yaml").write_text("name: t\ndata: {eval: eval.jsonl}\n", encoding="utf-8")
    # Per-example checks replace the default.
    jsonl(tmp_path / "eval.jsonl",
          {"input": "q", "expected": "a", "checks": [{"name": "c", "kind": "exact", "tag": "knowledge"}]})
    assert load_task(tmp_path / "task.yaml").checks == ()


def test_target_tag_needs_a_check_of_that_tag(tmp_path: Path) -> None:
    """A knowledge target with only form checks would pass vacuously (all([]) is True)."""
    (tmp_path / "task.yaml").write_text(
        "name: t\ndata: {eval: eval.jsonl}\ntarget: {metric: knowledge, value: 0.5}\n"
        "checks: [{name: shape, kind: regex, tag: form, pattern: '.'}]\n", encoding="utf-8")
    knows = {"name": "k", "kind": "exact", "tag": "knowledge"}
    eval_file = jsonl(tmp_path / "eval.jsonl", {"input": "q", "expected": "a", "checks": [knows]},
                      {"input": "q2", "expected": "b"})
    with pytest.raises(DataError) as info:
        load_task(tmp_path / "task.yaml")
    (problem,) = info.value.problems
    assert problem.startswith(f"{eval_file}:2: no check of tag 'knowledge' scores this row")


def test_selection_split_from_a_fraction_is_drawn_once_and_recorded(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "name: t\ndata: {eval: eval.jsonl}\nchecks: [{name: c, kind: exact, tag: knowledge}]\n"
        "selection: {dev_fraction: 0.3, seed: 4}\n", encoding="utf-8")
    jsonl(tmp_path / "eval.jsonl", *({"id": f"r{i}", "input": f"q{i}", "expected": "a"} for i in range(10)))
    task = load_task(tmp_path / "task.yaml")
    assert len(task.eval) == 10 and len(task.dev_ids) == 3 and task.dev_ids <= {e.id for e in task.eval}
    # the split is in the spec a run records, and the same file and seed give the same split
    assert set(task.spec.model_dump(mode="json")["selection"]["dev_ids"]) == task.dev_ids
    assert load_task(tmp_path / "task.yaml").dev_ids == task.dev_ids
    assert task.fingerprint() == load_task(tmp_path / "task.yaml").fingerprint()


def test_selection_split_from_a_dev_file(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "name: t\ndata: {eval: eval.jsonl, dev: dev.jsonl}\nchecks: [{name: c, kind: exact, tag: knowledge}]\n",
        encoding="utf-8")
    jsonl(tmp_path / "eval.jsonl", {"id": "e1", "input": "q", "expected": "a"}, {"id": "e2", "input": "q", "expected": "b"})
    dev_file = jsonl(tmp_path / "dev.jsonl", {"id": "d1", "input": "q", "expected": "a"})
    task = load_task(tmp_path / "task.yaml")
    assert [e.id for e in task.eval] == ["d1", "e1", "e2"] and task.dev_ids == {"d1"}
    jsonl(dev_file, {"id": "e2", "input": "q", "expected": "a"})
    with pytest.raises(DataError) as info:
        load_task(tmp_path / "task.yaml")
    assert info.value.problems == [f"{dev_file}:1: id 'e2' is also an eval row ({tmp_path / 'eval.jsonl'}:2)"]
    (tmp_path / "task.yaml").write_text(
        "name: t\ndata: {eval: eval.jsonl}\nchecks: [{name: c, kind: exact, tag: knowledge}]\n", encoding="utf-8")
    assert load_task(tmp_path / "task.yaml").dev_ids == frozenset()  # no split configured


@pytest.mark.skipif(not BALANCE_SHIFT.exists(), reason="examples/balance-shift/task.yaml not written yet")
def test_balance_shift_example_loads() -> None:
    task = load_task(BALANCE_SHIFT)
    assert task.name == "balance-shift"
    assert len(task.train) == 160 and len(task.eval) == 50
    assert all(e.expected.startswith("Balance analysis:\n") for e in task.train + task.eval)
    assert all(e.history == () and e.system is None for e in task.train + task.eval)
    assert {c.tag for c in task.checks} == {"form", "knowledge"}
    # No eval question appears in training.
    assert not {e.input for e in task.eval} & {e.input for e in task.train}
    # Every reference answer passes every check of the task.
    from ladder.metrics.checks import run_checks

    for ex in task.train + task.eval:
        failed = [r for r in run_checks(ex.expected, ex.expected, task.checks + ex.checks) if not r.passed]
        assert failed == [], ex.source
