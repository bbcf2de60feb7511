"""How a fine-tuned adapter is asked: under the zero-shot, instructed, few-shot or rag prompt.

The inner loop (prompting -> few-shot -> retrieval) can run again on a fine-tune: `lora_sft`
takes `prompt:` (one kind, or a list that climbs one row per kind, e.g. `lora_sft(rag)`), so the
report shows whether demonstrations or retrieved context still add to the adapter. The adapter
is trained under the prompt it is asked with (`train_on_prompt: true`, the default: for rag,
each training question with its own retrieved context) or under the zero-shot prompt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal, Mapping

from pydantic import BaseModel, Field, field_validator

from ladder.retrieval.chunking import ChunkingSpec
from ladder.rungs.base import RungContext, first_unmet, needs_corpus, needs_instructions, needs_train
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.rag import RagPrompt, RetrieverName, open_for, retrieve
from ladder.task import Task
from ladder.types import BuildCost, Prompt, Retrieval

PromptKind = Literal["zero_shot", "instructed", "few_shot", "rag"]


class AskOptions(BaseModel):
    """The prompt a fine-tune answers under, and that prompt's own settings."""

    prompt: PromptKind | list[PromptKind] = Field(
        "zero_shot", description="how the adapter is asked: zero_shot, instructed, few_shot or rag; a list "
                                 "climbs one row per kind, e.g. lora_sft(rag)")
    train_on_prompt: bool = Field(
        True, description="train under the same prompt it is asked with (rag: each training question with its "
                          "own retrieved context); false: train under the zero-shot prompt")
    k: int = Field(3, gt=0, description="few_shot: demonstrations drawn from the training split")
    retriever: RetrieverName = Field("hybrid", description="rag: bm25, dense or hybrid")
    chunk_size: int = Field(256, gt=0, description="rag: tokens (words) per chunk")
    chunk_overlap: int = Field(32, ge=0, description="rag: tokens shared by neighbouring chunks")
    chunking: Literal["tokens", "paragraphs"] = Field("tokens", description="rag: token windows or paragraphs")
    top_k: int = Field(3, gt=0, description="rag: chunks per prompt")
    metadata_prefix: bool = Field(True, description="rag: prefix each chunk with [title | section]")

    @field_validator("prompt")
    @classmethod
    def _distinct(cls, v: PromptKind | list[PromptKind]) -> PromptKind | list[PromptKind]:
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError("a list of prompts must be non-empty and name each kind once")
        return v

    def kinds(self) -> list[PromptKind]:
        return self.prompt if isinstance(self.prompt, list) else [self.prompt]


def needs_for_prompt(task: Task, rung: str, options: AskOptions) -> str | None:
    """What the task lacks for the prompt(s) asked for, if anything."""
    reasons = []
    for kind in options.kinds():
        if kind == "instructed":
            reasons.append(needs_instructions(task, f"{rung} with prompt: instructed"))
        elif kind == "few_shot":
            reasons.append(needs_train(task, f"{rung} with prompt: few_shot", options.k + 1))
        elif kind == "rag":
            reasons.append(needs_corpus(task, f"{rung} with prompt: rag"))
    return first_unmet(*reasons)


@dataclass(frozen=True)
class Asking:
    """The prompts of one fine-tune: the one it answers under, the one it trains under, and what
    building them cost (a retrieval index)."""

    prompt: Prompt
    train_prompt: Prompt
    description: str
    build: BuildCost = BuildCost()
    retrievals: Mapping[str, Retrieval] = field(default_factory=dict)


def asking(ctx: RungContext, kind: PromptKind, options: AskOptions) -> Asking:
    """The prompts for `kind`. Never reads anything of the eval split but its inputs (for rag's
    retrieval, as the rag rung does)."""
    task = ctx.task
    system = task.spec.prompts.system
    if kind == "zero_shot":
        prompt = ChatPrompt(system=system)
        return Asking(prompt, prompt, "the zero-shot prompt")
    if kind == "instructed":
        prompt = ChatPrompt(system=system, instructions=task.spec.prompts.instructions)
        return _trained(Asking(prompt, prompt, "the instructed prompt"), options, system)
    if kind == "few_shot":
        demos = tuple(random.Random(task.spec.seed).sample(list(task.train), options.k))
        prompt = ChatPrompt(system=system, demos=demos)
        return _trained(Asking(prompt, prompt, f"the few-shot prompt ({options.k} static demonstrations)"),
                        options, system)
    index = open_for(ctx, options.retriever, ChunkingSpec(options.chunking, options.chunk_size,
                                                          options.chunk_overlap, options.metadata_prefix))
    eval_hits, records = retrieve(index, task.eval, options.top_k)
    train_hits, _ = retrieve(index, task.train, options.top_k)
    asked = Asking(
        RagPrompt(index, options.top_k, system, eval_hits), RagPrompt(index, options.top_k, system, train_hits),
        f"the rag prompt (top {options.top_k} {options.retriever} chunks)",
        build=BuildCost(seconds=index.build_seconds, notes=f"{options.retriever} index, {len(index.chunks)} chunks"),
        retrievals=records,
    )
    return _trained(asked, options, system)


def _trained(asked: Asking, options: AskOptions, system: str | None) -> Asking:
    """With train_on_prompt false, the adapter trains under the zero-shot prompt instead."""
    if options.train_on_prompt:
        return asked
    return Asking(asked.prompt, ChatPrompt(system=system), asked.description + ", trained under the zero-shot prompt",
                  asked.build, asked.retrievals)
