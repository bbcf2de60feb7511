"""The task's target metric on held-out training items: what a fine-tune's early stop goes by.

The issue that asked for early stopping asked for it on the target metric where that is cheap
to score. The held-out answer loss, its fallback, proved the wrong signal on balance-shift: it
kept falling while the answers' three-line format broke (issue notes). A metric the task's checks
score (a regex, a number, an exact match) costs one greedy answer per held-out item, in one batch,
with the model being trained: a few seconds, not a training step's worth. Where an LLM judge
scores the target (its tag, or `overall` with judges), and where the checks fail a training
example's own reference answer (so the held-out rate could not say what was learned),
`heldout_metric` returns None and training runs every epoch (`early_stop_measure: loss` is
there for whoever wants the loss).

Each held-out chat is asked as it is trained on (its messages but the last, the answer) and
scored like an eval row for the target (scoring.target_outcomes): the task's checks and the
example's own against its reference, a failed call counting as a failure.

The answers come from the model the eval will answer with, not the one being trained: the
backend's weights in its dtype with the adapter's deltas merged in as LocalBackend merges them
(`EvalWeights`). The trainer's copy can be in bfloat16 with the LoRA layers beside the weights:
at balance-shift's kept step its greedy answers differed from the eval model's on 8 of the 16
held-out items, and took 5.2-5.4 s against 4.2-4.6 s for the merge and the answers (Xeon with
AMX, 2 cores, bench/heldout.py). A held-out rate of the eval's own model says what the eval will see.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ladder.backends.local import LocalBackend, generate_chats
from ladder.metrics.checks import run_checks
from ladder.scoring import Scored, target_outcomes
from ladder.task import Task
from ladder.training.early_stop import HeldoutMetric
from ladder.types import Chat, Example, GenerationParams, content_hash


def checks_score(task: Task, metric: str, examples: Sequence[Example] = ()) -> bool:
    """Whether checks alone give `metric`'s outcome on `examples`: a check of the task's or of
    their own has its tag (any check for `overall`) and no judge adds verdicts to it (pairwise
    judges give comparisons, not verdicts). Eval rows' own checks do not count: the held-out
    items are training rows."""
    judges = [j for j in task.spec.judges if j.kind != "pairwise"]
    checks = [*task.checks, *(c for ex in examples for c in ex.checks)]
    if metric == "overall":
        return bool(checks) and not judges
    return any(c.tag == metric for c in checks) and not any(j.verdict_tag == metric for j in judges)


class EvalWeights:
    """A copy of the backend's base model (its weights, its dtype) with the LoRA deltas of a
    model in training merged in: what LocalBackend answers with once the adapter is saved
    (PeftModel.merge_and_unload adds the same deltas to the same weights, in place; the test
    compares the two bit for bit). The copy is made on first use and re-merged from the base's
    weights at each call.

    Once the adapter is saved, `hand_over` gives the copy to the backend as its model for that
    adapter where the adapter saved is the one last merged (an early stop that kept its last
    evaluation), so the eval does not merge it again (0.5-0.8 s on the default model)."""

    PREFIX = "base_model.model."  # a peft model's module names, past those of the model it wraps

    def __init__(self, backend: LocalBackend):
        self.backend = backend
        self.model: Any = None
        self.adapter_state: dict[str, Any] = {}  # the LoRA tensors last merged, keyed as peft saves them

    def merged(self, trained: Any) -> Any:
        """The copy with `trained`'s active adapters merged (none where it has no LoRA layer)."""
        import torch
        from peft import get_peft_model_state_dict
        from peft.tuners.lora import LoraLayer

        base = self.backend.loaded_model()
        if self.model is None:
            self.model = self.backend.base_copy()
        # the trainer may call this under its bfloat16 autocast: the deltas are the adapter's own
        with torch.no_grad(), torch.autocast("cpu", enabled=False):
            for name, layer in trained.named_modules():
                if not isinstance(layer, LoraLayer):
                    continue
                module = name.removeprefix(self.PREFIX)
                weight = self.model.get_submodule(module).weight
                weight.copy_(base.get_submodule(module).weight)
                for adapter in layer.active_adapters:
                    weight += layer.get_delta_weight(adapter)  # as peft's merge does: in place, promoting
        self.adapter_state = ({k: v.detach().clone() for k, v in get_peft_model_state_dict(trained).items()}
                              if hasattr(trained, "peft_config") else {})
        return self.model

    def hand_over(self, adapter_dir: Path) -> bool:
        """Make the merged copy the backend's model for the adapter saved in `adapter_dir` where
        that adapter's tensors are exactly the ones last merged; False (and nothing changed) where
        they are not, or nothing was merged."""
        import torch
        from safetensors.torch import load_file

        if self.model is None:
            return False
        saved = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
        mine = self.adapter_state
        if saved.keys() != mine.keys() or not all(torch.equal(saved[k], mine[k]) for k in saved):
            return False
        self.backend.keep_merged(str(adapter_dir), self.model)
        self.model, self.adapter_state = None, {}
        return True


def heldout_metric(task: Task, backend: LocalBackend, chats: Sequence[Chat],
                   examples: Sequence[Example]) -> HeldoutMetric | None:
    """The target metric's pass rate on training chats by index (`chats[i]` trains on
    `examples[i]`) under the model the trainer passes in; None where checks alone do not
    score the target, or where they fail a training example's own reference answer. The
    answers are those of `backend`'s model with the trained adapter merged (`EvalWeights`)."""
    metric = task.spec.target.metric
    if not checks_score(task, metric, examples):
        return None
    if len(chats) != len(examples):
        raise ValueError(f"{len(chats)} training chats for {len(examples)} examples")

    def checked(i: int, text: str | None) -> Scored:
        ex = examples[i]
        return Scored(i, None if text is not None else "error",
                       () if text is None else tuple(run_checks(text, ex.expected, task.checks + ex.checks, ex)))

    # The checks must pass the training answers themselves, or the held-out rate measures
    # something else: romeo-bob's `names Bob` fails every training answer (they are about the
    # other characters), so its held-out rate would sit at 0% whatever the model learned.
    references = list(target_outcomes([checked(i, ex.expected) for i, ex in enumerate(examples)], metric).values())
    if not references or not all(references):
        return None
    params = GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens, temperature=0.0)
    weights = EvalWeights(backend)

    def score(model: Any, items: list[int]) -> float:
        answers = generate_chats(weights.merged(model), backend.tokenizer, backend.stop_ids, [chats[i][:-1] for i in items], params)
        scored = [checked(i, None if a.error else a.text) for i, a in zip(items, answers)]
        counted = list(target_outcomes(scored, metric).values())  # an item no check could score is left out
        return sum(counted) / len(counted) if counted else math.nan  # no value: the early stop waits

    # a check's str() lists its fields (pydantic models, dataclasses): any edit to one changes the key
    decides = (metric, [str(c) for c in task.checks], [[str(c) for c in ex.checks] for ex in examples],
               params.max_new_tokens)
    return HeldoutMetric(metric, score, f"{metric}:{content_hash(*decides)[:16]}", saved=weights.hand_over)
