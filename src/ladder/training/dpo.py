"""LoRA DPO (Rafailov et al. 2023) from preference pairs, with our own loss.

loss = -log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))))
       + nll_weight * (-log pi(chosen) / tokens(chosen))

The second term (off by default) is the chosen answers' next-token loss, as in RPO (Pang et al.
2024, "Iterative Reasoning Preference Optimization"). Pure DPO only moves the margin: measured on
ticket-routing, with chosen = reference JSON and rejected = the base model's chatty replies, it
pushed both down, and the adapter's answers were neither JSON nor chat (form 0%). The NLL term
keeps the chosen answers likely.

The reference model is the same model with the adapter switched off (peft's `disable_adapter()`
context): no second copy in memory. Reference log-probabilities do not change during training,
so each pair's are computed once, the first time the pair is seen, and reused by later epochs.
Why our own loss and not TRL's DPOTrainer: it is ~60 lines, shares the checkpoint/resume loop
(and its safetensors checkpoints) with SFT, and needs neither `datasets` nor pandas/pyarrow;
`bench/train.py --dpo` measures the two side by side (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ladder.training.args import DpoArgs
from ladder.training.lora_sft import IGNORE, Row, collate, labelled_logits, pad_id_of, tokenize_for_sft
from ladder.training.loop import StepFn, TrainResult, train_lora
from ladder.types import Chat, Message, content_hash


@dataclass(frozen=True)
class PreferencePair:
    prompt: Chat  # the chat up to (not including) the answer
    chosen: str
    rejected: str


def tokenize_pair(tokenizer: Any, pair: PreferencePair, max_length: int) -> tuple[Row, Row]:
    """(chosen row, rejected row); labels cover the answer only."""
    return (tokenize_for_sft(tokenizer, pair.prompt + (Message("assistant", pair.chosen),), max_length),
            tokenize_for_sft(tokenizer, pair.prompt + (Message("assistant", pair.rejected),), max_length))


def sequence_logps(model: Any, rows: Sequence[Row], pad_id: int) -> Any:
    """Sum of the log-probabilities of each row's labelled tokens (a 1-D tensor, one per row)."""
    import torch

    logits, targets, row = labelled_logits(model, collate(rows, pad_id))
    picked = logits.log_softmax(-1).gather(1, targets.unsqueeze(1)).squeeze(1)
    return torch.zeros(len(rows), dtype=picked.dtype).index_add(0, row, picked)


def preference_margins(model: Any, tokenizer: Any, pairs: Sequence[PreferencePair], max_length: int = 512) -> list[float]:
    """log p(chosen) - log p(rejected) per pair under `model` as it is (evaluation, no grad)."""
    import torch

    out = []
    with torch.no_grad():
        for pair in pairs:
            c, r = tokenize_pair(tokenizer, pair, max_length)
            lp = sequence_logps(model, [c, r], pad_id_of(tokenizer))
            out.append(float(lp[0] - lp[1]))
    return out


def train_lora_dpo(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[PreferencePair],
    args: DpoArgs,
    out_dir: Path,
    *,
    seed: int,
    on_step: StepFn | None = None,
    checkpoint_every: int | None = None,
    init_adapter: Path | None = None,
) -> TrainResult:
    """Train a LoRA adapter with DPO on `pairs`; save it atomically to `out_dir` (resumable)."""
    import torch
    import torch.nn.functional as F

    beta, nll_weight = args.beta, args.nll_weight  # validated by DpoArgs
    rows = [tokenize_pair(tokenizer, p, args.max_length) for p in pairs]
    if not rows:
        raise ValueError("no preference pairs")
    pad_id = pad_id_of(tokenizer)
    reference: dict[int, tuple[float, float]] = {}
    chosen_tokens = [max(1, sum(label != IGNORE for label in c[1])) for c, _ in rows]  # for the NLL term

    def loss_fn(peft_model: Any, idx: list[int]) -> tuple[Any, int]:
        todo = [i for i in idx if i not in reference]
        if todo:
            with peft_model.disable_adapter(), torch.no_grad():
                ref = sequence_logps(peft_model, [rows[i][0] for i in todo] + [rows[i][1] for i in todo], pad_id)
            for j, i in enumerate(todo):
                reference[i] = (float(ref[j]), float(ref[len(todo) + j]))
        logps = sequence_logps(peft_model, [rows[i][0] for i in idx] + [rows[i][1] for i in idx], pad_id)
        chosen, rejected = logps[: len(idx)], logps[len(idx) :]
        ref_c = torch.tensor([reference[i][0] for i in idx])
        ref_r = torch.tensor([reference[i][1] for i in idx])
        loss = -F.logsigmoid(beta * ((chosen - ref_c) - (rejected - ref_r))).mean()
        if nll_weight:
            n_chosen = torch.tensor([chosen_tokens[i] for i in idx], dtype=chosen.dtype)
            loss = loss + nll_weight * (-chosen / n_chosen).mean()
        return loss, sum(len(rows[i][0][0]) + len(rows[i][1][0]) for i in idx)

    return train_lora(
        model, args, out_dir, [max(len(c[0]), len(r[0])) for c, r in rows], loss_fn,
        data_key=content_hash("dpo", beta, nll_weight, rows), seed=seed, on_step=on_step, checkpoint_every=checkpoint_every,
        init_adapter=init_adapter, manifest_extra={"kind": "dpo", "beta": beta, "nll_weight": nll_weight, "pairs": len(rows)},
    )
