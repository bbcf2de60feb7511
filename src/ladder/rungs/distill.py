"""distill: a teacher answers the training inputs; the answers that pass the task's checks
become the SFT data of a LoRA student that answers the short zero-shot prompt.

The teacher is either a stronger model (`teacher:` in task.yaml: any backend, e.g. an
OpenAI-compatible endpoint) or, without one, the same model running a richer prompt rung
(`teacher_rung: instructed | few_shot`): context distillation, where the long prompt's
behaviour is trained into weights that no longer need the prompt. The build cost is the
teacher's tokens (at `teacher.prices`, else the task's prices) plus the training time.

The teacher is asked through the call cache like every other model call (the climb gives the
rung a cached backend), and the accepted answers are written as chat JSONL to
`artifacts/distill/<key>.train.jsonl`; so a re-run neither asks the teacher again nor trains again.
"""

from __future__ import annotations

import json
import random
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from ladder.backends.base import Backend
from ladder.fsutil import write_file_atomic
from ladder.metrics.checks import run_checks
from ladder.rungs.base import RungContext, first_unmet, needs_instructions, needs_train
from ladder.rungs.finetune import answer_chats, calls_cost, train_sft_candidate
from ladder.rungs.lora_sft import LoraSFT, TrainOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.types import Candidate, CheckSpec, Example, Generation, GenerationParams, chat_to_json, content_hash


def teacher_of(ctx: RungContext) -> Backend:
    """The backend that teaches: the task's `teacher:` model, or without one the task's own model."""
    if ctx.task.spec.teacher is None:
        return ctx.backend
    if ctx.teacher is None:
        raise ValueError("distill: task.yaml names a `teacher:` but the rung was given no teacher backend")
    return ctx.teacher


def passing(examples: Sequence[Example], generations: Sequence[Generation],
            checks: tuple[CheckSpec, ...]) -> list[int]:
    """Indices of the teacher answers that are not errors and pass every check of their example."""
    keep = []
    for i, (ex, gen) in enumerate(zip(examples, generations)):
        if gen.error is None and all(r.passed for r in run_checks(gen.text, ex.expected, checks + ex.checks, ex)):
            keep.append(i)
    return keep


class Distill:
    name: ClassVar[str] = "distill"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(TrainOptions):
        teacher_rung: Literal["zero_shot", "instructed", "few_shot"] = Field(
            "instructed", description="the prompt the teacher answers under (with no `teacher:`, context distillation)"
        )
        k: int = Field(3, gt=0, description="demonstrations when teacher_rung is few_shot")

    def requires(self, task: Task, options: Options) -> str | None:
        prompt_needs = {"instructed": needs_instructions(task, "distill with teacher_rung: instructed"),
                        "few_shot": needs_train(task, "distill with teacher_rung: few_shot", options.k)}
        return first_unmet(LoraSFT.requires(self, task, options),  # type: ignore[arg-type]
                           prompt_needs.get(options.teacher_rung))

    def _teacher_prompt(self, ctx: RungContext, options: Options) -> ChatPrompt:
        system = ctx.task.spec.prompts.system
        if options.teacher_rung == "instructed":
            if not ctx.task.spec.prompts.instructions:
                raise ValueError("distill with teacher_rung: instructed needs `prompts.instructions` in task.yaml")
            return ChatPrompt(system=system, instructions=ctx.task.spec.prompts.instructions)
        if options.teacher_rung == "few_shot":
            if len(ctx.task.train) < options.k:
                raise ValueError(f"distill with teacher_rung: few_shot needs {options.k} training examples")
            return ChatPrompt(system=system, demos=tuple(random.Random(ctx.task.spec.seed).sample(list(ctx.task.train), options.k)))
        return ChatPrompt(system=system)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        train = ctx.task.train
        if not train:
            raise ValueError("distill needs training inputs: set `data.train` in task.yaml")
        teacher = teacher_of(ctx)
        teacher_prompt = self._teacher_prompt(ctx, options)
        chats = [teacher_prompt.render(ex) for ex in train]
        params = GenerationParams(max_new_tokens=ctx.task.spec.generation.max_new_tokens)
        ctx.on_status(f"teacher {teacher.name} ({options.teacher_rung} prompt) answers {len(chats)} training inputs")
        generations = teacher.generate(chats, params)
        teacher_spec = ctx.task.spec.teacher
        prices = (teacher_spec.prices if teacher_spec is not None else None) or ctx.task.spec.prices
        calls = calls_cost(generations, prices.input_per_1k, prices.output_per_1k)
        keep = passing(train, generations, ctx.task.checks)
        if not keep:
            raise ValueError(f"none of the teacher's {len(train)} answers passed the task's checks: nothing to distil")
        student = ChatPrompt(system=ctx.task.spec.prompts.system)
        kept = [train[i] for i in keep]
        answers = [generations[i].text for i in keep]
        key = content_hash(teacher.fingerprint(), [chat_to_json(c) for c in chats], params.key())
        write_file_atomic(ctx.artifacts / "distill" / f"{key[:16]}.train.jsonl", "".join(
            json.dumps({"messages": [m.to_dict() for m in c]}, ensure_ascii=False) + "\n"
            for c in answer_chats(student, kept, answers)))
        return train_sft_candidate(
            self.name, ctx, options, student, answers=answers, examples=kept,
            description=f"zero-shot prompt; distilled from {teacher.name} ({options.teacher_rung} prompt)",
            extra=calls,
            notes=f"teacher: {len(keep)}/{len(train)} answers passed the checks, teacher cost {calls.money:.6f}",
        )
