"""The prompt searches with the real local model on a cut of ticket-routing: a Candidate with a
build cost, and a second run answered wholly from the call cache; the log-likelihood scoring
they can rank by."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ladder.rungs import BY_NAME, RungContext, parse_options
from ladder.task import load_task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.types import Message

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def task():
    full = load_task(ROOT / "examples/ticket-routing/task.yaml")
    spec = full.spec.model_copy(update={"generation": full.spec.generation.model_copy(update={"max_new_tokens": 16})})
    return replace(full, spec=spec, train=full.train[:10], eval=full.eval[:2])


@pytest.mark.parametrize("rung_name, options", [
    ("few_shot_bootstrap", {"k": 2, "sets": 1, "select_rows": 3, "first_rows": 3}),
    ("prompt_opt", {"score": "loglikelihood", "select_rows": 3, "first_rows": 3, "fit_rows": 2, "rounds": 1}),
])
def test_a_search_costs_its_calls_and_a_rerun_asks_nothing(task, backend, tmp_path, rung_name, options):
    store = Store(tmp_path / "runs")
    rung = BY_NAME[rung_name]
    opts = parse_options(rung, options)
    first = CachedBackend(backend, store)
    candidate = rung.prepare(RungContext(task=task, backend=first, artifacts=tmp_path / "a"), opts)
    assert first.misses > 0
    assert candidate.kind == "prompt" and candidate.build.money > 0 and candidate.build.seconds > 0
    assert candidate.build.call_tokens > 0 and not candidate.build.reused
    again = CachedBackend(backend, Store(tmp_path / "runs"))
    second = rung.prepare(RungContext(task=task, backend=again, artifacts=tmp_path / "a"), opts)
    assert again.misses == 0 and again.hits == first.misses + first.hits
    assert second.prompt == candidate.prompt and second.build.reused
    assert second.build.money == candidate.build.money  # a cached answer still counts what it cost


def test_answer_scores_are_one_pass_per_batch_and_padding_free(backend):
    chats = [(Message("system", "Answer with a colour."), Message("user", "What colour is the sky?")),
             (Message("user", "Name a colour that is also a fruit, in one word please."),)]
    answers = ["blue", "orange"]
    batched = backend.answer_scores(chats, answers)
    alone = [backend.answer_scores([c], [a])[0] for c, a in zip(chats, answers)]
    for b, a in zip(batched, alone):
        assert b.error is None and b.logprob < 0 and b.prompt_tokens == a.prompt_tokens
        assert b.logprob == pytest.approx(a.logprob, abs=1e-3)
    # what each score is by definition: the log-softmax of the whole head's logits at the positions
    # before each answer token (and the end of the turn), summed
    import torch

    from ladder.backends.local import render_chat

    tok, model = backend.tokenizer, backend.loaded_model(None)
    for chat, answer, got in zip(chats, answers, batched):
        prompt = tok(render_chat(tok, chat), add_special_tokens=False)["input_ids"]
        reply = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([prompt + reply])).logits[0].float(), dim=-1)
        want = sum(float(logprobs[len(prompt) - 1 + i, t]) for i, t in enumerate(reply))
        assert got.logprob == pytest.approx(want, abs=1e-3)
    # the same chat: the answer the model gives greedily is likelier than an unrelated one
    sky = backend.answer_scores([chats[0], chats[0]], ["Blue", "Ninety-seven tractors"])
    assert sky[0].logprob > sky[1].logprob
