"""prompt_opt: instruction search seeded with the task's `instructions`.

Each round takes a parent from a small Pareto pool (select accuracy vs the instruction's
tokens), answers a fixed sample of `fit` rows under it to find its failures, and asks the
proposers for children:
- `template`: rewrites needing no model call: the label list spelled out, an output skeleton
  taken from the references' form, a persona, terser wording;
- `self`: the target model itself writes a new instruction (an ablation: can a small model
  improve its own prompt?);
- `endpoint`: the task's `teacher:` model reads 3-8 failing fit examples with the messages of
  the checks they failed and writes a new instruction (a reflective step, as GEPA takes).
A child is first tried on its parent's failures and dropped when it fixes none; the rest are
raced on `select` against the incumbent (rungs/race.py: successive halving, then the
challenger rule). Only the training split is read. Every call is build cost: the target's at the
task's prices, the teacher's at `teacher.prices` (else the task's).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from statistics import median
from typing import Any, ClassVar, Literal, Sequence

from pydantic import Field

from ladder.backends.base import Backend
from ladder.rungs.base import RungContext, first_unmet, needs_instructions, needs_train
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.race import mean, race, race_calls
from ladder.rungs.search import (BudgetExhausted, Ledger, RowScore, Scorer, SearchOptions, Split, fit_labels,
                                 needs_short_answers, plan_money, split_train, write_artifact)
from ladder.task import Task
from ladder.types import Candidate, Example, GenerationParams, Message, content_hash

Proposer = Literal["template", "self", "endpoint"]
INSTRUCTION = re.compile(r"<instruction>(.*?)(?:</instruction>|$)", re.S)


# -- template rewrites: plain functions of the parent instruction (None: nothing to change) -------

def with_label_list(instruction: str, labels: Sequence[str] | None) -> str | None:
    if not labels:
        return None
    listing = "Answer with exactly one of the following, and nothing else:\n" + "\n".join(labels)
    return None if listing in instruction else f"{instruction.rstrip()}\n\n{listing}"


def answer_form(references: Sequence[str]) -> str | None:
    """One sentence saying the form the references share: a JSON skeleton (each key's values
    listed when they are few), a bare number, a few words; None when they share none."""
    if not references:
        return None
    objects = []
    for ref in references:
        try:
            value = json.loads(ref)
        except ValueError:
            break
        objects.append(value)
    if len(objects) == len(references) and all(isinstance(o, dict) for o in objects):
        keys = list(objects[0])
        if all(list(o) == keys for o in objects):
            fields = []
            for key in keys:
                values = sorted({str(o[key]) for o in objects})
                fields.append(f'"{key}": ' + ("|".join(values) if len(values) <= 10 else "..."))
            return "Answer with one JSON object of exactly this shape and nothing else: {" + ", ".join(fields) + "}"
    if all(re.fullmatch(r"-?[\d,]*\.?\d+", r.strip()) for r in references):
        return "Answer with the number alone: no words, no units."
    words = [len(r.split()) for r in references]
    if max(words) <= 3:
        return f"Answer in at most {max(words)} words, with nothing else."
    return f"Answer in about {int(median(words))} words."


def with_skeleton(instruction: str, references: Sequence[str]) -> str | None:
    form = answer_form(references)
    return None if form is None or form in instruction else f"{instruction.rstrip()}\n\n{form}"


PERSONA = "You are a meticulous expert at this task."


def with_persona(instruction: str, description: str) -> str | None:
    if instruction.startswith(PERSONA):
        return None
    about = f" The task: {description.strip()}" if description.strip() else ""
    return f"{PERSONA}{about}\n\n{instruction}"


def terser(instruction: str) -> str | None:
    """The instruction without parenthetical asides and example lines, spaces collapsed."""
    lines = []
    for line in instruction.splitlines():
        if line.strip().lower().startswith(("example:", "for example", "e.g.")):
            continue
        line = re.sub(r"\s*\([^()]*\)", "", line)
        lines.append(re.sub(r"[ \t]+", " ", line).strip())
    text = "\n".join(line for line in lines if line)
    return None if not text or text == instruction.strip() else text


def template_children(instruction: str, labels: Sequence[str] | None, references: Sequence[str],
                      description: str) -> list[tuple[str, str]]:
    """(rewrite name, child instruction) for each template rewrite that changes the instruction."""
    made = [("label list", with_label_list(instruction, labels)), ("skeleton", with_skeleton(instruction, references)),
            ("persona", with_persona(instruction, description)), ("terser", terser(instruction))]
    return [(name, text) for name, text in made if text]


# -- model proposers ------------------------------------------------------------------------------

def reflection_chat(instruction: str, failures: Sequence[tuple[Example, RowScore]]) -> tuple[Message, ...]:
    """What a proposing model reads: the instruction, failing fit examples with the model's answer
    and the checks' messages, and the request for a better instruction."""
    shown = []
    for n, (ex, s) in enumerate(failures, 1):
        shown.append(f"Example {n}\nInput: {ex.input}\nExpected answer: {ex.expected}\nThe model answered: {s.answer}\n"
                     f"Checks failed: {'; '.join(s.failed_checks) or 'the answer did not match'}")
    return (
        Message("system", "You improve the instructions given to a small language model."),
        Message("user", f"The model was given this instruction:\n<instruction>\n{instruction}\n</instruction>\n\n"
                        "It failed these examples:\n\n" + "\n\n".join(shown) + "\n\n"
                        "Write a new instruction that keeps what works and fixes these failures; say exactly what "
                        "form the answer must take. Reply with the new instruction alone between <instruction> and "
                        "</instruction>."),
    )


