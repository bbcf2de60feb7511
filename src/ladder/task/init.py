"""`ladder init`: a commented task.yaml proposed from a data file.

Pure functions: the caller reads the data (``ladder.task.datasets.read_examples``) and writes
the files; here the reference answers are looked at and turned into proposals:

- a seeded train/eval split of one file, in which no eval row near-duplicates a training row
  (``ladder data check`` would flag it, and such a row measures recall of the training data);
- checks from the references' shape: JSON -> a `json` check with a schema inferred from them plus
  one knowledge check per key; a few distinct short labels -> `exact` plus a one-of-the-labels
  form check; numbers -> `numeric` on the last number; free text -> `contains` of a key phrase
  every reference has, and a length bound;
- the rungs the data allows, and the task.yaml text with a comment on every proposal.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from ladder.task import formats
from ladder.task.near_duplicates import copied_from
from ladder.task.proposed_checks import CheckProposal, propose_checks
from ladder.types import Example

FORMAT_NAMES = {
    "openai": "OpenAI chat (messages)",
    "alpaca": "Alpaca (instruction/input/output)",
    "sharegpt": "ShareGPT (conversations)",
    "prompt_completion": "prompt/completion",
    "pair": "input/expected",
}


@dataclass(frozen=True)
class Split:
    """Indices of the rows in the train and eval split; `moved` went to train as near-duplicates;
    `duplicated` eval rows still near-duplicate a training row (moving them would empty eval)."""

    train: tuple[int, ...]
    eval: tuple[int, ...]
    moved: tuple[int, ...] = ()
    duplicated: tuple[int, ...] = ()


@dataclass(frozen=True)
class InitPlan:
    """Everything task.yaml says, before it is rendered as text."""

    name: str
    source: str  # the data file(s), as the header comment names them
    data_format: str
    train_path: str | None  # relative to task.yaml
    eval_path: str
    n_train: int
    n_eval: int
    proposal: CheckProposal
    max_new_tokens: int
    corpus_path: str | None = None
    system_prompts: int = 0  # eval rows that carry a system message
    row_checks: int = 0  # eval rows that carry their own checks
    split_note: str | None = None


# -- the data ------------------------------------------------------------------------------
def detect_file_format(lines: Sequence[str]) -> str:
    """The format of a JSONL file's rows (the most common one; the readers accept a mix)."""
    found: Counter[str] = Counter()
    for line in lines:
        if line.strip():
            try:
                found[formats.detect(json.loads(line))] += 1
            except (ValueError, formats.FormatError):
                continue
    return found.most_common(1)[0][0] if found else "unknown"


def split_rows(examples: Sequence[Example], eval_fraction: float, seed: int) -> Split:
    """A seeded split of one file's rows: `eval_fraction` of them (at least one, and at least
    one left to train on) to eval, the rest to train. Eval rows that near-duplicate a training row
    (similar input, same answer) are moved to train, so that the eval split measures the task,
    not recall; unless that would empty it."""
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval fraction must be between 0 and 1 (got {eval_fraction})")
    n = len(examples)
    if n < 2:
        return Split(train=(), eval=tuple(range(n)))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_eval = min(n - 1, max(1, round(n * eval_fraction)))
    evals, train = sorted(order[:n_eval]), sorted(order[n_eval:])
    moved: list[int] = []
    while True:
        hits = copied_from([examples[i] for i in evals], [examples[i] for i in train])
        dups = [i for i, found in zip(evals, hits) if found]
        if not dups or len(dups) == len(evals):
            break
        moved += dups
        evals = [i for i in evals if i not in dups]
        train = sorted(train + dups)
    return Split(train=tuple(train), eval=tuple(evals), moved=tuple(sorted(moved)), duplicated=tuple(dups))



def max_new_tokens_for(references: Sequence[str]) -> int:
    """Room for the longest reference (about 3 characters a token) and some, in steps of 16."""
    longest = max((len(r) for r in references), default=0)
    return int(min(512, max(32, 16 * math.ceil((longest / 3 + 16) / 16))))


# -- rendering -----------------------------------------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_][\w .()/-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)  # JSON is YAML flow style
    text = str(value)
    if _PLAIN.fullmatch(text) and text == text.strip() and text.lower() not in _YAML_WORDS and ": " not in text:
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str, indent: str = "") -> list[str]:
    import textwrap

    return [f"{indent}# {line}" for line in textwrap.wrap(text, width=96 - len(indent))]


