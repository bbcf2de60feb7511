"""Generate the balance-shift example data (deterministic; run from anywhere).

The "balance shift method" is invented for ladder, so no model knows it from pre-training:
    shift = (A - B) / (A + B), reported to 4 decimals, in a fixed three-line format.
Training data is written as OpenAI chat JSONL, eval data as {input, expected} JSONL, so the
example exercises both readers.

    python examples/balance-shift/make_data.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
N_TRAIN, N_EVAL, SEED = 160, 50, 20261121

# (template, unit) pairs: the same method asked about in different words and settings.
TEMPLATES = [
    "Element 1 measures {a} and element 2 measures {b}. Apply the balance shift method.",
    "Run a balance shift analysis for A = {a} and B = {b}.",
    "Left pan holds {a} g, right pan holds {b} g. What is the balance shift?",
    "Team one scored {a} points and team two scored {b}. Give the balance shift analysis.",
    "Balance shift please: first supplier delivered {a} crates, second supplier {b} crates.",
    "Using the balance shift method, compare {a} (element 1) with {b} (element 2).",
    "Inbound traffic was {a} requests, outbound {b}. Report the balance shift.",
    "The north sensor reads {a} and the south sensor reads {b}. Compute the balance shift.",
]


def answer(a: int, b: int) -> str:
    shift = (a - b) / (a + b)
    dominant = 1 if shift > 0 else 2
    return (
        "Balance analysis:\n"
        f"- Shift value: ({a} - {b}) / ({a} + {b}) = {shift:.4f}\n"
        f"- Interpretation: element {dominant} dominates by {abs(shift) * 100:.1f}%."
    )


def pairs(rng: random.Random, n: int, seen: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    out = []
    while len(out) < n:
        a, b = rng.randint(1, 500), rng.randint(1, 500)
        if a == b or (a, b) in seen:  # equal loads have no dominant element; skip that case
            continue
        seen.add((a, b))
        out.append((a, b, rng.choice(TEMPLATES)))
    return out


def main() -> None:
    rng = random.Random(SEED)
    seen: set[tuple[int, int]] = set()
    train, evals = pairs(rng, N_TRAIN, seen), pairs(rng, N_EVAL, seen)
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    with open(data / "train.jsonl", "w", encoding="utf-8") as f:
        for i, (a, b, t) in enumerate(train):
            msgs = [
                {"role": "user", "content": t.format(a=a, b=b)},
                {"role": "assistant", "content": answer(a, b)},
            ]
            f.write(json.dumps({"id": f"train-{i:03d}", "messages": msgs}) + "\n")
    with open(data / "eval.jsonl", "w", encoding="utf-8") as f:
        for i, (a, b, t) in enumerate(evals):
            rec = {"id": f"eval-{i:03d}", "input": t.format(a=a, b=b), "expected": answer(a, b)}
            f.write(json.dumps(rec) + "\n")
    print(f"wrote {len(train)} train and {len(evals)} eval examples to {data}")


if __name__ == "__main__":
    main()