def parse_instruction(reply: str) -> str:
    """The instruction in a proposer's reply: between <instruction> tags, else the whole reply
    without code fences; "" when there is none."""
    found = INSTRUCTION.search(reply)
    text = found.group(1) if found else reply
    return re.sub(r"^```\w*\s*|\s*```$", "", text.strip()).strip()


@dataclass(frozen=True)
class Member:
    name: str
    instruction: str
    parent: str | None = None
    proposer: str = "seed"  # template rewrite name, self, endpoint


def pareto(points: dict[str, tuple[float, int]], size: int, keep: str) -> list[str]:
    """Names not dominated in (score, higher better; tokens, fewer better), best score first, at
    most `size` of them; `keep` (the incumbent) is always among them."""
    front = [n for n, (s, t) in points.items()
             if not any((s2 >= s and t2 <= t) and (s2 > s or t2 < t) for s2, t2 in points.values())]
    ranked = sorted(front, key=lambda n: (-points[n][0], points[n][1]))
    chosen = [keep] + [n for n in ranked if n != keep]
    return chosen[:max(1, size)]


class PromptOpt:
    name: ClassVar[str] = "prompt_opt"
    kind: ClassVar[Literal["prompt"]] = "prompt"

    class Options(SearchOptions):
        proposers: list[Proposer] = Field(["template"], min_length=1,
                                          description="template (no model calls), self (the target model), endpoint "
                                                      "(the task's `teacher:` model); each proposes every round")
        rounds: int | None = Field(None, gt=0, description="proposal rounds; default: the budget's (light 3, "
                                   "medium 8, heavy 20)")
        fit_rows: int = Field(16, gt=0, description="fit rows a parent answers to find its failures")
        failures_shown: int = Field(5, ge=3, le=8, description="failing fit examples a proposing model reads")
        pool_size: int = Field(4, gt=0, description="Pareto pool of parents (select score vs instruction tokens)")
        proposer_max_tokens: int = Field(256, gt=0, description="longest instruction a proposing model may write")

    def requires(self, task: Task, options: Options) -> str | None:
        teacher = None if "endpoint" not in options.proposers or task.spec.teacher is not None else (
            "prompt_opt's endpoint proposer is the task's `teacher:` model: set `teacher:` in task.yaml")
        return first_unmet(needs_instructions(task, self.name), needs_train(task, self.name, 4), teacher,
                           needs_short_answers(task, self.name, options))

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        task, spec = ctx.task, ctx.task.spec
        if not spec.prompts.instructions:
            raise ValueError("prompt_opt needs `prompts.instructions` in task.yaml: the search starts from them")
        if "endpoint" in options.proposers and ctx.teacher is None:
            raise ValueError("prompt_opt's endpoint proposer is the task's `teacher:` model: set `teacher:` in task.yaml")
        split = split_train(task.train, spec.seed, options.select_rows)
        caps = options.caps()
        rounds = options.rounds or caps.rounds
        ledger = Ledger(caps, (spec.prices.input_per_1k, spec.prices.output_per_1k))
        scorer = Scorer(ledger, ctx.backend, task.checks, spec.target.metric,
                        GenerationParams(max_new_tokens=spec.generation.max_new_tokens), options.score)
        search = _Search(ctx, options, split, ledger, scorer)
        # a round: the parent on its fit rows, each child on the parent's failures, the children's race
        children = 4 * ("template" in options.proposers) + sum(p != "template" for p in options.proposers)
        planned = len(split.select) + rounds * (options.fit_rows * (1 + children)
                                                + race_calls(children, len(split.select), options.first_rows, options.eta))
        about = plan_money(ctx.backend, search.prompt("seed").render(split.select[0]), planned,
                           spec.generation.max_new_tokens, ledger.target_prices) if split.select else 0.0
        model_proposers = sum(p != "template" for p in options.proposers)
        ctx.on_status(
            f"{self.name} ({options.budget}): fit {len(split.fit)} rows, select {len(split.select)} rows; plan up to "
            f"{rounds} rounds, at most ~{planned} target calls (cap {caps.target_calls}), about {about:.4g} "
            f"{spec.prices.currency}; {rounds * model_proposers} proposer calls (cap {caps.proposer_calls}, money cap "
            f"{caps.proposer_money:g} {spec.prices.currency})")
        try:
            search.run(rounds)
        except BudgetExhausted as e:
            ledger.stopped_by = str(e)
            search.trace.append({"step": "stopped", "why": str(e), "kept": search.incumbent})
        chosen = search.members[search.incumbent]
        prompt = search.prompt(chosen.name)
        search.trace.append({"step": "unscored rows", "count": scorer.unscored()})
        proposer_id = ctx.teacher.fingerprint() if ctx.teacher is not None and "endpoint" in options.proposers else None
        key = content_hash(self.name, ctx.backend.fingerprint(), proposer_id, options.model_dump(mode="json"),
                           split.hashes(), spec.seed, spec.prompts.system, spec.prompts.instructions)
        path = write_artifact(ctx.artifacts, self.name, key, {
            "rung": self.name, "seed": spec.seed, "options": options.model_dump(mode="json"),
            "split": {"fit_rows": len(split.fit), "select_rows": len(split.select), **split.hashes(), "note": split.note},
            "chosen": {"candidate": chosen.name, "system": prompt.system, "instructions": prompt.instructions,
                       "demos": []},
            "candidates": {m.name: {"instruction": m.instruction, "parent": m.parent, "proposer": m.proposer}
                           for m in search.members.values()},
            "pool": search.pool, "trace": search.trace, "ledger": ledger.to_json(),
        })
        notes = "; ".join(p for p in (
            f"chose {chosen.name} ({chosen.proposer}) of {len(search.members)} instructions on {len(split.select)} "
            "select rows", ledger.summary(), split.note, f"search record {path}") if p)
        return Candidate(rung=self.name, kind=self.kind, prompt=prompt, build=ledger.build_cost(notes),
                         description=f"instructions found by search ({', '.join(options.proposers)} proposers), "
                                     f"chosen: {chosen.name}")


