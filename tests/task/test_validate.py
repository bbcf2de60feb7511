"""`ladder data validate` as a library: the malformed corpus, token statistics, cost, exit codes,
and a fuzz test that feeds random bytes and random JSON and expects a report, never a crash."""

from __future__ import annotations

import importlib.util
import json
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ladder.task.validate import TokenCounter, validate_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _corpus_module():
    spec = importlib.util.spec_from_file_location("make_malformed", FIXTURES / "make_malformed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def counter(backend) -> TokenCounter:
    return TokenCounter.for_model(backend.name, backend.tokenizer)


def _chats(n: int) -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"What is {i} + {i}?"},
                          {"role": "assistant", "content": f"{i} + {i} = {2 * i}."}]} for i in range(n)]


def _write(path: Path, rows: list[object], prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + "".join(json.dumps(r) + "\n" for r in rows).encode())
    return path


def test_malformed_corpus_every_line_reported_with_its_code(counter: TokenCounter) -> None:
    module = _corpus_module()
    assert module.OUT.read_bytes() == module.build(), "run tests/fixtures/make_malformed.py and commit the file"
    cases = module.CASES
    assert sum(code is not None for _, code in cases) >= 60

    report = validate_file(module.OUT, counter, max_tokens=module.MAX_TOKENS)

    codes: dict[int, list[str]] = defaultdict(list)
    for p in report.problems:
        codes[p.line].append(p.code)
    for lineno, (line, expected) in enumerate(cases, start=1):
        if expected is None:
            assert codes[lineno] == [], (lineno, line[:80])
        else:
            assert codes[lineno] == [expected], (lineno, line[:80])
    assert codes[0] == ["too_few_examples"]  # only the good lines are usable
    assert report.lines_read == len(cases)
    assert report.accepted == sum(code is None for _, code in cases)
    assert report.accepted + report.rejected == report.lines_read
    assert report.exit_code == 1
    printed = report.lines()
    for lineno, (_, expected) in enumerate(cases, start=1):
        if expected is not None:
            assert any(line.startswith(f"{module.OUT}:{lineno}: {expected}: ") for line in printed), lineno
    # Every check the validator knows is exercised by the corpus.
    assert {c for _, c in cases if c} >= {
        "invalid_json", "not_a_dict", "missing_messages", "message_not_a_dict", "missing_role", "missing_content",
        "unrecognized_key", "unrecognized_role", "content_not_string", "no_assistant", "bad_weight", "empty_line",
        "bom", "not_utf8", "nul_byte", "lone_surrogate", "duplicate_key", "mixed_formats", "too_long",
    }


def test_clean_file_token_statistics_and_cost(tmp_path: Path, counter: TokenCounter) -> None:
    rows = _chats(12)
    rows[0]["messages"] += [{"role": "user", "content": "And again?"},
                            {"role": "assistant", "content": "I said: 0 + 0 = 0.", "weight": 0}]
    path = _write(tmp_path / "train.jsonl", rows)
    report = validate_file(path, counter, epochs=2, price_per_1m=8.0)
    assert report.problems == [] and report.exit_code == 0
    assert (report.lines_read, report.accepted, report.rejected) == (12, 12, 0)
    assert report.max_tokens == counter.context > 0

    tok = counter.tokenizer
    def n(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])
    expected_totals = [n(tok.apply_chat_template(r["messages"], tokenize=False)) for r in rows]
    assert report.tokens == expected_totals
    # The weight-0 turn is in the example but not trained on.
    assert report.trained_tokens[0] == n(rows[0]["messages"][1]["content"])
    assert report.trained_tokens[1:] == [n(r["messages"][1]["content"]) for r in rows[1:]]
    assert report.estimated_cost == pytest.approx(sum(expected_totals) * 2 * 8.0 / 1e6)
    summary = "\n".join(report.lines())
    assert "12 lines read: 12 accepted, 0 rejected" in summary
    stats = f"min {min(expected_totals)}, median {statistics.median(expected_totals):g}, max {max(expected_totals)}"
    assert stats in summary
    assert f"= {report.estimated_cost:.4f} USD" in summary


