"""lora_sft_rag: a LoRA adapter answering under the rag prompt (retrieved context + question).

Combines the two: fine-tuning for behaviour and form, retrieval for facts. With
`train_with_context: true` the adapter is trained on the training split rendered with its own
retrieved context, so it learns to read the block; otherwise on the bare questions. Training and
adapter reuse are the fine-tuning rungs' shared helpers (rungs/finetune.py).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ladder.retrieval.chunking import ChunkingSpec
from ladder.rungs.base import RungContext, first_unmet, needs_corpus
from ladder.rungs.finetune import answer_chats, finetune_candidate, local_backend, train_sft
from ladder.rungs.lora_sft import LoraSFT
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.rag import RagPrompt, RetrieverName, open_for, retrieve
from ladder.task import Task
from ladder.types import BuildCost, Candidate


class LoraSFTRag:
    name: ClassVar[str] = "lora_sft_rag"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(LoraSFT.Options):
        retriever: RetrieverName = Field("hybrid", description="bm25, dense or hybrid")
        chunk_size: int = Field(256, gt=0, description="tokens (words) per chunk")
        chunk_overlap: int = Field(32, ge=0)
        chunking: Literal["tokens", "paragraphs"] = "tokens"
        top_k: int = Field(3, gt=0, description="chunks per prompt")
        metadata_prefix: bool = True
        train_with_context: bool = Field(True, description="train on prompts that carry retrieved context")
        max_length: int = Field(2048, gt=0, description="tokens per training example (context included)")

    def requires(self, task: Task, options: Options) -> str | None:
        return first_unmet(LoraSFT.requires(self, task, options), needs_corpus(task, self.name))  # type: ignore[arg-type]

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        local_backend(ctx, self.name)
        if not ctx.task.train:
            raise ValueError("lora_sft_rag needs training examples: set `data.train` in task.yaml")
        chunking = ChunkingSpec(options.chunking, options.chunk_size, options.chunk_overlap, options.metadata_prefix)
        index = open_for(ctx, options.retriever, chunking)
        system = ctx.task.spec.prompts.system
        eval_hits, records = retrieve(index, ctx.task.eval, options.top_k)
        if options.train_with_context:
            train_hits, _ = retrieve(index, ctx.task.train, options.top_k)
            train_prompt = RagPrompt(index, options.top_k, system, train_hits)
        else:
            train_prompt = ChatPrompt(system=system)  # type: ignore[assignment]
        chats = answer_chats(train_prompt, ctx.task.train)
        adapter_dir, result, reused = train_sft(
            ctx, self.name, options, chats,
            f"training LoRA on {len(chats)} examples x {options.epochs} epochs"
            + (" with retrieved context" if options.train_with_context else ""),
        )
        return finetune_candidate(
            self.name, ctx, RagPrompt(index, options.top_k, system, eval_hits), adapter_dir, result, reused,
            f"LoRA r={options.rank} on {len(chats)} training chats"
            f"{' with' if options.train_with_context else ' without'} context; "
            f"top {options.top_k} {options.retriever} chunks at answer time",
            extra=BuildCost(seconds=index.build_seconds), notes=f"{options.retriever} index, {len(index.chunks)} chunks",
            retrievals=records,
        )
