"""Generate the handbook example from its fact table (deterministic; run from anywhere).

    python examples/handbook/make_data.py

facts.yaml (written by hand) -> corpus/NN-<slug>.md, one handbook document per entry, and the
questions -> data/train.jsonl and data/eval.jsonl ({"input", "expected"} JSONL with `gold_doc`,
`gold_passage` and a per-example knowledge check on the fact's key token).

The split is by fact: in every document one asked fact goes to eval and the others to train, so
no training question covers a fact that an eval question asks about. The facts without a
question stay in the corpus as material a retriever has to rank past.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
SEED = 20261121
ORG = "Brackwater Fen Observatory"


def key_pattern(key: str) -> str:
    """A regex that finds the key token as a whole word (so '11' does not match '110')."""
    key = re.sub(r"^the\s+", "", key, flags=re.IGNORECASE)  # 'the Vault' -> answers may drop 'the'
    return rf"(?<![\w.,]){re.escape(key)}(?![\w]|[.,]\d)"


def render_doc(entry: dict[str, Any]) -> str:
    lines = [f"# {ORG} handbook: {entry['title']}", "", entry["intro"], ""]
    for section in entry["sections"]:
        lines += [f"## {section['heading']}", "", " ".join(f["s"] for f in section["facts"]), ""]
    return "\n".join(lines)


def example(ex_id: str, fact: dict[str, Any], gold_doc: str) -> dict[str, Any]:
    return {
        "id": ex_id,
        "input": fact["q"],
        "expected": fact["a"],
        "gold_doc": gold_doc,
        "gold_passage": fact["s"],
        "checks": [{"name": "key fact", "kind": "regex", "tag": "knowledge",
                    "pattern": key_pattern(fact["k"]), "ignore_case": True}],
    }


def main() -> None:
    table = yaml.safe_load((HERE / "facts.yaml").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    corpus, data = HERE / "corpus", HERE / "data"
    corpus.mkdir(exist_ok=True)
    data.mkdir(exist_ok=True)
    for old in corpus.glob("*.md"):
        old.unlink()
    train: list[dict[str, Any]] = []
    evals: list[dict[str, Any]] = []
    n_facts = 0
    for number, entry in enumerate(table, start=1):
        name = f"{number:02d}-{entry['slug']}.md"
        (corpus / name).write_text(render_doc(entry), encoding="utf-8")
        facts = [f for s in entry["sections"] for f in s["facts"]]
        n_facts += len(facts)
        for f in facts:
            if f["k"] not in f["s"]:
                raise SystemExit(f"facts.yaml: {entry['slug']}: key {f['k']!r} is not in its sentence")
        asked = [i for i, f in enumerate(facts) if "q" in f]
        held_out = rng.choice(asked)
        for i in asked:
            ex = example(f"{entry['slug']}-{i + 1}", facts[i], name)
            (evals if i == held_out else train).append(ex)
    rng.shuffle(train)
    for path, rows in ((data / "train.jsonl", train), (data / "eval.jsonl", evals)):
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(table)} documents, {n_facts} facts, {len(train)} train and {len(evals)} eval questions")


if __name__ == "__main__":
    main()
