"""few_shot_bootstrap and prompt_opt: the race and its rules on known inputs (pure functions), and
the rungs against a real chat-completions server on 127.0.0.1 (http.server in a thread) that
plays both the target model and the stronger proposer, logging every request it gets: what the
searches send, what they spend, where the budget stops them, and that no eval row reaches them."""

from __future__ import annotations

import json
import math
import random
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from ladder.asking import model_backend, teacher_backend
from ladder.rungs import BY_NAME, RungContext, parse_options
from ladder.rungs.few_shot_bootstrap import stratified
from ladder.rungs.prompt_opt import answer_form, pareto, parse_instruction, template_children, terser
from ladder.rungs.race import challenger_wins, halving_rounds, race, race_calls
from ladder.rungs.search import split_train
from ladder.task import load_task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import Example

MARKER = "EVALONLY-7Q2Z"  # planted in every eval row: no search may ever send or keep it
COLOURS = ("red", "blue", "green")


# -- the race and its rules -----------------------------------------------------------------------

def test_halving_rounds_shrink_candidates_and_grow_rows_to_all_rows():
    assert halving_rounds(10, 30, 8, 2) == [(10, 8), (5, 16), (3, 30)]
    assert halving_rounds(3, 4, 8, 2) == [(3, 4)]
    assert halving_rounds(1, 30, 8, 3) == [(1, 8), (1, 24), (1, 30)]
    # rows scored in an earlier round are not asked again
    assert race_calls(10, 30, 8, 2) == 10 * 8 + 5 * 8 + 3 * 14


def test_a_challenger_must_beat_the_paired_standard_error():
    inc = {f"r{i}": 0.0 for i in range(10)}
    one_better = dict(inc, r0=1.0)  # +0.1 on average, standard error 0.1: not more than its error
    verdict = challenger_wins(inc, one_better)
    assert not verdict.wins and math.isclose(verdict.difference, 0.1) and math.isclose(verdict.standard_error, 0.1)
    three_better = dict(inc, r0=1.0, r1=1.0, r2=1.0)  # +0.3, error 0.153
    assert challenger_wins(inc, three_better).wins
    # rows without a score on either side (a failed call) are left out of the pairing, not failed
    assert challenger_wins(dict(inc, r3=None), dict(three_better, r4=None)).n == 8
    assert not challenger_wins({"a": 0.0}, {"a": 1.0}).wins  # one pair: its error is unknown


def test_the_race_keeps_the_incumbent_unless_the_survivor_clearly_beats_it():
    rows = [f"r{i}" for i in range(8)]
    table = {
        "inc": {r: 0.0 for r in rows},
        "weak": {r: float(i < 1) for i, r in enumerate(rows)},
        "good": {r: float(i < 6) for i, r in enumerate(rows)},
        "late": {r: float(i >= 4) for i, r in enumerate(rows)},  # fails the first rows: halved away early
    }
    asked: list[tuple[str, int]] = []

    def score(name, ids):
        asked.append((name, len(ids)))
        return {i: table[name][i] for i in ids}

    trace: list[dict] = []
    assert race("inc", ["weak", "good", "late"], rows, score, 2, 2, trace) == "good"
    assert ("late", 8) not in asked and ("good", 8) in asked
    assert trace[-1]["step"] == "challenge" and trace[-1]["wins"]
    assert race("inc", ["weak"], rows, score, 2, 2, []) == "inc"  # +1/8 is within its error
    assert race("inc", [], rows, score, 2, 2, []) == "inc"


def _rows(n: int, prefix: str = "t") -> tuple[Example, ...]:
    return tuple(Example(f"{prefix}{i:03d}", f"item {i}: colour {COLOURS[i % 3]}", COLOURS[i % 3]) for i in range(n))


def test_the_split_is_seeded_disjoint_and_keeps_given_rows_in_fit():
    train = _rows(80)
    a = split_train(train, 0, 30)
    assert len(a.select) == 30 and len(a.fit) == 50 and not a.note
    assert {e.id for e in a.fit}.isdisjoint({e.id for e in a.select})
    assert split_train(tuple(reversed(train)), 0, 30).hashes()["select_hash"] == a.hashes()["select_hash"]  # order-free
    assert split_train(train, 1, 30).hashes() != a.hashes()
    kept = frozenset(e.id for e in a.select[:3])
    b = split_train(train, 0, 30, keep_in_fit=kept)
    assert kept <= {e.id for e in b.fit}
    small = split_train(_rows(24), 0, 30)  # fewer than twice the select rows: half, said in the note
    assert len(small.select) == 12 and "fewer than 30" in small.note


def test_demonstrations_are_drawn_across_the_labels():
    rows = _rows(30)  # ten of each colour
    drawn = stratified(rows, 3, COLOURS, random.Random(0))
    assert sorted(e.expected for e in drawn) == sorted(COLOURS)
    assert len({e.expected for e in stratified(rows, 5, COLOURS, random.Random(1))}) == 3
    assert len(stratified(rows[:2], 4, COLOURS, random.Random(0))) == 2  # never more than there are
    assert len(stratified(rows, 4, None, random.Random(0))) == 4  # free-form: a plain draw


