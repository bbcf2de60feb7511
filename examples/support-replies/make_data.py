"""Generate the support-replies example from its policy table (deterministic; run from anywhere).

    python examples/support-replies/make_data.py

policies.yaml (written by hand) -> corpus/NN-<slug>.md, one policy document per entry with one
"## CODE: title" section per clause, and the customer messages -> data/train.jsonl (OpenAI chat
JSONL) and data/eval.jsonl ({"input", "expected"} JSONL with `gold_doc` and `gold_passage`).
Every row carries its own knowledge checks: the clause's policy code and its key figure.

The split is by wording and by clause: each clause has one eval message and three training
messages worded differently (so no eval row is a near-duplicate of a training row), and one
clause per document is held out (`held_out: true`), asked only in eval, so its code and figure
are in the corpus and nowhere in the training answers. Eval ids end in `-seen` or `-unseen`.
"""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SEED = 20261201

# The task's form check (task.yaml `checks`): two to four sentences. A sentence ends at . ! or ?
# followed by whitespace or the end, so "$6.50" or "tallowmere.example" do not end one; an answer
# cut off mid-sentence by the token limit does not match.
SENTENCES = r"^(?:(?:[^.!?]|[.!?](?=[^\s.!?]))+[.!?]+(?:\s+|$)){2,4}$"

VOCAB: dict[str, list[str]] = {
    "product": ["table lamp", "kettle", "wool blanket", "rain jacket", "camping stove", "cast-iron pan",
                "thermos flask", "duvet cover", "garden hose", "picnic set", "desk fan", "doormat"],
    "furniture": ["pine bookcase", "sofa bed", "dining table", "wardrobe", "chest of drawers", "bed frame"],
    "electrical": ["kettle", "table lamp", "desk fan", "toaster", "coffee grinder", "heated blanket"],
    "outdoor": ["tent", "camping chair", "hammock", "folding table", "garden parasol"],
    "clothing": ["rain jacket", "fleece", "wool jumper", "down vest", "pair of walking boots"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten", 12: "twelve", 14: "fourteen", 15: "fifteen", 21: "twenty-one",
                24: "twenty-four", 30: "thirty", 45: "forty-five", 48: "forty-eight", 50: "fifty",
                60: "sixty", 90: "ninety"}


def key_pattern(key: str) -> str:
    """A regex that finds the key figure ("30 days", "$6.50", "15%", "2-year") in an answer: the
    number as digits (or, without a currency sign, as a word), not part of a longer number or of a
    policy code, then the unit with any spacing or hyphen ("2-year" also matches "2 years"); a
    sum keeps its currency sign, so "$12" is not "12 months"."""
    m = re.fullmatch(r"(\$?)(\d+(?:\.\d+)?)(.*)", key)
    if m is None:
        raise SystemExit(f"policies.yaml: key {key!r} does not start with a number")
    money, number, unit = m.groups()
    digits = re.escape(number)
    word = NUMBER_WORDS.get(int(float(number))) if not money and "." not in number else None
    num = f"(?:{digits}|{word})" if word else digits
    plural = unit.endswith("s")  # "30 days" also matches "30-day"
    rest = "".join(r"[\s-]*" if c in " -" else r"\s*(?:%|per\s?cent)" if c == "%" else re.escape(c)
                   for c in (unit[:-1] if plural else unit)) + ("s?" if plural else "")
    return rf"(?<![\w.,-]){re.escape(money)}{num}(?!\d|[.,]\d){rest}"


def code_pattern(code: str) -> str:
    """The policy code as a whole token: RET-1, not RET-10 (a space for the hyphen is accepted)."""
    prefix, number = code.split("-")
    return rf"(?<![\w-]){prefix}[\s-]?{number}(?!\d)"


def checks(clause: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": "policy code", "kind": "regex", "tag": "knowledge", "pattern": code_pattern(clause["code"]),
         "ignore_case": True},
        {"name": "key figure", "kind": "regex", "tag": "knowledge", "pattern": key_pattern(clause["key"]),
         "ignore_case": True},
    ]


def render_doc(company: str, doc: dict[str, Any]) -> str:
    lines = [f"# {company} policy: {doc['title']}", "", doc["intro"], ""]
    for c in doc["clauses"]:
        lines += [f"## {c['code']}: {c['title']}", "", c["text"], ""]
    return "\n".join(lines)


def slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill(rng: random.Random, clause: dict[str, Any], message: str) -> tuple[str, str]:
    """(message, answer) with one draw of every slot either uses."""
    names = slots(message) | slots(clause["answer"])
    values: dict[str, Any] = {}
    for name in sorted(names):
        if name == "order":
            values[name] = f"#{rng.randrange(30000, 99999)}"
        elif name in clause.get("numbers", {}):
            values[name] = rng.choice(clause["numbers"][name])
        elif name in VOCAB:
            values[name] = rng.choice(VOCAB[name])
        else:
            raise SystemExit(f"policies.yaml: {clause['code']}: no vocabulary for slot {{{name}}}")
    return message.format(**values), clause["answer"].format(**values)


def validate(clause: dict[str, Any], answer: str) -> None:
    """A reference must pass its own checks and the form check; the key figure must be the corpus's."""
    where = f"policies.yaml: {clause['code']}"
    for c in checks(clause):
        for text, what in ((answer, "answer"), (clause["text"], "text")):
            if not re.search(c["pattern"], text, re.IGNORECASE) and not (what == "text" and c["name"] == "policy code"):
                raise SystemExit(f"{where}: the {what} fails its {c['name']} check /{c['pattern']}/: {text}")
    if not re.search(SENTENCES, answer):
        raise SystemExit(f"{where}: the answer is not two to four sentences: {answer}")
    if clause.get("held_out") == bool(clause.get("train")):
        raise SystemExit(f"{where}: a held-out clause has no training messages, every other clause has three")


def main() -> None:
    table = yaml.safe_load((HERE / "policies.yaml").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    corpus, data = HERE / "corpus", HERE / "data"
    corpus.mkdir(exist_ok=True)
    data.mkdir(exist_ok=True)
    for old in corpus.glob("*.md"):
        old.unlink()
    train: list[dict[str, Any]] = []
    evals: list[dict[str, Any]] = []
    for number, doc in enumerate(table["documents"], start=1):
        name = f"{number:02d}-{doc['slug']}.md"
        (corpus / name).write_text(render_doc(table["company"], doc), encoding="utf-8")
        for clause in doc["clauses"]:
            message, answer = fill(rng, clause, clause["eval"])
            validate(clause, answer)
            seen = "unseen" if clause.get("held_out") else "seen"
            evals.append({"id": f"{clause['code'].lower()}-{seen}", "input": message, "expected": answer,
                          "gold_doc": name, "gold_passage": clause["text"], "checks": checks(clause)})
            for i, template in enumerate(clause.get("train") or [], start=1):
                message, answer = fill(rng, clause, template)
                validate(clause, answer)
                train.append({"id": f"{clause['code'].lower()}-t{i}", "messages": [
                    {"role": "user", "content": message}, {"role": "assistant", "content": answer}],
                    "checks": checks(clause)})
    rng.shuffle(train)
    for path, rows in ((data / "train.jsonl", train), (data / "eval.jsonl", evals)):
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(table['documents'])} documents, {len(evals)} eval questions "
          f"({sum(e['id'].endswith('-unseen') for e in evals)} on held-out clauses), {len(train)} training chats")


if __name__ == "__main__":
    main()
