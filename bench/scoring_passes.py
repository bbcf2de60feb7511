"""The local model's two scoring passes, timed: `answer_scores` (the log-likelihood of a given
answer: the prompt searches' `score: loglikelihood`) and `next_token_probs` (the probability of
each candidate next token: a `scoring: logprobs` judge's verdict). Neither decodes; both are one
forward pass, and the output head over the whole vocabulary is part of it.

    PYTHONPATH=src .venv/bin/python bench/scoring_passes.py [--rows 48] [--demos 4] [--repeats 3]

Workload: ticket-routing training rows under a few-shot prompt (`--demos` demonstrations, ~230
tokens), answered by each row's reference (a short JSON label, ~15 tokens). For an A/B against
other code, run the same command with PYTHONPATH at the other tree's src and compare the
medians; the script prints a digest of the scores and probabilities, rounded to 3 decimals, so
that the two runs can be checked to agree (an output head over one position instead of all can
move a probability by ~1e-5 of itself: the rounding hides that, except at a boundary).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUTING = ROOT / "examples/ticket-routing/data/train.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--demos", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from ladder.backends.local import LocalBackend, render_chat
    from ladder.hardware import cpu_info
    from ladder.types import Message

    rows = [json.loads(line) for line in ROUTING.read_text().splitlines()][: args.demos + args.rows]
    demos, asked = rows[: args.demos], rows[args.demos:]
    system = Message("system", "Route the ticket. Answer with JSON: category and urgency.")
    shots = tuple(m for d in demos for m in (Message("user", d["messages"][0]["content"]),
                                             Message("assistant", d["messages"][1]["content"])))
    chats = [(system, *shots, Message("user", r["messages"][0]["content"])) for r in asked]
    answers = [r["messages"][1]["content"] for r in asked]

    backend = LocalBackend("smollm2-135m-instruct")
    tok = backend.tokenizer
    backend.loaded_model(None)  # loaded before any clock starts
    mean_tokens = sum(len(tok(render_chat(tok, c), add_special_tokens=False)["input_ids"]) for c in chats) / len(chats)

    def answer_scores() -> list[float]:
        return [s.logprob for s in backend.answer_scores(chats, answers)]

    def next_token_probs() -> list[float]:
        return [p for c in chats for p in backend.next_token_probs(c, '{"category": "', ["billing", "returns"])[0].values()]

    print(f"CPU: {cpu_info().model}; {len(chats)} chats, {mean_tokens:.0f} prompt tokens on average, {args.repeats} repeats")
    print("| pass | median s | per chat ms | runs (s) | digest |")
    print("|---|---|---|---|---|")
    for name, run in (("answer_scores", answer_scores), ("next_token_probs", next_token_probs)):
        times, values = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            values = run()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        digest = hashlib.sha256(json.dumps([round(v, 3) for v in values]).encode()).hexdigest()[:12]
        print(f"| {name} | {median:.2f} | {1000 * median / len(chats):.0f} | {', '.join(f'{t:.2f}' for t in times)} | {digest} |")


if __name__ == "__main__":
    main()
