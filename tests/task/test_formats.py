"""Data formats: detection, parsing, writing, round trips and refusals of lossy conversions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.task import formats
from ladder.task.convert import convert_file
from ladder.task.formats import Conversation, ConversionError, FormatError, Preference, Text, Turn

CHAT = {"id": "c1", "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "4"},
]}
ROWS = {
    "openai": CHAT,
    "alpaca": {"instruction": "Add.", "input": "2+2", "output": "4"},
    "sharegpt": {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]},
    "prompt_completion": {"prompt": "2+2=", "completion": "4"},
    "pair": {"input": "2+2?", "expected": "4"},
    "openai_preference": {
        "input": {"messages": [{"role": "user", "content": "2+2?"}]},
        "preferred_output": [{"role": "assistant", "content": "4"}],
        "non_preferred_output": [{"role": "assistant", "content": "5"}],
    },
    "preference": {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
    "text": {"text": "Two and two make four."},
}


@pytest.mark.parametrize("fmt", list(ROWS))
def test_every_format_is_detected_and_parsed(fmt: str) -> None:
    assert formats.detect(ROWS[fmt]) == fmt
    record = formats.parse(ROWS[fmt])
    if fmt in ("openai_preference", "preference"):
        assert record == Preference((Turn("user", "2+2?"),), "4", "5")
    elif fmt == "text":
        assert record == Text("Two and two make four.")
    else:
        assert isinstance(record, Conversation) and record.turns[-1] == Turn("assistant", "4")


def test_alpaca_input_and_system_become_turns() -> None:
    record = formats.parse({"instruction": "Add.", "input": "2+2", "output": "4", "system": "Be brief."})
    assert record.turns == (Turn("system", "Be brief."), Turn("user", "Add.\n\n2+2"), Turn("assistant", "4"))
    assert formats.parse({"instruction": "Add 2+2.", "output": "4"}).turns[0] == Turn("user", "Add 2+2.")


def test_preference_prompt_may_be_messages_and_answers_message_lists() -> None:
    row = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
           "chosen": [{"role": "assistant", "content": "good"}], "rejected": "bad", "id": 3}
    assert formats.parse(row) == Preference((Turn("system", "S"), Turn("user", "Q")), "good", "bad", (("id", 3),))


@pytest.mark.parametrize(
    ("row", "code", "message"),
    [
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0.5}]},
         "bad_weight", "messages[1].weight must be 0 or 1 (got 0.5)"),
        ({"conversations": [{"from": "human", "value": "q"}]}, "no_assistant",
         "'conversations' has no 'gpt' turn to learn from"),
        ({"conversations": [{"from": "human", "value": "q", "lang": "en"}, {"from": "gpt", "value": "a"}]},
         "unrecognized_key", "conversations[0] has unrecognized key 'lang' (allowed: from, value)"),
        ({"instruction": "q", "output": 4}, "content_not_string", "'output' must be a string (got number)"),
        ({"instruction": "q", "output": "a", "history": []}, "unrecognized_key",
         "unrecognized key 'history' (allowed: instruction, input, output, system)"),
        ({"prompt": "q", "chosen": "a"}, "missing_key", "missing key 'rejected'"),
        ({"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [],
          "non_preferred_output": "b"}, "missing_messages", "'preferred_output' must be a non-empty list"),
        ({"prompt": "q", "chosen": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}],
          "rejected": "c"}, "wrong_type", "'chosen' must hold exactly one assistant message (got 2)"),
        ({"input": {"messages": [{"role": "user", "content": "q"}], "tools": []}, "preferred_output": "a",
          "non_preferred_output": "b"}, "unrecognized_key", "unrecognized key 'input.tools' (allowed: messages)"),
        ({"text": ""}, "missing_content", "'text' is empty"),
        ({"answer": "a"}, "missing_messages", "missing 'messages' list (no known format fits the keys 'answer')"),
        ("row", "not_a_dict", "expected a JSON object, got string"),
    ],
)
def test_bad_rows_name_the_problem(row: object, code: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        formats.parse(row)
    assert (info.value.code, str(info.value)) == (code, message)


def test_conversions_between_the_three_targets() -> None:
    chat = formats.parse(CHAT)
    alpaca = formats.to_json(chat, "alpaca")
    assert alpaca == {"id": "c1", "instruction": "2+2?", "input": "", "output": "4", "system": "Be brief."}
    sharegpt = formats.to_json(chat, "sharegpt")
    assert sharegpt["conversations"][0] == {"from": "system", "value": "Be brief."}
    for row in (alpaca, sharegpt):
        assert formats.to_json(formats.parse(row), "openai") == CHAT
    pref = formats.to_json(formats.parse(ROWS["preference"]), "openai")
    assert pref == ROWS["openai_preference"]
    assert formats.parse(pref) == formats.parse(ROWS["preference"])


@pytest.mark.parametrize(
    ("row", "to", "message"),
    [
        ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                       {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]},
         "alpaca", "this chat is user -> assistant -> user -> assistant"),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0},
                       {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]},
         "sharegpt", "weight 0; sharegpt has no per-turn weights"),
        (ROWS["preference"], "alpaca", "preference rows convert only to openai"),
        (ROWS["text"], "openai", "continued pre-training text"),
    ],
)
def test_lossy_conversions_are_refused(row: dict, to: str, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        formats.to_json(formats.parse(row), to)


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).filter(str.strip)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_text, _text), min_size=1, max_size=4), st.one_of(st.none(), _text))
def test_chat_round_trips_through_sharegpt(exchanges: list[tuple[str, str]], system: str | None) -> None:
    turns = [Turn("system", system)] if system else []
    for question, answer in exchanges:
        turns += [Turn("user", question), Turn("assistant", answer)]
    chat = Conversation(tuple(turns))
    back = formats.parse(json.loads(json.dumps(formats.to_json(chat, "sharegpt"))))
    assert back == chat
    assert formats.parse(formats.to_json(chat, "openai")) == chat


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_convert_file_reads_mixed_formats_and_writes_one(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [ROWS["openai"], ROWS["alpaca"], ROWS["sharegpt"], ROWS["prompt_completion"]])
    result = convert_file(src, tmp_path / "out.jsonl", "sharegpt")
    assert (result.exit_code, result.written, result.problems) == (0, 4, [])
    assert result.formats_read == {"openai": 1, "alpaca": 1, "sharegpt": 1, "prompt_completion": 1}
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows[2] == ROWS["sharegpt"]
    assert all(formats.detect(r) == "sharegpt" for r in rows)


def test_convert_file_writes_nothing_when_a_line_fails(tmp_path: Path) -> None:
    multi = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                          {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join([json.dumps(CHAT).encode(), json.dumps(multi).encode(), b"{oops"]) + b"\n")
    result = convert_file(src, tmp_path / "out.jsonl", "alpaca")
    assert result.exit_code == 1 and result.written == 0
    assert [p.split(": ")[1] for p in result.problems] == ["would_lose_information", "invalid_json"]
    assert result.problems[0].startswith(f"{src}:2: ") and result.problems[1].startswith(f"{src}:3: ")
    assert not (tmp_path / "out.jsonl").exists()
    assert convert_file(tmp_path / "missing.jsonl", tmp_path / "o.jsonl", "openai").exit_code == 2
