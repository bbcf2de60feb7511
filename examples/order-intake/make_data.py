"""Generate the order-intake data: a customer's order message -> {"order", "quantity", "city"}.

Written for this repository: the messages are assembled from the templates and vocabulary
below (no external data). Every value to extract is written in its message, beside numbers that
are not the answer (a phone extension, a date, a price, a postcode), so a wrong value is a
misreading, never a missing fact. Deterministic: `python examples/order-intake/make_data.py`
rewrites data/train.jsonl (chat JSONL) and data/eval.jsonl ({"input", "expected"} JSONL).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

TEMPLATES = [
    "Hi, this is about order {order}: please send {qty} {item} to our {city} office{extra}.",
    "Please ship {qty} {item} to {city} (our ref {order}){extra}.",
    "{city} branch here. Order no. {order}, we need {qty} {item}{extra}.",
    "Could you add {qty} {item} to order {order}? Delivery to {city}{extra}.",
    "Order {order} - {qty} x {item}, deliver to {city}{extra}.",
    "We are short of {item} in {city}: {qty} more, please, on order {order}{extra}.",
    "Reference {order}. Quantity {qty}. Item: {item}. Destination: {city}{extra}.",
    "For our {city} site, {qty} {item} please. Purchase order {order}{extra}.",
]
EXTRAS = [
    "", "", " - call me on extension {ext} if anything is unclear", " by {day} {month}",
    " at the old price of {price}", ", postcode {postcode}", " (last time we got {other})",
]
CITIES = ["Lyon", "Porto", "Graz", "Oslo", "Turin", "Leeds", "Ghent", "Brno", "Malmo", "Cork", "Basel", "Split"]
ITEMS = ["desk lamps", "office chairs", "monitor arms", "cable trays", "whiteboards", "filing cabinets",
         "standing desks", "keyboards", "headsets", "paper shredders"]
MONTHS = ["March", "April", "June", "September", "November"]


def message(rng: random.Random) -> tuple[str, dict[str, object]]:
    order, qty, city = rng.randint(1000, 9999), rng.randint(2, 60), rng.choice(CITIES)
    extra = rng.choice(EXTRAS).format(
        ext=rng.randint(100, 999), day=rng.randint(1, 28), month=rng.choice(MONTHS),
        price=f"EUR {rng.randint(20, 400)}", postcode=rng.randint(10000, 99999), other=rng.randint(2, 60))
    text = rng.choice(TEMPLATES).format(order=order, qty=qty, item=rng.choice(ITEMS), city=city, extra=extra)
    return text, {"order": order, "quantity": qty, "city": city}


def skeleton(text: str) -> str:
    """The message with its numbers blanked (`ladder data check` calls an eval row whose
    skeleton is a training row's a near-duplicate)."""
    return re.sub(r"\d+", "0", text.lower())


def rows(rng: random.Random, n: int, seen: set[str], banned: frozenset[str] = frozenset()) -> list[tuple[str, dict]]:
    """n messages, none in `seen` and none whose skeleton is in `banned`."""
    out = []
    while len(out) < n:
        text, answer = message(rng)
        if text not in seen and skeleton(text) not in banned:
            seen.add(text)
            out.append((text, answer))
    return out


def main() -> None:
    rng = random.Random(11)
    seen: set[str] = set()
    train = rows(rng, 120, seen)
    # an eval message never shares its wording, numbers aside, with a training message
    evals = rows(rng, 50, seen, frozenset(skeleton(text) for text, _ in train))
    (HERE / "data").mkdir(exist_ok=True)
    with open(HERE / "data" / "train.jsonl", "w") as f:
        for i, (text, answer) in enumerate(train):
            f.write(json.dumps({"id": f"t{i:03d}", "messages": [
                {"role": "user", "content": text}, {"role": "assistant", "content": json.dumps(answer)}]}) + "\n")
    with open(HERE / "data" / "eval.jsonl", "w") as f:
        for i, (text, answer) in enumerate(evals):
            f.write(json.dumps({"id": f"e{i:03d}", "input": text, "expected": json.dumps(answer)}) + "\n")


if __name__ == "__main__":
    main()