class _Search:
    """One instruction search: its members, pool, incumbent and trace."""

    def __init__(self, ctx: RungContext, options: PromptOpt.Options, split: Split, ledger: Ledger, scorer: Scorer):
        spec = ctx.task.spec
        self.ctx, self.options, self.split, self.ledger, self.scorer = ctx, options, split, ledger, scorer
        self.members = {"seed": Member("seed", spec.prompts.instructions or "")}
        self.incumbent = "seed"
        self.pool = ["seed"]
        self.trace: list[dict[str, Any]] = []
        self.full: dict[str, float] = {}  # mean on every select row, for the pool
        self.asked: set[tuple[str, str]] = set()  # (model proposer, parent) already asked
        fit = sorted(split.fit, key=lambda e: e.id)
        self.fit_batch = random.Random(spec.seed).sample(fit, min(options.fit_rows, len(fit)))
        self.labels = fit_labels(ctx.task, split.fit)
        self.references = [e.expected for e in split.fit]
        self.by_id = {e.id: e for e in split.select}
        prices = (spec.teacher.prices if spec.teacher is not None else None) or spec.prices
        self.teacher_prices = (prices.input_per_1k, prices.output_per_1k)

    def prompt(self, name: str) -> ChatPrompt:
        return ChatPrompt(system=self.ctx.task.spec.prompts.system, instructions=self.members[name].instruction)

    def score(self, name: str, ids: Sequence[str]) -> dict[str, float | None]:
        scores = {r.example_id: r.score for r in self.scorer.scores(self.prompt(name), [self.by_id[i] for i in ids])}
        if len(ids) == len(self.split.select):
            full = mean(scores)
            if full is not None:
                self.full[name] = full
        return scores

    def tokens(self, name: str) -> int:
        return self.ctx.backend.count_tokens((Message("system", self.members[name].instruction),))

    def run(self, rounds: int) -> None:
        select = [e.id for e in self.split.select]
        self.score("seed", select)
        stale = 0  # rounds in a row without a new child: greedy proposers repeat themselves
        for number in range(rounds):
            parent = self.pool[number % len(self.pool)]
            fit_scores = self.scorer.scores(self.prompt(parent), self.fit_batch, mode="generate")
            failures = [(ex, s) for ex, s in zip(self.fit_batch, fit_scores) if s.score == 0.0]
            self.trace.append({"step": "parent", "round": number, "candidate": parent,
                               "fit_failures": len(failures), "fit_rows": len(self.fit_batch)})
            children = [c for c in self._children(parent, failures) if self._fixes(c, failures)]
            if not children:
                stale += 1
                self.trace.append({"step": "no children", "round": number})
                if stale >= len(self.pool):
                    self.trace.append({"step": "stopped", "why": "no parent in the pool gives a new child"})
                    return
                continue
            stale = 0
            self.incumbent = race(self.incumbent, children, select, self.score, self.options.first_rows,
                                  self.options.eta, self.trace)
            points = {n: (s, self.tokens(n)) for n, s in self.full.items()}
            self.pool = pareto(points, self.options.pool_size, self.incumbent)
            self.trace.append({"step": "pool", "round": number, "pool": list(self.pool),
                               "incumbent": self.incumbent})

    def _add(self, parent: str, text: str, proposer: str) -> str | None:
        if not text or any(m.instruction == text for m in self.members.values()):
            self.trace.append({"step": "duplicate", "parent": parent, "proposer": proposer})
            return None
        name = f"c{len(self.members)}"
        self.members[name] = Member(name, text, parent, proposer)
        self.trace.append({"step": "proposed", "candidate": name, "parent": parent, "proposer": proposer})
        return name

    def _children(self, parent: str, failures: Sequence[tuple[Example, RowScore]]) -> list[str]:
        instruction = self.members[parent].instruction
        made: list[str] = []
        for proposer in self.options.proposers:
            if proposer == "template":
                for rewrite, text in template_children(instruction, self.labels, self.references,
                                                       self.ctx.task.spec.description):
                    if (name := self._add(parent, text, f"template: {rewrite}")) is not None:
                        made.append(name)
                continue
            if not failures:
                self.trace.append({"step": "no failures to show", "parent": parent, "proposer": proposer})
                continue
            if (proposer, parent) in self.asked:  # greedy: the same request would bring the same reply
                continue
            self.asked.add((proposer, parent))
            model: Backend = self.ctx.backend if proposer == "self" else self.ctx.teacher  # type: ignore[assignment]
            prices = ((self.ctx.task.spec.prices.input_per_1k, self.ctx.task.spec.prices.output_per_1k)
                      if proposer == "self" else self.teacher_prices)
            shown = failures[:self.options.failures_shown]
            reply = self.ledger.propose(model, reflection_chat(instruction, shown),
                                        GenerationParams(max_new_tokens=self.options.proposer_max_tokens), prices)
            if reply.error is not None:
                self.trace.append({"step": "proposal failed", "parent": parent, "proposer": proposer,
                                   "error": reply.error})
                continue
            if (name := self._add(parent, parse_instruction(reply.text), proposer)) is not None:
                made.append(name)
        return made

    def _fixes(self, child: str, failures: Sequence[tuple[Example, RowScore]]) -> bool:
        """Whether the child passes at least one of its parent's failing fit rows (true without any)."""
        if not failures:
            return True
        scores = self.scorer.scores(self.prompt(child), [ex for ex, _ in failures], mode="generate")
        fixed = sum(s.score == 1.0 for s in scores)
        self.trace.append({"step": "tried on parent's failures", "candidate": child, "fixed": fixed,
                           "of": len(failures)})
        return fixed > 0

