"""LoRA supervised fine-tuning on chats, loss on the assistant's answer only.

Knows nothing of rungs or tasks: it takes a model, a tokenizer, chats whose last message is
the assistant's target, and a config, and leaves a peft adapter (safetensors + config) in a
folder. Batches are sorted by length so little compute goes to padding; LoRA dropout defaults
to 0 because its RNG was ~20% of each step on this CPU (docs/architecture.md, "Decisions"). The loop, checkpoints and
resume are in training/loop.py.

The vocabulary projection and softmax run only at the positions that carry a label
(`labelled_logits`): an SFT answer is ~15 of ~56 tokens in ticket-routing, and the full-vocab
logits of every position were ~30% of a step (bench/train.py, BENCHMARKS.md). The tokens every
row of a batch starts with (a chat template's system prompt) run once for the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ladder.training.args import LoraArgs
from ladder.training.early_stop import HeldoutMetric
from ladder.training.loop import IGNORE, StepFn, TrainResult, load_train_result, train_lora
from ladder.training.parallel import current_group, launch
from ladder.types import Chat, content_hash

__all__ = ["IGNORE", "LoraArgs", "TrainResult", "load_train_result", "tokenize_for_sft", "tokenize_turns_for_sft",
           "train_lora_sft",
           "train_on_rows", "collate", "labelled_logits", "pad_id_of", "Row"]

Row = tuple[list[int], list[int]]  # token ids, labels (IGNORE where no loss is taken)


def tokenize_for_sft(tokenizer: Any, chat: Chat, max_length: int) -> Row:
    """Token ids and labels for one chat; labels are IGNORE everywhere but the final answer."""
    messages = [m.to_dict() for m in chat]
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(messages, add_generation_prompt=False, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("chat template renders the prompt differently with and without the answer")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + answer_ids)[:max_length]
    return ids, labels


def tokenize_turns_for_sft(tokenizer: Any, chat: Chat, trained: Sequence[bool], max_length: int) -> Row:
    """Token ids and labels for a chat in which each assistant turn is trained on or not
    (`trained[i]` for message i; OpenAI's per-message `weight: 0` is False). Each assistant turn
    is labelled as tokenize_for_sft labels the final answer: the text its message adds after the
    generation prompt; everything else is IGNORE. A chat trained on its final answer only gives
    exactly tokenize_for_sft's row."""
    messages = [m.to_dict() for m in chat]
    ids: list[int] = []
    labels: list[int] = []
    done = ""  # the rendered text already turned into tokens

    def add(text: str, labelled: bool) -> None:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        ids.extend(piece)
        labels.extend(piece if labelled else [IGNORE] * len(piece))

    for i, m in enumerate(chat):
        if m.role != "assistant":
            continue
        prompt = tokenizer.apply_chat_template(messages[:i], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(messages[: i + 1], add_generation_prompt=False, tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise ValueError("chat template renders a conversation's turns differently as it grows")
        add(prompt[len(done):], False)
        add(full[len(prompt):], bool(trained[i]))
        done = full
    whole = tokenizer.apply_chat_template(messages, add_generation_prompt=False, tokenize=False)
    if whole.startswith(done):
        add(whole[len(done):], False)
    return ids[:max_length], labels[:max_length]


def collate(rows: Sequence[Row], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: positions stay 0..n-1 for every row, padding is masked and unlabelled."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (i, l) in enumerate(rows):
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(l)] = torch.tensor(l)
        mask[r, : len(i)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


# A shared prefix is run once when that saves at least this many row tokens, (rows - 1) x its
# length: its own pass at one row costs 30 layers of small kernels, forward and backward, which
# short prefixes do not repay. Measured (bench/train_prefix.py, 8 rows, Xeon with AMX, 2 cores;
# whole rows' seconds / shared): ticket-routing's 14-token prefix (98 saved) 1.04 in float32 but
# 0.92 in bf16; balance-shift's 24 (168 saved) 1.13 and 1.01; its 255-token instructions as the
# system prompt (1,785 saved) 2.40 and 2.29. The bound lies between the first two.
MIN_PREFIX_TOKENS_SAVED = 128


def shared_prefix_len(batch: dict[str, Any]) -> int:
    """How many leading tokens every row of a collated batch has in common (the chat template's
    system prompt, an instruction), up to the position that predicts the first label: the
    positions that run once for the whole batch must not carry a prediction that is scored."""
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    same = ((ids == ids[:1]) & mask.bool()).all(0)
    differs = (~same).nonzero()
    common = int(differs[0]) if len(differs) else ids.shape[1]
    labelled = (labels != IGNORE).any(0).nonzero()
    first_label = int(labelled[0]) if len(labelled) else ids.shape[1]
    return max(0, min(common, first_label - 1))


def labelled_logits(model: Any, batch: dict[str, Any], share_prefix: bool = True) -> tuple[Any, Any, Any]:
    """(logits, targets, row) for every labelled next-token position of a collated batch.

    Runs the decoder on the whole batch but the output projection only where a label follows,
    so the result equals `model(**batch).logits` at those positions. `row` is each position's
    batch row (for per-sequence sums). Works on a peft model or a plain causal LM.

    The rows' shared prefix (shared_prefix_len) runs once, at one row, and its keys and values
    are repeated for every row (`share_prefix`: when that saves MIN_PREFIX_TOKENS_SAVED): the
    same function of the weights, gradients summed over the rows through the repeat (within
    2.4e-6 of the whole rows' in float32, relative; bf16's own rounding, 2-4e-2, in bf16). A
    long instruction before every chat trains 2.3-2.4x faster so. Throughput and MFU still count
    every row's tokens, as the data's tokens (PaLM's MFU is a throughput), so sharing a prefix
    raises them."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, ids, mask = base.get_decoder(), batch["input_ids"], batch["attention_mask"]
    rows = ids.shape[0]
    prefix = shared_prefix_len(batch) if share_prefix and rows > 1 else 0
    if (rows - 1) * prefix < MIN_PREFIX_TOKENS_SAVED:
        prefix = 0
    if prefix:
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=base.config)
        decoder(input_ids=ids[:1, :prefix], cache=cache, use_cache=True)
        cache.batch_repeat_interleave(rows)  # differentiable: each row's gradient flows back to the one pass
        positions = torch.arange(prefix, ids.shape[1])[None].expand(rows, -1)
        hidden = decoder(input_ids=ids[:, prefix:], attention_mask=mask, position_ids=positions,
                         cache=cache, use_cache=True).last_hidden_state
    else:
        hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state
    labels = batch["labels"][:, prefix + 1:]
    keep = labels != IGNORE
    logits = base.get_output_embeddings()(hidden[:, :-1][keep]).float()
    return logits, labels[keep], keep.nonzero()[:, 0]


def next_token_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the labelled tokens (what `model(**batch).loss` computes)."""
    import torch.nn.functional as F

    logits, targets, _ = labelled_logits(model, batch)
    return F.cross_entropy(logits, targets)


def pad_id_of(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def train_on_rows(
    model: Any,
    rows: Sequence[Row],
    pad_id: int,
    args: LoraArgs,
    out_dir: Path,
    *,
    seed: int,
    on_step: StepFn | None = None,
    checkpoint_every: int | None = None,
    init_adapter: Path | None = None,
    kind: str = "sft",
    heldout_metric: HeldoutMetric | None = None,
) -> TrainResult:
    """Next-token loss on the labelled tokens of pre-tokenized rows (SFT and CPT share this).
    With `args.processes` > 1 the training runs in that many processes (training/parallel.py);
    a metric's scorer does not travel to them, so only an early stop on the loss runs there."""
    rows = list(rows)
    if args.processes > 1 and current_group() is None:
        job = {"rows": rows, "pad_id": pad_id, "args": args.model_dump(include=set(LoraArgs.model_fields)),
               "seed": seed, "kind": kind, "out_dir": str(out_dir), "checkpoint_every": checkpoint_every,
               "init_adapter": str(init_adapter) if init_adapter else None,
               "model": model.config._name_or_path, "dtype": str(model.dtype).removeprefix("torch.")}
        launch(job, Path(out_dir).parent / f".{Path(out_dir).name}.job.json", args.processes, args.launcher, on_step)
        result = load_train_result(Path(out_dir))
        if result is None:
            raise RuntimeError(f"the training processes ended without an adapter in {out_dir}")
        return result

    def loss_fn(peft_model: Any, idx: list[int]) -> tuple[Any, int]:
        batch = {k: v.to(peft_model.device) for k, v in collate([rows[i] for i in idx], pad_id).items()}
        return next_token_loss(peft_model, batch), int(batch["attention_mask"].sum())

    return train_lora(
        model, args, out_dir, [len(r[0]) for r in rows], loss_fn,
        data_key=content_hash(kind, rows), seed=seed, on_step=on_step, checkpoint_every=checkpoint_every,
        init_adapter=init_adapter, manifest_extra={"kind": kind}, heldout_metric=heldout_metric,
    )


def train_lora_sft(
    model: Any,
    tokenizer: Any,
    chats: Sequence[Chat],
    args: LoraArgs,
    out_dir: Path,
    *,
    seed: int,
    on_step: StepFn | None = None,
    checkpoint_every: int | None = None,
    init_adapter: Path | None = None,
    heldout_metric: HeldoutMetric | None = None,
) -> TrainResult:
    """Train a LoRA adapter on `chats` and save it atomically to `out_dir`.

    Resumes from the newest complete checkpoint of an interrupted run with the same config,
    chats, seed and out_dir (see training/loop.py). `heldout_metric` scores held-out chats (by
    their index in `chats`) for an early stop.
    """
    rows = [tokenize_for_sft(tokenizer, c, args.max_length) for c in chats]
    if not rows:
        raise ValueError("no training examples")
    return train_on_rows(model, rows, pad_id_of(tokenizer), args, out_dir, seed=seed, on_step=on_step,
                         checkpoint_every=checkpoint_every, init_adapter=init_adapter, kind="sft",
                         heldout_metric=heldout_metric)
