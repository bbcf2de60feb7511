"""lora_sft_wrong_demos: lora_sft trained under the task's instructions plus k demonstrations
whose outputs are wrong, with every training target left correct.

The "delusive examples" ablation of Kung & Peng (2023): each training prompt carries the full
instructions and k other training examples as earlier chat turns, each answered with another
training example's (different) answer, so the demonstrations have the right form and a wrong
input-output mapping; only the final answer, the example's correct reference, takes loss. If
this rung scores about as well as lora_sft, the demonstrations' mapping taught the fine-tune
nothing: what it learned is the output space and format.

Like the paper it is evaluated twice on one adapter: `(eval_demos)` asks under the
instructions with k correct demonstrations from the training split (drawn once with the task's
seed, as few_shot draws them), `(no_demos)` under the instructions alone.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from ladder.rungs.base import RungContext
from ladder.rungs.finetune import finetune_candidate, local_backend, train_sft
from ladder.rungs.lora_sft import TrainOptions
from ladder.rungs.prompt import ChatPrompt
from ladder.task.output_space import other_answer
from ladder.types import Candidate, Chat, Example, Message

Inference = Literal["eval_demos", "no_demos"]


def wrong_demo_chats(examples: Sequence[Example], system: str | None, instructions: str | None, k: int,
                     seed: int) -> list[Chat]:
    """One training chat per example: instructions, k demonstrations drawn from the other
    examples with wrong answers of the right form, the example, and its correct answer."""
    if len(examples) <= k:
        raise ValueError(f"{k} demonstrations per example need more than {k} training examples, "
                         f"the task has {len(examples)}")
    rng = random.Random(seed)
    references = [ex.expected for ex in examples]
    chats = []
    for i, example in enumerate(examples):
        picked = rng.sample([j for j in range(len(examples)) if j != i], k)
        demos = []
        for j in picked:
            wrong = other_answer(references[j], references, rng)
            if wrong is None:
                raise ValueError("every training example has the same answer: no wrong answer of the right form")
            demos.append(replace(examples[j], expected=wrong))
        prompt = ChatPrompt(system=system, instructions=instructions, demos=tuple(demos))
        chats.append(prompt.render(example) + (Message("assistant", example.expected),))
    return chats


class LoraSFTWrongDemos:
    name: ClassVar[str] = "lora_sft_wrong_demos"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(TrainOptions):
        k: int = Field(2, gt=0, description="demonstrations (with wrong outputs) in each training prompt")
        inference: list[Inference] = Field(
            ["eval_demos", "no_demos"], min_length=1,
            description="prompts to evaluate the one adapter under, one row each: eval_demos = instructions "
                        "+ k correct demonstrations, no_demos = instructions alone")

    class Variant(TrainOptions):
        k: int = Field(2, gt=0)
        inference: Inference = "eval_demos"

    def variants(self, options: Options) -> list[tuple[str, Variant]]:
        return [(f"{self.name}({mode})", self.Variant(**options.model_dump(exclude={"inference"}), inference=mode))
                for mode in options.inference]

    def prepare(self, ctx: RungContext, options: Variant | Options) -> Candidate:
        if isinstance(options, self.Options):
            options = self.variants(options)[0][1]  # called directly: the first evaluation prompt
        local_backend(ctx, self.name)
        spec, train = ctx.task.spec, ctx.task.train
        if not spec.prompts.instructions:
            raise ValueError(f"{self.name} trains under the task's instructions: set `prompts.instructions`")
        chats = wrong_demo_chats(train, spec.prompts.system, spec.prompts.instructions, options.k, spec.seed)
        # Keyed by the base name and the chats alone, so every inference variant reuses one adapter.
        adapter_dir, result, reused = train_sft(
            ctx, self.name, options, chats, train,
            f"training LoRA on {len(chats)} examples with {options.k} wrong demonstrations each")
        demos = tuple(random.Random(spec.seed).sample(list(train), options.k)) if options.inference == "eval_demos" else ()
        prompt = ChatPrompt(system=spec.prompts.system, instructions=spec.prompts.instructions, demos=demos)
        shown = f"{options.k} correct demonstrations" if demos else "no demonstrations"
        return finetune_candidate(
            f"{self.name}({options.inference})", ctx, prompt, adapter_dir, result, reused,
            f"LoRA r={options.rank} on {len(chats)} chats (instructions + {options.k} demonstrations with wrong "
            f"outputs, correct targets); asked with the instructions and {shown} (ablation)",
        )
