"""Acceptance: a task with planted failures of every class, built from real generations.

The student is the real default model (the session `backend`). References and per-example
checks are crafted around what it really answered; the teacher is the same real model under a
pirate system prompt (so it really answers differently); retrieval records name a gold source
that was or was not retrieved; blocked and failed calls come from a real `ladder serve` on
127.0.0.1 through the real OpenAI-compatible backend, with its test-only fault header. The
diagnosis must put every planted failure in its class.
"""

from __future__ import annotations

import pytest

from ladder.backends.endpoints import Endpoint
from ladder.backends.openai_compat import OpenAICompatBackend
from ladder.backends.retry import RetrySettings
from ladder.diagnosis import diagnose
from ladder.diagnosis.judge import words
from ladder.diagnosis.teacher import ask_teacher
from ladder.eval.runner import evaluate
from ladder.metrics.checks import make_check
from ladder.report import summarize, write_report
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import RungRecord, Store
from ladder.types import Candidate, Example, GenerationParams, Message, Retrieval, RetrievedChunk

pytestmark = pytest.mark.slow

PARAMS = GenerationParams(max_new_tokens=12)
QUESTIONS = ("What is the capital of France?", "What do bees make?")
PIRATE = "You are a pirate. Start every answer with 'Ahoy matey' and talk like a pirate."
NEVER = "zqxjvb"  # a word no answer contains


class UserOnly:
    def render(self, example: Example):
        return (Message("user", example.input),)

    def describe(self):
        return {"kind": "user-only"}


class PromptedTeacher:
    """The real model under another system prompt: a teacher that really answers differently."""

    def __init__(self, inner):
        self.inner = inner
        self.name = "pirate-teacher"

    def fingerprint(self, adapter=None):
        return self.inner.fingerprint(adapter) + "+pirate-system"

    def count_tokens(self, chat):
        return self.inner.count_tokens((Message("system", PIRATE), *chat))

    def generate(self, chats, params, adapter=None, on_progress=None):
        return self.inner.generate([(Message("system", PIRATE), *c) for c in chats], params, adapter, on_progress)


def check(name, kind, tag, **kw):
    return make_check(kind, name=name, tag=tag, **kw)


def any_text():
    return check("not empty", "regex", "form", pattern=r"\S")


def says(word):
    return check(f"says {word}", "contains", "knowledge", value=word, ignore_case=True)


def longest(ws):
    return max(sorted(ws), key=len)


def remote(server, monkeypatch, fault):
    monkeypatch.setenv(server.key_env, server.key)
    endpoint = Endpoint(name="test", base_url=server.base_url, api_key_env=server.key_env)
    return OpenAICompatBackend(endpoint, "smollm2-135m-instruct", retry=RetrySettings(max_attempts=1),
                               headers={"X-Ladder-Test-Fault": fault})