def test_template_rewrites_and_proposal_parsing():
    refs = ['{"category": "billing", "urgency": "low"}', '{"category": "delivery", "urgency": "high"}']
    assert answer_form(refs) == ('Answer with one JSON object of exactly this shape and nothing else: '
                                 '{"category": billing|delivery, "urgency": high|low}')
    assert answer_form(["42", "7.5"]) == "Answer with the number alone: no words, no units."
    assert terser("Classify it (carefully).\nExample: {}\nKeys   here") == "Classify it.\nKeys here"
    children = dict(template_children("Name the colour.", COLOURS, ["red", "blue"], "colours"))
    assert set(children) == {"label list", "skeleton", "persona"}  # nothing to make terser
    assert children["label list"].endswith("nothing else:\nred\nblue\ngreen")
    assert template_children(children["label list"], COLOURS, [], "")[0][0] != "label list"  # not twice
    assert parse_instruction("Sure!\n<instruction>\nBe brief.\n</instruction> done") == "Be brief."
    assert parse_instruction("```\nBe brief.\n```") == "Be brief."
    assert pareto({"a": (0.5, 10), "b": (0.7, 30), "c": (0.4, 40), "d": (0.5, 20)}, 4, "c") == ["c", "b", "a"]


# -- the rungs against a real local chat-completions server ---------------------------------------

@pytest.fixture()
def api(chat_servers):
    """The target model (`target`) answers the colour of `item N: colour X` in one word (passing `exact`)
    when its system message lists the labels, or says `attempt A` with N % 4 < A; else in a sentence.
    The proposer (`proposer`, or any request asking for a new instruction) writes `attempt A`, A
    counting its proposals, so each proposal fixes more items than the one before."""
    state = SimpleNamespace(bodies=[], proposals=0, lock=threading.Lock())

    def respond(body, _headers):
        messages = body["messages"]
        with state.lock:
            state.bodies.append(json.dumps(body))
            if body["model"] == "proposer" or "Write a new instruction" in messages[-1]["content"]:
                state.proposals += 1
                content = (f"Here it is.\n<instruction>Name the colour, attempt {state.proposals}. "
                           "LABEL: one word.</instruction>")
            else:
                system = messages[0]["content"] if messages[0]["role"] == "system" else ""
                found = re.search(r"colour (\w+)", messages[-1]["content"])
                colour = found.group(1) if found else "unknown"
                item = re.search(r"item (\d+)", messages[-1]["content"])
                attempt = re.search(r"attempt (\d+)", system)
                # each proposal fixes more items: a child always has failures left to show
                fixed = attempt is not None and item is not None and int(item.group(1)) % 4 < int(attempt.group(1))
                content = colour if "exactly one of the following" in system or fixed else f"It is {colour}, I think."
        words = sum(len(m["content"].split()) for m in messages)
        return 200, chat_servers.completion(content, model=body["model"], prompt_tokens=words,
                                            completion_tokens=len(content.split())), {}

    state.url = chat_servers.start(respond)
    return state


