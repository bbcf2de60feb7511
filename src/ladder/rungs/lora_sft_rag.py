"""lora_sft_rag: a LoRA adapter answering under the rag prompt (retrieved context + question).

Combines the two: fine-tuning for behaviour and form, retrieval for facts. With
`train_with_context: true` the adapter is trained on the training split rendered with its own
retrieved context, so it learns to read the block; otherwise on the bare questions. Adapters are
content-addressed like lora_sft's, so an identical climb does not train again.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar, Literal

from pydantic import Field

from ladder.backends.base import unwrap
from ladder.backends.local import LocalBackend, load_model_and_tokenizer
from ladder.retrieval.chunking import ChunkingSpec
from ladder.rungs.base import RungContext
from ladder.rungs.lora_sft import TRAINER_VERSION, LoraSFT
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.rag import RagPrompt, RetrieverName, open_for, retrieve
from ladder.tracking.costs import training_cost
from ladder.hardware import cpu_has_fast_bf16
from ladder.training.lora_sft import SFTConfig, load_train_result, train_lora_sft
from ladder.types import BuildCost, Candidate, Message, chat_to_json, content_hash


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

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        local = unwrap(ctx.backend)
        if not isinstance(local, LocalBackend):
            raise ValueError("lora_sft_rag trains local weights: set `model.backend: local` in task.yaml")
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
        chats = [train_prompt.render(ex) + (Message("assistant", ex.expected),) for ex in ctx.task.train]
        config = SFTConfig(
            rank=options.rank, alpha=options.alpha, learning_rate=options.learning_rate, epochs=options.epochs,
            batch_size=options.batch_size, max_length=options.max_length, seed=ctx.task.spec.seed,
            bf16=options.precision == "bfloat16" or (options.precision == "auto" and cpu_has_fast_bf16()),
        )
        key = content_hash(
            TRAINER_VERSION, ctx.backend.fingerprint(), [chat_to_json(c) for c in chats], asdict(config)
        )
        adapter_dir = ctx.artifacts / "adapters" / f"{self.name}-{key[:16]}"
        result = load_train_result(adapter_dir)
        reused = result is not None
        if result is None:
            ctx.on_status(f"training LoRA on {len(chats)} examples x {config.epochs} epochs"
                          + (" with retrieved context" if options.train_with_context else ""))
            model, tokenizer = load_model_and_tokenizer(local.name, local.dtype)
            result = train_lora_sft(model, tokenizer, chats, config, adapter_dir, on_step=ctx.on_train_step)
            del model
        return Candidate(
            rung=self.name,
            kind=self.kind,
            prompt=RagPrompt(index, options.top_k, system, eval_hits),
            adapter=str(adapter_dir),
            build=BuildCost(
                seconds=result.seconds + index.build_seconds,
                money=training_cost(result.seconds, ctx.task.spec.prices.train_per_hour),
                train_tokens=result.train_tokens,
                reused=reused,
                notes=f"{result.steps} steps, final loss {result.final_loss:.4f}; "
                      f"{options.retriever} index, {len(index.chunks)} chunks",
            ),
            description=(f"LoRA r={config.rank} on {len(chats)} training chats"
                         f"{' with' if options.train_with_context else ' without'} context; "
                         f"top {options.top_k} {options.retriever} chunks at answer time"),
            retrievals=records,
        )
