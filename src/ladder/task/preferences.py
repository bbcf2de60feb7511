"""`ladder data preferences`: people's blind A/B choices in a run (`ladder review`) as DPO pairs.

One row per pair of answers that the raters preferred one of (winner `a` or `b`; a tie or
"both bad" says nothing about which to prefer). A rater's latest choice on a pair counts
(`Store.comparisons`); with several raters, the answer with more votes is `chosen` and a pair
whose votes are even is left out. The prompt is the example's input as one user message (the
rungs' prompts differ; what was judged is the answer to that input).

Formats: `openai` (OpenAI's preference fine-tuning rows: `{"input": {"messages"},
"preferred_output", "non_preferred_output"}`) and `trl` (`{"prompt", "chosen", "rejected"}`, the
conversational form TRL's DPOTrainer reads). Both are read back by the `dpo` rung's `pairs:`.

Eval-split inputs are refused unless `include_eval`: every answer a climb records is an answer to
an eval example, and a fine-tune trained on its own test inputs measures nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ladder.fsutil import write_file_atomic
from ladder.task.formats import Preference, Turn, to_json
from ladder.tracking.store import GenerationRow, Store

Format = Literal["openai", "trl"]
EVAL_SKIP = ("eval-split input (an answer to one of the run's eval examples: training on it would "
             "test the fine-tune on its own training data); --include-eval writes it anyway")


def eval_answers(store: Store, run_id: str) -> dict[int, GenerationRow]:
    """generation id -> generation, for every answer the run recorded: each one answers an example
    of the run's eval rows (the climb evaluates the eval split only)."""
    return {g.id: g for row in store.rung_results(run_id) for g in store.generations(row.id)}


@dataclass
class ExportResult:
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count

    def lines(self, out: Path) -> list[str]:
        head = f"{out}: {self.written} preference pair(s) written" if self.written else f"{out}: nothing written"
        return [head] + [f"  skipped {n}: {reason}" for reason, n in self.skipped.most_common()]


def preference_row(prompt: str, chosen: str, rejected: str, fmt: Format) -> dict:
    if fmt == "openai":
        return to_json(Preference((Turn("user", prompt),), chosen, rejected), "openai")
    return {"prompt": [{"role": "user", "content": prompt}], "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def export_preferences(store: Store, run_id: str, out: str | Path, fmt: Format = "openai",
                       include_eval: bool = False) -> ExportResult:
    """Write the run's human A/B choices as DPO pairs to `out` (nothing is written when no pair is
    left: the file is not created)."""
    result = ExportResult()
    answers = eval_answers(store, run_id)
    votes: dict[tuple[int, int], Counter[str]] = {}
    for c in store.comparisons(run_id):
        if c.source_kind != "human":
            continue
        if c.winner not in ("a", "b"):
            result.skipped[f"a choice of {c.winner or 'nothing'} (only a or b makes a pair)"] += 1
            continue
        votes.setdefault((c.a, c.b), Counter())[c.winner] += 1
    rows = []
    for (a, b), count in votes.items():
        if count["a"] == count["b"]:
            result.skipped["raters split evenly"] += 1
            continue
        if not include_eval:  # every recorded answer is an eval answer today; the check stays general
            if a in answers or b in answers:
                result.skipped[EVAL_SKIP] += 1
                continue
        chosen, rejected = (answers[a], answers[b]) if count["a"] > count["b"] else (answers[b], answers[a])
        rows.append(json.dumps(preference_row(chosen.input, chosen.output, rejected.output, fmt), ensure_ascii=False))
    if rows:
        write_file_atomic(Path(out), "".join(r + "\n" for r in rows))
    result.written = len(rows)
    return result