def render_task_yaml(plan: InitPlan) -> str:
    """task.yaml for the plan, every proposal commented; parses as a TaskSpec."""
    p = plan
    lines = [
        f"# Written by `ladder init` from {p.source} ({FORMAT_NAMES.get(p.data_format, p.data_format)}).",
        "# Every value is a proposal: read the comments, edit, then `ladder data check` this file.",
        "# Editor completion and validation: `ladder schema --out task.schema.json`, then make this the",
        "# first line:  # yaml-language-server: $schema=task.schema.json",
        f"name: {_yaml_scalar(p.name)}",
        f"description: {_yaml_scalar(f'Answers like the references in {p.source}.')}"
        "   # say what the task is",
        "",
        "model:   # backend: openai (+ endpoint/base_url, api_key_env) for an OpenAI-compatible API",
        "  backend: local",
        "  name: smollm2-135m-instruct",
        "",
        "data:    # relative to this file",
    ]
    if p.train_path is not None:
        lines.append(f"  train: {_yaml_scalar(p.train_path)}   # {p.n_train} rows")
    lines.append(f"  eval: {_yaml_scalar(p.eval_path)}   # {p.n_eval} rows")
    if p.split_note:
        lines += _comment(p.split_note, "  ")
    if p.corpus_path is not None:
        lines.append(f"corpus: {_yaml_scalar(p.corpus_path)}   # documents for the rag rung")
    lines += [
        "",
        "# prompts:   # a system prompt for every rung; instructions for the `instructed` rung",
        "#   system: You answer ... in one line.",
        "#   instructions: |",
        "#     The task and the exact form of the answer, spelled out, with one example.",
    ]
    if p.system_prompts:
        lines.append(f"# ({p.system_prompts} eval rows carry their own system message, used as is)")
    lines += [
        "",
        "generation:",
        f"  max_new_tokens: {p.max_new_tokens}   # room for the longest reference, and some",
        "",
        f"# The references look like {_shape_words(p.proposal.shape)}; these checks follow from that.",
        "# form = is the answer's shape right; knowledge = is its content right.",
        "checks:",
    ]
    for check in p.proposal.checks:
        lines += _comment(check.why, "  ")
        first = True
        for key, value in check.fields.items():
            lead = "  - " if first else "    "
            first = False
            if isinstance(value, dict):  # a schema: block style, its leaf lists in flow style
                block = yaml.safe_dump(value, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)
                lines += [f"{lead}{key}:", *(f"      {line}" for line in block.splitlines())]
            else:
                lines.append(f"{lead}{key}: {_yaml_scalar(value)}")
    for note in p.proposal.notes:
        lines += _comment(note, "  ")
    if p.row_checks:
        lines.append(f"  # ({p.row_checks} eval rows also carry their own checks, added to these)")
    lines += [
        "",
        "target:   # the climb stops at the first (cheapest) rung that reaches it",
        "  metric: overall   # overall = every check passes; or form / knowledge alone",
        "  value: 0.9",
        "",
        "# prices:   # per token and per training hour, to turn the climb into money (default 0)",
        "#   currency: USD",
        "#   input_per_1k: 0.0005",
        "#   output_per_1k: 0.0015",
        "#   train_per_hour: 2.0",
        "",
        "rungs:   # cheapest first; `ladder rungs` lists every rung and its options",
        "  zero_shot:",
        "  # instructed:   # needs prompts.instructions",
    ]
    if p.train_path is not None:
        lines.append("  few_shot:      # demonstrations from the training split")
    if p.corpus_path is not None:
        lines.append("  rag:           # passages retrieved from the corpus")
    if p.train_path is not None:
        lines.append("  lora_sft:      # a LoRA adapter trained on the training split")
    lines += ["", "seed: 0", ""]
    return "\n".join(lines)


def _shape_words(shape: str) -> str:
    return {"json": "JSON", "labels": "a few short labels", "number": "numbers",
            "text": "free text"}[shape]


# -- the shipped examples ------------------------------------------------------------------
def example_tasks(examples_dir: Path) -> list[tuple[Path, str]]:
    """(task.yaml, its description's first sentence) for each example folder, by name."""
    from ladder.task.spec import TaskError
    from ladder.task.yaml_file import parse_task_yaml

    out = []
    for path in sorted(examples_dir.glob("*/task.yaml")):
        try:
            description = " ".join(parse_task_yaml(path).description.split())
        except TaskError as e:
            description = f"(does not load: {e.problems[0]})"
        first = re.split(r"(?<=\.)\s", description, maxsplit=1)[0]
        out.append((path, first))
    return out


