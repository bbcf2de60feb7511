"""Generate the ticket-routing data: short customer messages -> {"category", "urgency"}.

Written for this repository: the messages are assembled from the templates and vocabulary
below (no external data). Deterministic: `python examples/ticket-routing/make_data.py`
rewrites data/train.jsonl (chat JSONL) and data/eval.jsonl ({"input", "expected"} JSONL).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = ("billing", "delivery", "account", "technical", "returns")

TEMPLATES = {
    "billing": [
        "I was charged twice for order {order}{tail}",
        "My invoice for {month} shows {amount} but my plan costs less{tail}",
        "Why did my card get billed {amount} on {day}?{tail}",
        "The discount code {code} was not applied to my last payment{tail}",
        "Please explain the extra fee of {amount} on my statement{tail}",
        "I cancelled my subscription but you still took {amount}{tail}",
    ],
    "delivery": [
        "My package for order {order} has not arrived yet{tail}",
        "The tracking page for {order} has said 'in transit' since {day}{tail}",
        "The courier left my {product} at the wrong address{tail}",
        "Can I change the delivery address for order {order}?{tail}",
        "The parcel with my {product} shows delivered but I never got it{tail}",
        "When will my {product} ship? I ordered it on {day}{tail}",
    ],
    "account": [
        "I can't log in to my account, the password reset email never comes{tail}",
        "Please change the email on my account to {name}@example.org{tail}",
        "My account got locked after too many login attempts{tail}",
        "How do I delete my account and my saved addresses?{tail}",
        "I want to add {name} as a second user on my account{tail}",
        "The two-factor code for my account is not accepted{tail}",
    ],
    "technical": [
        "The app crashes every time I open the {screen} screen{tail}",
        "Your website shows error {error} when I try to check out{tail}",
        "My {product} will not pair with the app over bluetooth{tail}",
        "The {screen} page keeps loading forever on my phone{tail}",
        "After the latest update my {product} stopped syncing{tail}",
        "I get error {error} whenever I upload a photo{tail}",
    ],
    "returns": [
        "I want to return the {product} from order {order}{tail}",
        "The {product} I received is broken, can I send it back?{tail}",
        "How long does a refund take after you receive my return?{tail}",
        "I sent back my {product} on {day} and have no refund yet{tail}",
        "Can I exchange my {product} for a different size?{tail}",
        "Please send me a return label for order {order}{tail}",
    ],
}
HIGH = [". This is urgent, please fix it today!", ". I need this sorted right now.",
        "! Please help asap, it is blocking my work.", ". Urgent: I have a deadline in two hours.",
        ". This is the third time I ask, I need an answer immediately."]
LOW = [". No rush, whenever you have time.", ", just wondering.", ". Thanks in advance, no hurry.",
       ". Not urgent at all.", ". Could you look into it when you get a chance?"]
VOCAB = {
    "order": [f"#{n}" for n in range(40311, 40399, 7)],
    "month": ["January", "March", "May", "August", "October", "December"],
    "amount": ["$12.99", "$49.00", "EUR 30", "$7.50", "$120", "GBP 15"],
    "day": ["Monday", "Tuesday", "the 3rd", "last Friday", "the 14th", "Sunday"],
    "code": ["SPRING10", "WELCOME5", "VIP20", "FREESHIP"],
    "product": ["headphones", "coffee grinder", "desk lamp", "smart watch", "backpack", "phone case", "kettle"],
    "name": ["maria", "tomas", "aiko", "dev", "lena", "omar"],
    "screen": ["settings", "orders", "cart", "profile", "payment"],
    "error": ["500", "E-1042", "403", "TIMEOUT-7", "E-88"],
}


def message(rng: random.Random, category: str, urgency: str) -> str:
    template = rng.choice(TEMPLATES[category])
    tail = rng.choice(HIGH if urgency == "high" else LOW)
    values = {k: rng.choice(v) for k, v in VOCAB.items()}
    text = template.format(tail="{tail}", **values)
    if text.endswith("?{tail}"):
        tail = " " + tail.lstrip(".,! ").capitalize()
        text = text.replace("{tail}", tail)
    else:
        text = text.replace("{tail}", tail)
    return text


def answer(category: str, urgency: str) -> str:
    return json.dumps({"category": category, "urgency": urgency})


def skeleton(text: str) -> str:
    """The message with its numbers blanked: two messages differing only in an order number,
    amount or error code share it (`ladder data check` calls such an eval row a near-duplicate)."""
    return re.sub(r"\d+", "0", text.lower())


def rows(rng: random.Random, n: int, seen: set[str], banned: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    """n messages, none in `seen` (no message appears twice, nor in both splits) and none whose
    skeleton is in `banned` (no eval message is a training message with other numbers)."""
    out = []
    while len(out) < n:
        category = CATEGORIES[len(out) % len(CATEGORIES)]
        urgency = rng.choice(["low", "high"])
        text = message(rng, category, urgency)
        if text not in seen and skeleton(text) not in banned:
            seen.add(text)
            out.append((text, category, urgency))
    rng.shuffle(out)
    return out


def main() -> None:
    rng = random.Random(7)
    seen: set[str] = set()
    train = rows(rng, 120, seen)
    evals = rows(rng, 60, seen, frozenset(skeleton(text) for text, _, _ in train))
    (HERE / "data").mkdir(exist_ok=True)
    with open(HERE / "data" / "train.jsonl", "w") as f:
        for i, (text, c, u) in enumerate(train):
            f.write(json.dumps({"id": f"t{i:03d}", "messages": [
                {"role": "user", "content": text}, {"role": "assistant", "content": answer(c, u)}]}) + "\n")
    with open(HERE / "data" / "eval.jsonl", "w") as f:
        for i, (text, c, u) in enumerate(evals):
            f.write(json.dumps({"id": f"e{i:03d}", "input": text, "expected": answer(c, u)}) + "\n")


if __name__ == "__main__":
    main()