def test_every_planted_failure_lands_in_its_class(backend, ladder_server, monkeypatch, tmp_path):
    store = Store(tmp_path / "runs")
    student = CachedBackend(backend, store)
    teacher = CachedBackend(PromptedTeacher(backend), store)
    chats = [(Message("user", q),) for q in QUESTIONS]
    said = [g.text for g in student.generate(chats, PARAMS)]
    pirate = [g.text for g in teacher.generate(chats, PARAMS)]
    own = [longest(set(words(s)) - {NEVER}) for s in said]  # a word the student did say
    only_teacher = [set(words(p)) - set(words(s)) for s, p in zip(said, pirate)]
    assert all(only_teacher), f"the teacher must answer differently: {said} vs {pirate}"
    padding = ("The reference goes on at length about history, geography, agriculture, pollination, "
               "architecture, cuisine, rivers, museums, festivals, honeycombs, colonies, hexagons and trade.")

    def ex(id, q, expected, *checks):
        return Example(id=id, input=QUESTIONS[q], expected=expected, checks=tuple(checks))

    form_only = check("starts with ANSWER:", "regex", "form", pattern=r"^ANSWER:")
    planted = {
        "passes": ex("passes", 0, said[0], any_text(), says(own[0])),
        "form": ex("form", 1, said[1], form_only, says(own[1])),
        "form_and_knowledge": ex("form_and_knowledge", 0, said[0], form_only, says(NEVER)),
        "knowledge_teacher_right": ex("knowledge_teacher_right", 0, said[0], any_text(),
                                      says(longest(only_teacher[0]))),
        "knowledge_teacher_wrong": ex("knowledge_teacher_wrong", 1, said[1], any_text(), says(NEVER)),
        "knowledge_retrieval_miss": ex("knowledge_retrieval_miss", 0, said[0], any_text(), says(NEVER)),
        "knowledge_retrieval_unused": ex("knowledge_retrieval_unused", 1, said[1], any_text(), says(NEVER)),
        "thin": ex("thin", 1, f"{said[1]} {padding}", any_text(), says(own[1])),
    }
    candidate = Candidate(rung="planted", kind="prompt", prompt=UserOnly())
    local = evaluate(candidate, list(planted.values()), student, (), PARAMS)
    assert local.results[0].generation.text == said[0]  # answered from the cache: the same real answers
    hosted = []
    for fault, id in (("content_filter", "blocked"), ("refusal", "blocked_refusal"),
                      ("status=500;times=1000;id=diag", "error")):
        e = ex(id, 0, said[0], any_text(), says(own[0]))
        hosted += evaluate(candidate, [e], remote(ladder_server, monkeypatch, fault), (), PARAMS).results
    store.start_run("r", "planted", "task.yaml", "h", {"target": {"metric": "overall", "value": 0.9}}, "m")
    rung_id = store.add_rung_result(RungRecord("r", 0, "planted", "prompt", candidate.describe(), eval_seconds=1.0),
                                    (*local.results, *hosted))

    def retrieval(gold_hit):
        hits = (RetrievedChunk("c1", "other.md", 0, 50, 1.5, is_gold=False),
                RetrievedChunk("c2", "gold.md", 0, 50, 1.2, is_gold=True if gold_hit else False))
        return Retrieval(query="q", k=2, hits=hits, gold=("gold.md",), recall=1.0 if gold_hit else 0.0,
                         reciprocal_rank=0.5 if gold_hit else 0.0)

    store.add_retrievals(rung_id, {"knowledge_retrieval_miss": retrieval(False),
                                   "knowledge_retrieval_unused": retrieval(True)})
    examples = {e.id: e for e in [*planted.values(), *(r.example for r in hosted)]}
    asked = ask_teacher(store, "r", teacher, (), examples, PARAMS, {"input_per_1k": 0.01, "output_per_1k": 0.03})
    # the teacher is asked every answered knowledge failure, and nothing else
    assert asked == 5

    (d,) = diagnose(store, "r")
    got = {e.example_id: cls for cls, exs in d.examples.items() for e in exs}
    want = {k: k for k in planted if k != "passes"} | {"blocked": "blocked", "blocked_refusal": "blocked",
                                                       "error": "error"}
    assert got == want
    assert sum(d.counts.values()) == len(want) and d.n == len(want) + 1
    assert d.teacher_asked == 5 and d.teacher_money > 0
    evidence = {e.example_id: e.evidence for exs in d.examples.values() for e in exs}
    assert "gold source was not among the retrieved" in evidence["knowledge_retrieval_miss"]
    assert "which passes the knowledge checks" in evidence["knowledge_teacher_right"]
    assert "missing:" in evidence["thin"] and "content_filter" in evidence["blocked"]

    # The report reads the same diagnosis from the store: counts per class and examples with evidence.
    summary = summarize(store, "r")
    assert [r["rung"] for r in summary["rungs"]] == ["planted"]  # the teacher's row is evidence, not a rung
    assert summary["diagnosis"][0]["counts"]["blocked"] == 2
    md = write_report(store, "r", tmp_path / "runs" / "r")["md"].read_text()
    assert "## Diagnosis" in md and "#### knowledge_teacher_right (1)" in md
    assert evidence["knowledge_retrieval_unused"] in md