# -- writing the files ---------------------------------------------------------------------
class InitError(Exception):
    """`ladder init` cannot write the task; `problems` are lines for the user."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class InitResult:
    task_path: Path
    written: tuple[Path, ...]  # the split files (if any), then task.yaml
    plan: InitPlan


def _rows(path: Path) -> list[str]:
    """The JSONL line of each record of a data file that read_examples accepted, one per example
    (a JSONL file's own lines; a CSV or TSV file's rows written as JSON)."""
    from ladder.task.datasets import read_rows

    return [row.jsonl for row in read_rows(path)[0]]


def _relative(target: Path, folder: Path) -> str:
    """`target` as task.yaml names it: relative to its folder when near (the pair moves together),
    else absolute."""
    relative = Path(os.path.relpath(target.resolve(), folder.resolve()))
    return (relative if relative.parts[:3].count("..") < 3 else target.resolve()).as_posix()


def init_task(data: Path, out: Path, *, eval_file: Path | None = None, corpus: Path | None = None,
              eval_fraction: float = 0.2, seed: int = 0, force: bool = False) -> InitResult:
    """Write task.yaml at `out` for `data` (and, when no `eval_file` is given, a seeded
    train/eval split of it beside `out`). Raises DataError for unreadable data and InitError when
    a file would be overwritten without `force` or the corpus is not a folder."""
    from ladder.task import load_task
    from ladder.task.datasets import read_examples

    examples = read_examples(data)
    rows = _rows(data)  # the same records as JSONL lines: what a split writes, what the format is read from
    folder = out.parent
    if corpus is not None and not corpus.is_dir():
        raise InitError([f"--corpus {corpus}: not a folder"])
    split_note = None
    writes: dict[Path, list[str]] = {}
    if eval_file is not None:
        train, evals = examples, read_examples(eval_file)
        train_path, eval_path = _relative(data, folder), _relative(eval_file, folder)
        source = f"{data.name} (train) and {eval_file.name} (eval)"
    else:
        split = split_rows(examples, eval_fraction, seed)
        source = data.name
        if not split.train:
            train, evals = [], examples
            train_path, eval_path = None, _relative(data, folder)
            split_note = "one row: nothing left to train on, so every rung that trains or shows examples is left out"
        else:
            train, evals = [examples[i] for i in split.train], [examples[i] for i in split.eval]
            train_file, eval_file_out = (folder / f"{data.stem}.train.jsonl", folder / f"{data.stem}.eval.jsonl")
            writes = {train_file: [rows[i] for i in split.train], eval_file_out: [rows[i] for i in split.eval]}
            train_path, eval_path = train_file.name, eval_file_out.name
            split_note = (f"a seeded split of {data.name} (seed {seed}): {len(split.eval)} of {len(examples)} rows "
                          f"to eval, the rest to train")
            if split.moved:
                split_note += (f"; {len(split.moved)} row(s) drawn for eval went to train as near-duplicates of a "
                               "training row (same answer, similar input)")
            if split.duplicated:
                split_note += ("; every eval row near-duplicates a training row (the data repeats itself): "
                               "`ladder data check` lists them")
    if data.resolve() in {p.resolve() for p in writes}:
        raise InitError([f"{data}: the split would overwrite the data file itself; choose another --out folder"])
    existing = [p for p in [*writes, out] if p.exists()]
    if existing and not force:
        raise InitError([f"{p}: exists (use --force to overwrite)" for p in existing])
    references = [e.expected for e in (*evals, *train)]
    plan = InitPlan(
        name=re.sub(r"[^\w.-]+", "-", data.stem).strip("-") or "task",
        source=source,
        data_format=detect_file_format(rows),
        train_path=train_path, eval_path=eval_path, n_train=len(train), n_eval=len(evals),
        proposal=propose_checks(references),
        max_new_tokens=max_new_tokens_for(references),
        corpus_path=None if corpus is None else _relative(corpus, folder).rstrip("/") + "/",
        system_prompts=sum(e.system is not None for e in evals),
        row_checks=sum(bool(e.checks) for e in evals),
        split_note=split_note,
    )
    folder.mkdir(parents=True, exist_ok=True)
    for path, lines in writes.items():
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.write_text(render_task_yaml(plan), encoding="utf-8")
    load_task(out)  # what was written must load; a failure here is a bug in the proposal
    return InitResult(task_path=out, written=(*writes, out), plan=plan)