def _task(folder: Path, url: str) -> Path:
    (folder / "data").mkdir(parents=True)
    train = [{"id": e.id, "input": e.input, "expected": e.expected} for e in _rows(24)]
    evals = [{"id": f"e{i}", "input": f"{MARKER} item {i}: colour {MARKER}", "expected": MARKER} for i in range(4)]
    for name, rows in (("train.jsonl", train), ("eval.jsonl", evals)):
        (folder / "data" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(
        "name: colours\n"
        f"model: {{backend: openai, name: target, base_url: '{url}'}}\n"
        f"teacher: {{backend: openai, name: proposer, base_url: '{url}',"
        " prices: {input_per_1k: 0.01, output_per_1k: 0.03}}\n"
        "data: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
        "prompts: {system: You sort items by colour., instructions: Say which colour the item is.}\n"
        "generation: {max_new_tokens: 8}\n"
        "prices: {input_per_1k: 0.001, output_per_1k: 0.002}\n"
        "rungs: {few_shot: {k: 2}}\n")
    return folder / "task.yaml"


def _prepare(rung_name: str, task_path: Path, store: Store, tmp_path: Path, **options):
    task = load_task(task_path)
    target = CachedBackend(model_backend(task), store)
    raw_teacher = teacher_backend(task, target.inner)
    teacher = None if raw_teacher is None else CachedBackend(raw_teacher, store)
    statuses: list[str] = []
    ctx = RungContext(task=task, backend=target, artifacts=tmp_path / "artifacts", teacher=teacher,
                      on_status=statuses.append)
    rung = BY_NAME[rung_name]
    candidate = rung.prepare(ctx, parse_options(rung, options))
    return task, candidate, target, teacher, statuses


def _record(candidate) -> dict:
    path = Path(candidate.build.notes.rsplit("search record ", 1)[1])
    return json.loads(path.read_text())


def test_no_search_sends_or_keeps_an_eval_row(api, tmp_path):
    task_path = _task(tmp_path / "task", api.url)
    store = Store(tmp_path / "runs")
    kept = []
    for rung, options in (("few_shot_bootstrap", {"sets": 2, "verify": "model", "select_rows": 6, "first_rows": 2}),
                          ("prompt_opt", {"proposers": ["template", "self", "endpoint"], "rounds": 2,
                                          "select_rows": 6, "first_rows": 2, "fit_rows": 6})):
        task, candidate, *_ = _prepare(rung, task_path, store, tmp_path, **options)
        rendered = [m.content for ex in task.train for m in candidate.prompt.render(ex)]
        kept += rendered + [json.dumps(candidate.prompt.describe()), candidate.build.notes,
                            json.dumps(_record(candidate))]
    assert any(MARKER in e.input for e in task.eval)  # it is there to be leaked
    assert len(api.bodies) > 20 and api.proposals >= 2  # the target, the self and the endpoint proposer were asked
    assert not [b for b in api.bodies if MARKER in b]
    assert not [k for k in kept if MARKER in k]


def test_the_endpoint_proposer_is_counted_and_stopped_at_its_caps(api, tmp_path):
    task_path = _task(tmp_path / "task", api.url)
    store = Store(tmp_path / "runs")
    _, candidate, target, teacher, statuses = _prepare(
        "prompt_opt", task_path, store, tmp_path, proposers=["endpoint"], rounds=6, max_proposer_calls=2,
        select_rows=6, first_rows=2, fit_rows=12)
    record = _record(candidate)
    asked = [json.loads(b) for b in api.bodies]
    assert sum(b["model"] == "proposer" for b in asked) == 2 == record["ledger"]["proposer_calls"]
    assert "proposer calls cap (2)" in record["ledger"]["stopped_by"]
    assert "cap 2" in statuses[0] and "proposer calls" in statuses[0]  # the estimate came before any call
    # the proposer's instruction won: the target answers in one word under it
    assert "attempt 2" in candidate.prompt.instructions and record["chosen"]["candidate"] != "seed"
    targets = sum(b["model"] == "target" for b in asked)
    assert record["ledger"]["target_calls"] == targets and targets <= record["ledger"]["caps"]["target_calls"]
    assert candidate.build.money > record["ledger"]["target_money"] > 0  # the teacher's calls are priced too
    assert candidate.build.call_tokens == record["ledger"]["target_tokens"] + record["ledger"]["proposer_tokens"]
    assert not candidate.build.reused

    # a re-run asks nothing: every call, the proposer's included, comes from the call cache
    before = len(api.bodies)
    _, again, target2, teacher2, _ = _prepare(
        "prompt_opt", task_path, store, tmp_path, proposers=["endpoint"], rounds=6, max_proposer_calls=2,
        select_rows=6, first_rows=2, fit_rows=12)
    assert len(api.bodies) == before and target2.misses == 0 and teacher2.misses == 0
    assert again.prompt == candidate.prompt and again.build.reused and again.build.money == candidate.build.money


def test_the_money_cap_refuses_a_proposer_call_that_could_pass_it(api, tmp_path):
    task_path = _task(tmp_path / "task", api.url)
    _, candidate, *_ = _prepare("prompt_opt", task_path, Store(tmp_path / "runs"), tmp_path,
                                proposers=["endpoint"], max_proposer_money=0.001, select_rows=6, first_rows=2)
    record = _record(candidate)
    assert record["ledger"]["proposer_calls"] == 0 and "proposer money cap" in record["ledger"]["stopped_by"]
    assert not [b for b in api.bodies if json.loads(b)["model"] == "proposer"]
    assert candidate.prompt.instructions == "Say which colour the item is."  # the seed is kept


def test_the_template_proposer_finds_the_label_list_and_the_target_cap_holds(api, tmp_path):
    task_path = _task(tmp_path / "task", api.url)
    store = Store(tmp_path / "runs")
    _, candidate, *_ = _prepare("prompt_opt", task_path, store, tmp_path, select_rows=6, first_rows=2, fit_rows=12)
    record = _record(candidate)
    assert "exactly one of the following" in candidate.prompt.instructions
    assert record["ledger"]["proposer_calls"] == 0 and api.proposals == 0
    assert record["split"]["select_rows"] == 6 and record["split"]["fit_rows"] == 18
    _, capped, *_ = _prepare("prompt_opt", task_path, store, tmp_path, select_rows=6, first_rows=2, fit_rows=6,
                             max_target_calls=10)
    capped_record = _record(capped)
    assert capped_record["ledger"]["target_calls"] <= 10 and "target calls cap (10)" in capped_record["ledger"]["stopped_by"]
