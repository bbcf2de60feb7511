from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.rungs import RungContext
from ladder.rungs.lora_sft_rag import LoraSFTRag
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.rag import OPEN
from ladder.task import load_task

from .conftest import write_task


@pytest.mark.slow
def test_trains_with_context_and_answers_under_the_rag_prompt(tmp_path: Path, backend, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    task = load_task(write_task(tmp_path / "t", "  lora_sft_rag:\n"))
    ctx = RungContext(task=task, backend=backend, artifacts=tmp_path / "a")
    options = LoraSFTRag.Options(retriever="bm25", chunk_size=40, chunk_overlap=5, top_k=2, epochs=1,
                                 batch_size=4, rank=4, max_length=512, train_with_context=True)
    candidate = LoraSFTRag().prepare(ctx, options)
    manifest = json.loads((Path(candidate.adapter) / "training.json").read_text())
    assert manifest["steps"] == 1 and not candidate.build.reused
    # trained on prompts that carry context: far more tokens than the bare questions would take
    bare = sum(backend.count_tokens(ChatPrompt(system="Answer briefly.").render(e)) for e in task.train)
    assert candidate.build.train_tokens > 2 * bare
    assert OPEN in candidate.prompt.render(task.eval[0])[-1].content  # answers with retrieved context
    assert set(candidate.retrievals) == {e.id for e in task.eval}
    assert LoraSFTRag().prepare(ctx, options).build.reused  # identical inputs: the adapter is reused
