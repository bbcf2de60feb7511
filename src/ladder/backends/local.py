"""Local backend: a small model in-process on CPU with transformers (its weights' sources and
loading: local_models.py; the batched decode loop: batching.py)."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Sequence

from ladder.backends.base import ProgressFn
from ladder.backends.batching import generate_rows, plan_batches, prefix_groups
from ladder.backends.local_models import (
    LOCAL_MODELS,
    adapter_sha256,
    is_known,
    load_model,
    load_tokenizer,
    offline,
    weights_sha256,
)
from ladder.types import AnswerScore, Chat, Generation, GenerationParams


def render_chat(tokenizer: Any, chat: Chat, add_generation_prompt: bool = True) -> str:
    return tokenizer.apply_chat_template(
        [m.to_dict() for m in chat], add_generation_prompt=add_generation_prompt, tokenize=False
    )


def generate_chats(model: Any, tok: Any, stops: list[int], chats: Sequence[Chat], params: GenerationParams,
                   batch_size: int | None = None, on_progress: ProgressFn | None = None) -> list[Generation]:
    """Answers to `chats` from `model` in planned batches (backends/batching.py): what the
    backend's generate does with its loaded model, and what a trainer's early stop does with the
    model it is training. A batch that raises fails its rows, not the others."""
    rows = [tok(render_chat(tok, c), add_special_tokens=False)["input_ids"] for c in chats]
    results: list[Generation | None] = [None] * len(rows)
    memo: dict[tuple[int, ...], Any] = {}  # shared-prefix KV caches, reused across batches
    own = [0] * len(rows)  # a row's tokens past the prefix it shares: what its own cache slots hold
    for members, shared in prefix_groups(rows):
        for i in members:
            own[i] = len(rows[i]) - shared
    for batch in plan_batches(own, params.max_new_tokens, batch_size):
        t0 = time.perf_counter()
        try:
            new = generate_rows(
                model, [rows[i] for i in batch], tok.pad_token_id, stops,
                params.max_new_tokens, params.temperature, memo,
            )
        except Exception as e:  # an OOM or a bad input fails its rows, not the whole rung
            for i in batch:
                results[i] = Generation("", len(rows[i]), 0, 0.0, "error", error=f"{type(e).__name__}: {e}")
            continue
        elapsed = time.perf_counter() - t0
        for ids, i in zip(new, batch):
            n = next((j for j, t in enumerate(ids) if t in stops), len(ids))
            stopped = n < len(ids)
            results[i] = Generation(
                text=tok.decode(ids[:n], skip_special_tokens=True).strip(),
                prompt_tokens=len(rows[i]),
                completion_tokens=n,
                latency_s=elapsed / len(batch),
                finish_reason="stop" if stopped else "length",
            )
        if on_progress:
            on_progress(len(batch))
    return [r for r in results if r is not None]


class LocalBackend:
    """Batched greedy generation with a transformers causal LM on CPU."""

    def __init__(self, name: str = "smollm2-135m-instruct", dtype: str = "float32", batch_size: int | None = None,
                 chat_template: str | None = None):
        self.name = name  # the source: a known model id, or the path of a model folder or .gguf file
        self.dtype = dtype
        self.batch_size = batch_size
        # a known model whose file has no turn format brings its own (so it is in the fingerprint too)
        self.chat_template = chat_template if chat_template is not None or not is_known(name) \
            else LOCAL_MODELS[name].chat_template
        self._tokenizer: Any = None
        self._models: dict[str | None, Any] = {}  # adapter dir (None = base) -> merged model

    # -- identity -------------------------------------------------------------------------
    def fingerprint(self, adapter: str | None = None) -> str:
        # One's own model is named by its content, so a copy of the folder hits the same cache.
        label = self.name if is_known(self.name) else "weights"
        base = f"local:{label}:{weights_sha256(self.name)[:16]}:{self.dtype}"
        if self.chat_template is not None:
            base += f"+template:{hashlib.sha256(self.chat_template.encode()).hexdigest()[:12]}"
        if is_known(self.name) and LOCAL_MODELS[self.name].stop_tokens:  # they cut its replies
            base += f"+stop:{hashlib.sha256(repr(LOCAL_MODELS[self.name].stop_tokens).encode()).hexdigest()[:8]}"
        return base if adapter is None else f"{base}+lora:{adapter_sha256(adapter)[:16]}"

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            offline()
            self._tokenizer = load_tokenizer(self.name, self.chat_template)
        return self._tokenizer

    @property
    def stop_ids(self) -> list[int]:
        """The token ids a reply ends at: the eos token, and a known model's `stop_tokens`."""
        extra = LOCAL_MODELS[self.name].stop_tokens if is_known(self.name) else ()
        return [self.tokenizer.eos_token_id, *self.tokenizer.convert_tokens_to_ids(list(extra))]

    def count_tokens(self, chat: Chat) -> int:
        return len(self.tokenizer(render_chat(self.tokenizer, chat), add_special_tokens=False)["input_ids"])

    # -- weights --------------------------------------------------------------------------
    def loaded_model(self, adapter: str | None = None) -> Any:
        """The model answering with `adapter` merged (None: the base), loaded on first use and kept
        (the two most recent)."""
        if adapter not in self._models:
            if adapter is None:
                model = load_model(self.name, self.dtype)
            else:
                from peft import PeftModel

                # Merging makes inference as fast as the base model: no LoRA detour per layer.
                model = PeftModel.from_pretrained(self.base_copy(), adapter).merge_and_unload()
            self._keep(adapter, model)
        return self._models[adapter]

    def keep_merged(self, adapter: str, model: Any) -> None:
        """Take `model` as the one answering with `adapter` merged, as loaded_model would make it:
        the caller has checked that it holds exactly those weights (rungs/heldout.py, EvalWeights)."""
        self._models.pop(adapter, None)
        self._keep(adapter, model)

    def _keep(self, adapter: str | None, model: Any) -> None:
        model.eval()
        if len(self._models) >= 2:  # the two most recent: memory stays flat across many rungs
            self._models.pop(next(iter(self._models)))
        self._models[adapter] = model

    def base_copy(self) -> Any:
        """A copy of the base model to change (merge an adapter into, train): a deep copy of the
        loaded one, which is faster than loading the file again (load_model)."""
        import copy

        return copy.deepcopy(self.loaded_model())

    # -- token probabilities ----------------------------------------------------------------
    def next_token_probs(self, chat: Chat, prefix: str, candidates: Sequence[str]) -> tuple[dict[str, float], Generation]:
        """The probability of each candidate as the next token after `chat` rendered for a reply and
        `prefix` (the start of that reply), from one forward pass of the base model: what a G-Eval
        style judge weighs its score tokens with. Probabilities are the model's own (not renormalised
        over the candidates); the Generation carries the prompt's tokens and the pass's latency."""
        import torch

        tok, model = self.tokenizer, self.loaded_model(None)
        text = render_chat(tok, chat) + prefix
        ids = tok(text, add_special_tokens=False)["input_ids"]
        t0 = time.perf_counter()
        with torch.no_grad():  # the output head on the last position only: the others' logits go unread
            logits = model(torch.tensor([ids]), logits_to_keep=1).logits[0, -1]
        probs = torch.softmax(logits.float(), dim=-1)
        out = {c: float(probs[self._next_token_id(text, ids, c)]) for c in candidates}
        return out, Generation("", len(ids), 0, time.perf_counter() - t0)

    def _next_token_id(self, text: str, ids: list[int], candidate: str) -> int:
        """The token that continues `text` (tokenised as `ids`) with `candidate`: the one the
        tokenizer itself appends, or the candidate's first token where it merges with the text's end."""
        extended = self.tokenizer(text + candidate, add_special_tokens=False)["input_ids"]
        if len(extended) == len(ids) + 1 and extended[: len(ids)] == ids:
            return int(extended[-1])
        return int(self.tokenizer(candidate, add_special_tokens=False)["input_ids"][0])

    # -- generation -----------------------------------------------------------------------
    def generate(self, chats: Sequence[Chat], params: GenerationParams, adapter: str | None = None,
                 on_progress: ProgressFn | None = None) -> list[Generation]:
        return generate_chats(self.loaded_model(adapter), self.tokenizer, self.stop_ids, chats, params,
                              self.batch_size, on_progress)

    # -- scoring --------------------------------------------------------------------------
    def answer_scores(self, chats: Sequence[Chat], answers: Sequence[str], adapter: str | None = None,
                      batch_size: int = 8) -> list[AnswerScore]:
        """The log-probability of each answer (then the end of the turn) as the assistant's reply
        to its chat: one forward pass per batch, no decoding. Rows are padded on the right, so
        every real token keeps its position and attends to nothing but real tokens before it. The
        output head runs only from the first position that predicts an answer token on (the
        prompts' logits are never read: 0.78-0.81x the time of the whole head on 48 ticket-routing
        chats of 231 tokens, the same log-probabilities)."""
        import torch

        model, tok = self.loaded_model(adapter), self.tokenizer
        prompts = [tok(render_chat(tok, c), add_special_tokens=False)["input_ids"] for c in chats]
        replies = [tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for a in answers]
        out: list[AnswerScore] = []
        for start in range(0, len(prompts), batch_size):
            rows = [p + r for p, r in zip(prompts[start:start + batch_size], replies[start:start + batch_size])]
            batch = list(zip(prompts[start:start + batch_size], replies[start:start + batch_size]))
            t0 = time.perf_counter()
            width = max(len(r) for r in rows)
            ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
            first = min(len(p) for p, _ in batch) - 1  # the earliest position whose logits predict an answer token
            try:
                with torch.no_grad():
                    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=width - first).logits
            except Exception as e:  # fail these rows, not the search
                out += [AnswerScore(0.0, len(r), 0.0, error=f"{type(e).__name__}: {e}") for r in rows]
                continue
            scored = []
            for i, (p, r) in enumerate(batch):
                # the token at position t is predicted by the logits at t - 1 (kept from `first` on)
                logprobs = torch.log_softmax(logits[i, torch.arange(len(p) - 1, len(p) + len(r) - 1) - first].float(), dim=-1)
                scored.append(logprobs[torch.arange(len(r)), torch.tensor(r)].sum().item())
            elapsed = (time.perf_counter() - t0) / len(rows)
            out += [AnswerScore(total, len(p) + len(r), elapsed) for total, (p, r) in zip(scored, batch)]
        return out