def test_leading_bom_is_reported_but_the_line_is_kept(tmp_path: Path, counter: TokenCounter) -> None:
    path = _write(tmp_path / "bom.jsonl", _chats(10), prefix=b"\xef\xbb\xbf")
    report = validate_file(path, counter)
    assert [(p.line, p.code, p.rejects) for p in report.problems] == [(1, "bom", False)]
    assert (report.accepted, report.rejected, report.exit_code) == (10, 0, 1)


def test_too_long_uses_the_model_context_by_default(tmp_path: Path, counter: TokenCounter) -> None:
    long_answer = "word " * (counter.context + 10)
    long_chat = [{"role": "user", "content": "Talk."}, {"role": "assistant", "content": long_answer}]
    rows = _chats(10) + [{"messages": long_chat}]
    report = validate_file(_write(tmp_path / "d.jsonl", rows), counter)
    assert [(p.line, p.code) for p in report.problems] == [(11, "too_long")]
    assert report.accepted == 10


def test_preference_and_text_files_are_counted(tmp_path: Path, counter: TokenCounter) -> None:
    tok = counter.tokenizer
    prefs = [{"prompt": f"Is {i} even?", "chosen": "yes" if i % 2 == 0 else "no", "rejected": "maybe, who knows"}
             for i in range(10)]
    report = validate_file(_write(tmp_path / "prefs.jsonl", prefs), counter)
    assert (report.format, report.accepted, report.problems) == ("preference", 10, [])
    n = lambda text: len(tok(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    assert report.trained_tokens == [n(p["chosen"]) + n(p["rejected"]) for p in prefs]
    longer = [{"role": "user", "content": prefs[0]["prompt"]}, {"role": "assistant", "content": "maybe, who knows"}]
    assert report.tokens[0] == n(tok.apply_chat_template(longer, tokenize=False))

    texts = [{"text": f"Paragraph {i} of the domain corpus."} for i in range(10)]
    report = validate_file(_write(tmp_path / "corpus.jsonl", texts), counter)
    assert (report.format, report.accepted) == ("text", 10)
    assert report.tokens == report.trained_tokens == [n(t["text"]) for t in texts]


@pytest.mark.parametrize("case", ["missing", "directory", "utf16"])
def test_unreadable_files_exit_2(tmp_path: Path, case: str) -> None:
    path = tmp_path / "d.jsonl"
    if case == "directory":
        path.mkdir()
    elif case == "utf16":
        path.write_bytes("\ufeff".encode("utf-16-le") + json.dumps(_chats(1)[0]).encode("utf-16-le"))
    report = validate_file(path)
    assert report.exit_code == 2 and report.unreadable
    assert report.lines() == [f"{path}: unreadable: {report.unreadable}"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_role = st.sampled_from(["system", "user", "assistant", "tool", "", 3]) | st.text(max_size=5)
_message = st.dictionaries(st.sampled_from(["role", "content", "weight", "name", "x"]),
                           _role | st.text() | st.integers(), max_size=4)
_chatlike = st.builds(lambda ms: {"messages": ms}, st.lists(_message | _json, max_size=4))
_valid_chat = st.builds(  # random text in a valid shape: reaches the tokenizer and the statistics
    lambda q, a: {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
    st.text(min_size=1), st.text(min_size=1),
)
_line = (
    st.binary(max_size=60)
    | _valid_chat.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    | _json.map(lambda v: json.dumps(v).encode())
    | _chatlike.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, max_size=8))
def test_fuzz_never_crashes_and_counts_add_up(tmp_path: Path, counter: TokenCounter, lines: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    data = b"\n".join(lines)
    path.write_bytes(data)
    report = validate_file(path, counter, max_tokens=256)
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):  # UTF-16/32: refused whole
        assert report.exit_code == 2 and report.lines_read == 0
        return
    assert report.exit_code in (0, 1)
    assert report.accepted + report.rejected == report.lines_read
    assert all(0 <= p.line <= report.lines_read for p in report.problems)
    assert len(report.tokens) == report.accepted
    report.lines()
