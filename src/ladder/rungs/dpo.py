"""dpo: a LoRA adapter trained with DPO on preference pairs, answering the zero-shot prompt.

Pairs come from a file (`pairs:`, relative to task.yaml; OpenAI's DPO shape or
prompt/chosen/rejected rows), or are built from the model's own outputs on the training
inputs: each prompt rung in `sources` answers every training input, the task's checks mark the
answers passed or failed, and a failed answer becomes `rejected` beside a passed one (or, when
none passed, the reference answer) as `chosen`. Training inputs only: pairs built from the eval
split's outputs would train on the test set. The reference model is the base model with the
adapter switched off (training/dpo.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from ladder.metrics.checks import run_checks
from ladder.rungs.base import RungContext, RungOptions, first_unmet, needs_local_model
from ladder.rungs.finetune import calls_cost, finetune_candidate, local_backend, train_or_reuse
from ladder.rungs.prompt import ChatPrompt
from ladder.task import Task
from ladder.task.formats import FormatError, Preference, parse
from ladder.training.args import DpoArgs, run_settings
from ladder.training.dpo import PreferencePair, train_lora_dpo
from ladder.types import BuildCost, Candidate, GenerationParams, Message

Source = Literal["zero_shot", "instructed", "few_shot"]


def read_pairs(path: Path) -> list[PreferencePair]:
    """Preference rows from a JSONL file; any bad line raises ValueError naming file:line."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read preference pairs: {e}") from None
    pairs, problems = [], []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse(json.loads(line))
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{lineno}: invalid JSON: {e.msg}")
            continue
        except FormatError as e:
            problems.append(f"{path}:{lineno}: {e.code}: {e}")
            continue
        if not isinstance(record, Preference):
            problems.append(f"{path}:{lineno}: not a preference row (needs chosen/rejected or preferred_output)")
            continue
        prompt = tuple(Message(t.role, t.content) for t in record.prompt)  # type: ignore[arg-type]
        pairs.append(PreferencePair(prompt, record.chosen, record.rejected))
    if problems:
        raise ValueError("\n".join(problems))
    if not pairs:
        raise ValueError(f"{path}: no preference pairs")
    return pairs


class DPO:
    name: ClassVar[str] = "dpo"
    kind: ClassVar[Literal["finetune"]] = "finetune"

    class Options(RungOptions, DpoArgs):
        pairs: Path | None = Field(None, description="preference JSONL, relative to task.yaml; default: built from outputs")
        sources: list[Source] = Field(
            ["zero_shot", "instructed"], min_length=1,
            description="prompt rungs whose answers on the training inputs are judged by the checks to make pairs",
        )
        k: int = Field(3, gt=0, description="demonstrations for the few_shot source")

    def _built_pairs(self, ctx: RungContext, options: Options) -> tuple[list[PreferencePair], BuildCost]:
        """Pairs from the model's own answers on the training inputs, and what those calls cost
        (build cost of this rung, priced like the model's requests)."""
        spec = ctx.task.spec
        prompts = []
        for source in options.sources:
            if source == "instructed" and spec.prompts.instructions:
                prompts.append(ChatPrompt(system=spec.prompts.system, instructions=spec.prompts.instructions))
            elif source == "few_shot" and len(ctx.task.train) >= options.k:
                demos = tuple(random.Random(spec.seed).sample(list(ctx.task.train), options.k))
                prompts.append(ChatPrompt(system=spec.prompts.system, demos=demos))
            elif source == "zero_shot":
                prompts.append(ChatPrompt(system=spec.prompts.system))
        params = GenerationParams(max_new_tokens=spec.generation.max_new_tokens)
        ctx.on_status(f"building preference pairs: {len(prompts)} prompts x {len(ctx.task.train)} training inputs")
        outputs = [ctx.backend.generate([p.render(ex) for ex in ctx.task.train], params) for p in prompts]
        calls = calls_cost([g for gens in outputs for g in gens], spec.prices.input_per_1k, spec.prices.output_per_1k)
        student = ChatPrompt(system=spec.prompts.system)
        pairs = []
        for i, ex in enumerate(ctx.task.train):
            good, bad = [], []
            for gens in outputs:
                g = gens[i]
                if g.error is None and g.text.strip():
                    results = run_checks(g.text, ex.expected, ctx.task.checks + ex.checks, ex)
                    # chosen: every check passed; rejected: some check failed. A check that could
                    # not score (an unreadable reference) makes neither.
                    if all(r.passed is True for r in results):
                        good.append(g.text)
                    elif any(r.passed is False for r in results):
                        bad.append(g.text)
            chosen = good[0] if good else ex.expected
            rejected = next((b for b in bad if b != chosen), None)
            if rejected is not None:
                pairs.append(PreferencePair(student.render(ex), chosen, rejected))
        return pairs, calls

    def requires(self, task: Task, options: Options) -> str | None:
        no_pairs = None if options.pairs is not None or task.train else (
            "dpo needs `rungs.dpo.pairs` or training examples (`data.train`)")
        return first_unmet(needs_local_model(task, self.name), no_pairs)

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        local_backend(ctx, self.name)
        calls = BuildCost()
        if options.pairs is not None:
            pairs = read_pairs(ctx.task.path.parent / options.pairs)
        else:
            if not ctx.task.train:
                raise ValueError("dpo needs `rungs.dpo.pairs` or training examples (`data.train`)")
            pairs, calls = self._built_pairs(ctx, options)
            if not pairs:
                raise ValueError("dpo: every answer on the training inputs passed the checks; no rejected answers")
        seed = ctx.task.spec.seed
        adapter_dir, result, reused = train_or_reuse(
            ctx, self.name,
            ("dpo", options.beta, options.nll_weight, [(json.dumps([m.to_dict() for m in p.prompt]), p.chosen, p.rejected) for p in pairs],
             run_settings(options, seed)),
            lambda model, tok, out: train_lora_dpo(model, tok, pairs, options, out, seed=seed, on_step=ctx.on_train_step),
            f"DPO on {len(pairs)} preference pairs x {options.epochs} epochs",
        )
        return finetune_candidate(
            self.name, ctx, ChatPrompt(system=ctx.task.spec.prompts.system), adapter_dir, result, reused,
            f"LoRA r={options.rank} DPO (beta {options.beta}, NLL weight {options.nll_weight}) on {len(pairs)} "
            "preference pairs, zero-shot prompt",
            extra=calls,
            notes=f"pairs built from {calls.call_tokens} tokens of the model's own answers, cost {calls.money:.6f}"
            if calls.call_tokens else "",
        )
