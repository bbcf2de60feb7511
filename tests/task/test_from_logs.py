"""`ladder data from-logs`: logged chat-completions calls and a real run store -> chat JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.task.datasets import read_examples
from ladder.task.from_logs import LogError, import_logs
from ladder.task.preferences import EVAL_SKIP
from ladder.task.validate import validate_file
from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, Example, ExampleResult, Generation, Message, chat_to_json


def _call(question: str, answer: str, finish: str = "stop", **extra: object) -> dict:
    return {
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."},
                                                          {"role": "user", "content": question}]},
        "response": {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}},
        **extra,
    }


def _read(path: Path) -> list[list[dict]]:
    return [json.loads(line)["messages"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_chat_completion_logs_become_training_chats(tmp_path: Path) -> None:
    batch_shape = {  # the Batch API's input and output lines joined into one record
        "request": {"custom_id": "r7", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"messages": [{"role": "developer", "content": "Terse."},
                                          {"role": "user", "content": [{"type": "text", "text": "Hi "},
                                                                       {"type": "text", "text": "there"}]}]}},
        "response": {"status_code": 200, "body": {"choices": [
            {"message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}]}},
    }
    lines = [
        json.dumps(_call("2+2?", "4", rating=5)),                          # 1 kept
        json.dumps(_call("3+3?", "6 and then some", finish="length")),     # 2 truncated: skipped
        json.dumps(batch_shape),                                           # 3 kept (developer -> system)
        json.dumps(_call("2+2?", "4", rating=5)),                          # 4 duplicate of 1
        "{broken",                                                         # 5 reported
        json.dumps({"request": {"messages": []}, "response": {}}),         # 6 reported
        json.dumps({**batch_shape, "response": {"status_code": 500, "body": {"error": {"message": "x"}}}}),  # 7
        json.dumps(_call("Weather?", "", rating=1)),                       # 8 empty answer: reported
        "",
    ]
    src = tmp_path / "calls.jsonl"
    src.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "train.jsonl"
    result = import_logs(src, out)

    assert _read(out) == [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
         {"role": "assistant", "content": "4"}],
        [{"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi there"},
         {"role": "assistant", "content": "Hello."}],
    ]
    assert result.written == 2
    assert result.skipped == {"finish_reason 'length', not 'stop'": 1, "duplicate chat": 1, "unreadable line": 1,
                              "malformed request/response": 2, "request failed (status_code not 200)": 1}
    assert [p.split(": ")[0] for p in result.problems] == [f"{src}:5", f"{src}:6", f"{src}:8"]
    assert "missing_messages" in result.problems[1] and "missing_content" in result.problems[2]
    # The output is training data ladder reads back.
    assert [e.expected for e in read_examples(out)] == ["4", "Hello."]
    assert validate_file(out, min_examples=1).exit_code == 0

    rated = import_logs(src, tmp_path / "rated.jsonl", min_rating=4)
    assert rated.written == 1 and rated.skipped["rating missing or below 4"] >= 1


def test_tool_calls_and_images_are_skipped_not_mangled(tmp_path: Path) -> None:
    tool = _call("Weather?", "x")
    tool["response"]["choices"][0]["message"] = {"role": "assistant", "content": None,
                                                 "tool_calls": [{"id": "t", "type": "function"}]}
    image = _call("x", "A cat.")
    image["request"]["messages"][1]["content"] = [{"type": "image_url", "image_url": {"url": "data:"}}]
    src = tmp_path / "calls.jsonl"
    src.write_text(json.dumps(tool) + "\n" + json.dumps(image) + "\n", encoding="utf-8")
    result = import_logs(src, tmp_path / "out.jsonl")
    assert result.written == 0 and result.problems == []
    assert result.skipped == {"tool calls (ladder trains on text chats)": 1,
                              "non-text content parts (images, audio)": 1}


def _store_with_two_runs(runs: Path) -> Store:
    store = Store(runs)
    examples = [Example(f"e{i}", f"What is {i}+{i}?", str(2 * i)) for i in range(4)]

    def rows(outputs: list[tuple[str, str, bool]], suffix: str) -> list:
        out = []
        for ex, (text, finish, ok) in zip(examples, outputs):
            text += suffix  # tells the runs apart
            prompt = (Message("user", ex.input),)
            out.append(ExampleResult(ex, chat_to_json(prompt), Generation(text, 5, 2, 0.1, finish),
                                     (Assessment("format", "form", passed=True), Assessment("value", "knowledge", passed=ok))))
        return out

    for run_id, suffix in (("run-a", " (a)"), ("run-b", "")):
        store.start_run(run_id, "t", "task.yaml", "h", {}, "local:m")
        store.add_rung_result(RungRecord(run_id, 0, "zero_shot", "prompt", {}, eval_seconds=1.0), rows(
            [("0", "stop", True), ("3", "stop", False), ("4", "stop", True), ("6 6 6 6", "length", False)], suffix))
        store.add_rung_result(RungRecord(run_id, 1, "few_shot", "prompt", {}, eval_seconds=1.0), rows(
            [("0", "stop", True), ("2", "stop", True), ("5", "stop", False), ("6", "stop", True)], suffix))
        store.finish_run(run_id, "finished")
    return store


def test_store_generations_with_filters(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _store_with_two_runs(runs).close()
    out = tmp_path / "out.jsonl"

    refused = import_logs(runs, out)  # every answer in a run answers an eval example
    assert refused.written == 0 and _read(out) == []
    assert refused.skipped == {EVAL_SKIP: 8} and "--include-eval" in EVAL_SKIP

    everything = import_logs(runs, out, include_eval=True)  # the latest run, all rungs, finished answers only
    answers = [(m[0]["content"], m[-1]["content"]) for m in _read(out)]
    assert answers == [("What is 0+0?", "0"), ("What is 1+1?", "3"), ("What is 2+2?", "4"),
                       ("What is 1+1?", "2"), ("What is 2+2?", "5"), ("What is 3+3?", "6")]
    assert everything.skipped == {"finish_reason 'length' or error": 1, "duplicate chat": 1}

    passed = import_logs(runs, out, run_id="run-a", passed_only=True, include_eval=True)
    assert [m[-1]["content"] for m in _read(out)] == ["0 (a)", "4 (a)", "2 (a)", "6 (a)"]
    assert passed.skipped["a check failed (--passed-only)"] == 2  # the truncated one fails on finish_reason

    import_logs(runs / "ladder.sqlite", out, rung="few_shot", passed_only=True, include_eval=True)
    assert [m[-1]["content"] for m in _read(out)] == ["0", "2", "6"]
    assert [e.expected for e in read_examples(out)] == ["0", "2", "6"]


def test_store_min_rating_reads_the_people_s_ratings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    store = _store_with_two_runs(runs)
    few_shot = [r for r in store.rung_results("run-b") if r.rung == "few_shot"][0]
    gens = store.generations(few_shot.id)

    def rate(gid: int, rater: str, score: int | None) -> None:
        store.add_assessments(gid, [Assessment("review", "human", source_kind="human", source_name=rater,
                                               score=score, metadata={"seconds": 3.0, "position": 1})])

    rate(gens[1].id, "ada", 2)
    rate(gens[1].id, "ada", 5)  # ada changed her mind: her latest counts
    rate(gens[1].id, "bo", 3)  # mean of ada 5 and bo 3: 4
    rate(gens[2].id, "ada", 3)
    rate(gens[3].id, "bo", None)  # a pass/fail or a comment without a rating is no rating
    store.add_assessments(gens[0].id, [Assessment("judge", "knowledge", source_kind="llm_judge", score=5)])
    store.close()
    out = tmp_path / "out.jsonl"
    result = import_logs(runs, out, rung="few_shot", min_rating=3.5, include_eval=True)
    assert [m[-1]["content"] for m in _read(out)] == ["2"]
    assert result.written == 1 and result.skipped == {"human rating missing or below 3.5": 3}
    refused = import_logs(runs, out, rung="few_shot", min_rating=3.5)
    assert refused.written == 0 and refused.skipped == {EVAL_SKIP: 4}


def test_source_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="no run store here"):
        import_logs(tmp_path, tmp_path / "o.jsonl")
    assert not (tmp_path / "ladder.sqlite").exists(), "a typo must not create an empty store"
    runs = tmp_path / "runs"
    _store_with_two_runs(runs).close()
    with pytest.raises(LogError, match="no run 'nope'; runs: run-a, run-b"):
        import_logs(runs, tmp_path / "o.jsonl", run_id="nope")
    with pytest.raises(LogError, match="has no rung 'lora_sft'"):
        import_logs(runs, tmp_path / "o.jsonl", rung="lora_sft")
    with pytest.raises(LogError, match="cannot read"):
        import_logs(tmp_path / "missing.jsonl", tmp_path / "o.jsonl")
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps(_call("q", "a")) + "\n", encoding="utf-8")
    with pytest.raises(LogError, match="apply to a runs folder"):
        import_logs(log, tmp_path / "o.jsonl", passed_only=True)
