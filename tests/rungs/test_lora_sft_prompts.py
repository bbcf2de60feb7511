"""lora_sft's `prompt:`: the adapter asked (and trained) under the zero-shot, instructed,
few-shot or rag prompt, one row per kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.climb import select_rungs
from ladder.rungs import RungContext, unmet
from ladder.rungs.asking import asking
from ladder.rungs.lora_sft import LoraSFT
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.rag import OPEN
from ladder.task import load_task

from .conftest import write_task


def test_a_list_of_prompts_climbs_one_row_per_kind_each_with_its_prerequisites(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "t", "  lora_sft: {prompt: [zero_shot, few_shot, rag, instructed], k: 2}\n"))
    rows = select_rungs(task)
    assert [r.name for r, _ in rows] == ["lora_sft", "lora_sft(few_shot)", "lora_sft(rag)", "lora_sft(instructed)"]
    assert [o.prompt for _, o in rows] == ["zero_shot", "few_shot", "rag", "instructed"]
    reasons = {r.name: unmet(r, task, o) for r, o in rows}
    assert reasons["lora_sft(instructed)"] == "lora_sft with prompt: instructed needs `prompts.instructions` in task.yaml"
    assert reasons["lora_sft"] is None and reasons["lora_sft(rag)"] is None and reasons["lora_sft(few_shot)"] is None
    with pytest.raises(ValueError, match="each kind once"):
        select_rungs(load_task(write_task(tmp_path / "u", "  lora_sft: {prompt: [rag, rag]}\n")))
    no_corpus = task.spec.model_copy(update={"corpus": None})
    import dataclasses

    assert "needs a `corpus:`" in unmet(rows[2][0], dataclasses.replace(task, spec=no_corpus), rows[2][1])


def test_few_shot_and_zero_shot_training_prompts(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "t", "  lora_sft: {prompt: few_shot, k: 2}\n"))
    ctx = RungContext(task=task, backend=None, artifacts=tmp_path / "a")  # type: ignore[arg-type]
    options = LoraSFT.Options(prompt="few_shot", k=2)
    asked = asking(ctx, "few_shot", options)
    chat = asked.prompt.render(task.eval[0])
    assert [m.role for m in chat] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert asked.train_prompt == asked.prompt  # trained under the prompt it is asked with
    bare = asking(ctx, "few_shot", options.model_copy(update={"train_on_prompt": False}))
    assert bare.prompt == asked.prompt and bare.train_prompt == ChatPrompt(system="Answer briefly.")
    assert asking(ctx, "zero_shot", options).prompt == ChatPrompt(system="Answer briefly.")


@pytest.mark.slow
def test_prompt_rag_trains_with_context_and_answers_under_the_rag_prompt(tmp_path: Path, backend, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    task = load_task(write_task(tmp_path / "t", "  lora_sft: {prompt: rag}\n"))
    ctx = RungContext(task=task, backend=backend, artifacts=tmp_path / "a")
    options = LoraSFT.Options(prompt="rag", retriever="bm25", chunk_size=40, chunk_overlap=5, top_k=2, epochs=1,
                              batch_size=4, rank=4, max_length=512)
    candidate = LoraSFT().prepare(ctx, options)
    assert candidate.rung == "lora_sft(rag)"
    manifest = json.loads((Path(candidate.adapter) / "training.json").read_text())
    assert manifest["steps"] == 1 and not candidate.build.reused
    # trained on prompts that carry context: far more tokens than the bare questions would take
    bare = sum(backend.count_tokens(ChatPrompt(system="Answer briefly.").render(e)) for e in task.train)
    assert candidate.build.train_tokens > 2 * bare
    assert OPEN in candidate.prompt.render(task.eval[0])[-1].content  # answers with retrieved context
    assert set(candidate.retrievals) == {e.id for e in task.eval}
    assert LoraSFT().prepare(ctx, options).build.reused  # identical inputs: the adapter is reused
