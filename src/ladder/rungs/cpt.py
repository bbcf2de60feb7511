"""cpt: LoRA continued pre-training on the task's corpus text, then optionally SFT on top.

Next-token loss on every token of the `corpus:` folder's documents (.txt/.md, and the `text` of
.jsonl records), read with the retrieval corpus reader. With `then_sft: true` the same adapter
goes on to supervised fine-tuning on the training split. The outer loop's expensive step
(docs/architecture.md, "Decisions"): its cost is recorded like every other fine-tune, so the report can show whether it
paid.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ladder.retrieval.corpus import CorpusError, read_corpus
from ladder.rungs.base import RungContext, RungOptions, first_unmet, needs_corpus, needs_local_model, needs_train
from ladder.rungs.finetune import answer_chats, finetune_candidate, train_or_reuse
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.training.args import LoraArgs, run_settings
from ladder.training.cpt import train_lora_cpt
from ladder.training.lora_sft import train_lora_sft
from ladder.tracking.costs import training_cost
from ladder.types import BuildCost, Candidate, chat_to_json


class CPT:
    name: ClassVar[str] = "cpt"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(RungOptions, LoraArgs):
        epochs: int = Field(1, gt=0, description="passes over the corpus")
        max_length: int = Field(256, gt=1, description="tokens per corpus chunk")
        then_sft: bool = Field(False, description="continue the adapter with SFT on the training split")
        sft_epochs: int = Field(2, gt=0, description="SFT epochs after pre-training (then_sft)")

    def requires(self, task: Task, options: Options) -> str | None:
        return first_unmet(needs_local_model(task, self.name), needs_corpus(task, self.name),
                           needs_train(task, "cpt with then_sft") if options.then_sft else None)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        spec = ctx.task.spec
        if spec.corpus is None:
            raise ValueError("cpt needs a `corpus:` folder of domain text in task.yaml")
        try:
            corpus = read_corpus(ctx.task.path.parent / spec.corpus)
        except CorpusError as e:
            raise ValueError(f"corpus: {e}") from None
        texts = [d.text for d in corpus.documents]
        cpt_dir, cpt, reused = train_or_reuse(
            ctx, self.name, ("cpt", corpus.fingerprint(), run_settings(options, spec.seed)),
            lambda model, tok, out: train_lora_cpt(model, tok, texts, options, out, seed=spec.seed,
                                                   on_step=ctx.on_train_step),
            f"continued pre-training on {len(texts)} documents x {options.epochs} epochs",
        )
        prompt = ChatPrompt(system=spec.prompts.system)
        if not options.then_sft:
            return finetune_candidate(self.name, ctx, prompt, cpt_dir, cpt, reused,
                                      f"LoRA r={options.rank} continued pre-training on {len(texts)} documents")
        if not ctx.task.train:
            raise ValueError("cpt with then_sft needs training examples: set `data.train` in task.yaml")
        chats = answer_chats(prompt, ctx.task.train)
        sft = options.model_copy(update={"epochs": options.sft_epochs, "max_length": 512})
        sft_dir, result, sft_reused = train_or_reuse(
            ctx, self.name, ("cpt+sft", str(cpt_dir), [chat_to_json(c) for c in chats], run_settings(sft, spec.seed)),
            lambda model, tok, out: train_lora_sft(model, tok, chats, sft, out, seed=spec.seed,
                                                   on_step=ctx.on_train_step, init_adapter=cpt_dir),
            f"SFT on {len(chats)} examples on top of the pre-trained adapter",
        )
        return finetune_candidate(
            self.name, ctx, prompt, sft_dir, result, reused and sft_reused,
            f"LoRA r={options.rank} continued pre-training on {len(texts)} documents, then SFT on {len(chats)} chats",
            extra=BuildCost(seconds=cpt.seconds, money=training_cost(cpt.seconds, spec.prices.train_per_hour)),
            notes=f"pre-training {cpt.steps} steps, final loss {cpt.final_loss:.4f}",
        )
