"""ladder.task.init: checks proposed from references, the seeded split, the written task.yaml."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest

from ladder.metrics.checks import run_checks
from ladder.task import load_task
from ladder.task.datasets import read_examples
from ladder.task.init import InitError, init_task, split_rows
from ladder.task.proposed_checks import infer_json_schema, propose_checks
from ladder.types import Example

CATEGORIES = ("billing", "delivery", "account")
ANIMALS = ("cat", "dog", "owl", "fox", "yak", "emu")
# distinct words, so that no two generated inputs are near-duplicates (numbers do not tell them apart)
NOUNS = ("apple", "bridge", "candle", "desert", "engine", "forest", "garden", "harbor", "island", "jacket",
         "kettle", "ladder", "meadow", "needle", "orchard", "pepper", "quarry", "river", "saddle", "tunnel",
         "umbrella", "valley", "wagon", "yard", "zipper", "anchor", "barrel", "canyon", "dolphin", "ember",
         "falcon", "glacier", "hammer", "igloo", "jungle", "kite", "lantern", "marble", "nest", "oyster")


def json_rows(n: int) -> list[dict]:
    """OpenAI chat rows whose answers are JSON objects: an enum key, a free string key, a number."""
    rows = []
    for i in range(n):
        answer = {"category": CATEGORIES[i % 3], "customer": f"Customer {i} Ltd", "amount": i * 1.5 if i % 2 else i}
        if i % 2:
            answer["note"] = "urgent"
        rows.append({"messages": [
            {"role": "system", "content": "Route the ticket."},
            {"role": "user", "content": f"Ticket {i}: the {ANIMALS[i % 6]} ate invoice {i * 7}"},
            {"role": "assistant", "content": json.dumps(answer)}]})
    return rows


def label_rows(n: int) -> list[dict]:
    """Alpaca rows with a label answer: positive or negative."""
    return [{"instruction": "Is the review positive or negative?",
             "input": f"Review: the {NOUNS[i]} was {'lovely' if i % 2 else 'awful'}",
             "output": "positive" if i % 2 else "negative"} for i in range(n)]


def number_rows(n: int) -> list[dict]:
    """ShareGPT rows with a bare number answer (two decimals)."""
    return [{"conversations": [{"from": "human", "value": f"What is {i} divided by 8, to two decimals?"},
                               {"from": "gpt", "value": f"{i / 8:.2f}"}]} for i in range(n)]


def worked_rows(n: int) -> list[dict]:
    """prompt/completion rows whose answers end with the number."""
    return [{"prompt": f"Add {i} and {i * 3}.", "completion": f"{i} plus {i * 3} makes {i * 4}"} for i in range(n)]


def short_text_rows(n: int) -> list[dict]:
    """input/expected rows with short free-text answers, all different."""
    return [{"input": f"Which animal carries the {NOUNS[i]} in the parade?",
             "expected": f"the {NOUNS[-1 - i]} {ANIMALS[i % 6]}"} for i in range(n)]


def free_text_rows(n: int) -> list[dict]:
    """input/expected rows with sentence answers naming a person (the key phrase)."""
    names = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov")
    return [{"input": f"Who wrote memo {i} about the {ANIMALS[i % 6]}?",
             "expected": f"The memo number {i} was written by {names[i % 5]} after a long meeting about the "
                         f"{ANIMALS[i % 6]}."} for i in range(n)]


FORMATS = {"openai": json_rows, "alpaca": label_rows, "sharegpt": number_rows,
           "prompt_completion": worked_rows, "pair": short_text_rows, "free_text": free_text_rows}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def kinds(proposal) -> list[tuple[str, str]]:
    return [(c.fields["kind"], c.fields["tag"]) for c in proposal.checks]


def test_json_schema_inferred_from_references() -> None:
    values = [json.loads(json.loads(json.dumps(r))["messages"][-1]["content"]) for r in json_rows(12)]
    schema = infer_json_schema(values)
    assert schema["required"] == ["category", "customer", "amount"]  # "note" is in half the rows only
    assert schema["additionalProperties"] is False
    assert schema["properties"]["category"] == {"type": "string", "enum": sorted(CATEGORIES)}
    assert schema["properties"]["customer"] == {"type": "string"}  # every value differs: no enum
    assert schema["properties"]["amount"] == {"type": "number"}  # ints and floats
    assert schema["properties"]["note"] == {"type": "string", "enum": ["urgent"]}  # one value, repeated
    for v in values:
        jsonschema.validate(v, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**values[0], "category": "refunds"}, schema)
    assert infer_json_schema([[1], [2, 3]]) == {"type": "array"}


@pytest.mark.parametrize("fmt, expected", [
    ("openai", [("json", "form"), ("exact", "knowledge"), ("exact", "knowledge"), ("numeric", "knowledge")]),
    ("alpaca", [("exact", "knowledge"), ("regex", "form")]),
    ("sharegpt", [("numeric", "knowledge"), ("regex", "form")]),
    ("prompt_completion", [("numeric", "knowledge")]),
    ("pair", [("regex", "form"), ("contains", "knowledge")]),
    ("free_text", [("regex", "form"), ("regex", "form"), ("contains", "knowledge")]),
])
def test_proposed_checks_pass_the_references_and_fail_wrong_answers(tmp_path: Path, fmt: str, expected) -> None:
    examples = read_examples(write_jsonl(tmp_path / f"{fmt}.jsonl", FORMATS[fmt](12)))
    proposal = propose_checks([e.expected for e in examples])
    assert kinds(proposal) == expected
    assert all(c.why.startswith(c.fields["tag"] + ":") for c in proposal.checks)  # each says why
    specs = tuple(_spec(c.fields) for c in proposal.checks)
    for e in examples:
        assert all(r.passed for r in run_checks(e.expected, e.expected, specs)), (e.expected, specs)
    # another row's answer passes every form check but fails a knowledge check
    for e, other in zip(examples, examples[1:] + examples[:1]):
        if e.expected == other.expected:
            continue
        results = run_checks(other.expected, e.expected, specs)
        assert all(r.passed for r in results if r.tag == "form")
        assert not all(r.passed for r in results if r.tag == "knowledge"), (other.expected, e.expected)


def _spec(fields: dict):
    from ladder.metrics.checks import validate_check

    return validate_check(fields)


def test_numeric_tolerance_follows_the_references_decimals(tmp_path: Path) -> None:
    refs = [f"{i / 8:.2f}" for i in range(10)]
    (check, _) = propose_checks(refs).checks
    assert check.fields["tolerance"] == pytest.approx(0.005)
    spec = _spec(check.fields)
    assert run_checks("It is about 0.126", "0.12", (spec,))[0].passed is False
    assert run_checks("Step 1: 1/8 = 0.124", "0.12", (spec,))[0].passed is True  # the last number counts
    assert "tolerance" not in propose_checks(["3", "14", "15", "92"]).checks[0].fields


def test_free_text_without_a_shared_key_phrase_says_so() -> None:
    refs = ["It rains a lot in the autumn months here.", "bring a coat and warm boots for the walk",
            "the path is steep near the top of the hill"]
    proposal = propose_checks(refs)
    assert [c.fields["tag"] for c in proposal.checks] == ["form"]
    assert any("judge" in note for note in proposal.notes)


def _examples(inputs: list[str], answers: list[str]) -> list[Example]:
    return [Example(id=str(i), input=q, expected=a) for i, (q, a) in enumerate(zip(inputs, answers))]


def test_split_is_seeded_and_keeps_near_duplicates_out_of_eval() -> None:
    rng = random.Random(1)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda sigma".split()
    inputs = [f"order {i}: " + " ".join(rng.sample(words, 8)) for i in range(40)]
    answers = [f"answer {i}" for i in range(40)]
    # rows 40..79 repeat rows 0..39 with another order number: same answer, near-duplicate input
    inputs += [text.replace("order ", "order 9") for text in inputs]
    answers += answers
    examples = _examples(inputs, answers)
    split = split_rows(examples, 0.2, seed=3)
    assert split == split_rows(examples, 0.2, seed=3)
    assert split != split_rows(examples, 0.2, seed=4)
    assert sorted(split.train + split.eval) == list(range(80))
    assert split.moved and set(split.moved) <= set(split.train)
    from ladder.task.near_duplicates import near_duplicates

    assert near_duplicates([examples[i] for i in split.train], [examples[i] for i in split.eval]) == []
    plain = split_rows(_examples(inputs[:40], answers[:40]), 0.2, seed=3)
    assert len(plain.eval) == 8 and plain.moved == ()
    assert split_rows(examples[:1], 0.2, seed=0).train == ()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_written_task_loads_with_its_split(tmp_path: Path, fmt: str) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", FORMATS[fmt](15))
    out = tmp_path / "task" / "task.yaml"
    result = init_task(data, out, seed=7)
    task = load_task(out)
    assert (len(task.train), len(task.eval)) == (12, 3)
    assert [p.name for p in result.written] == ["rows.train.jsonl", "rows.eval.jsonl", "task.yaml"]
    assert task.spec.data.train == Path("rows.train.jsonl") and task.spec.corpus is None
    originals = {json.dumps(r) for r in FORMATS[fmt](15)}
    for name in ("rows.train.jsonl", "rows.eval.jsonl"):  # the split keeps the rows as they were
        assert set((out.parent / name).read_text().splitlines()) <= originals
    assert [c.name for c in task.checks] == [c.fields["name"] for c in result.plan.proposal.checks]
    assert list(task.spec.rungs) == ["zero_shot", "few_shot", "lora_sft"]


def test_eval_file_corpus_and_no_overwrite(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", label_rows(10))
    evals = write_jsonl(tmp_path / "eval.jsonl", label_rows(4))
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.md").write_text("Reviews are positive or negative.\n")
    out = tmp_path / "sub" / "task.yaml"
    result = init_task(train, out, eval_file=evals, corpus=corpus)
    task = load_task(out)
    assert (len(task.train), len(task.eval)) == (10, 4)
    assert task.spec.data.eval == Path("../eval.jsonl") and task.spec.corpus == Path("../docs")
    assert result.written == (out,)
    assert list(task.spec.rungs) == ["zero_shot", "few_shot", "rag", "lora_sft"]

    before = out.read_text()
    with pytest.raises(InitError) as e:
        init_task(train, out, eval_file=evals)
    assert e.value.problems == [f"{out}: exists (use --force to overwrite)"]
    init_task(train, out, eval_file=evals, force=True)
    assert out.read_text() != before  # no corpus this time
    with pytest.raises(InitError, match="not a folder"):
        init_task(train, tmp_path / "other.yaml", corpus=tmp_path / "missing")
