"""few_shot_bootstrap: the demonstration set chosen by a race on held-out training rows.

Candidates: no demonstrations (`no_demos`: zero-shot, or instructed with `with_instructions`),
the static few_shot set (the incumbent: what the few_shot rung shows), and `sets` demonstration
sets drawn from the `fit` rows, label-stratified where the answers form a small label set
(task/output_space.py), each in two orderings (drawn, and reversed: the demonstration nearest
the question changes). With `verify: model` only fit rows that the model
itself answers correctly under the checks become demonstrations, as DSPy's bootstrap keeps the
traces that pass its metric. The candidates are raced on the `select` rows by successive halving;
the survivor replaces the incumbent only when better by more than the paired standard error.

Only the training split is read (rungs/search.py: split, budget; rungs/race.py: race). Every call is build cost.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, ClassVar, Literal, Sequence

from pydantic import Field

from ladder.rungs.base import RungContext, first_unmet, needs_train, parse_options, RungOptionsError
from ladder.rungs.few_shot import FewShot, static_demos
from ladder.rungs.prompt import ChatPrompt
from ladder.rungs.race import race, race_calls
from ladder.rungs.search import (BudgetExhausted, Ledger, Scorer, SearchOptions, demo_json, fit_labels,
                                 needs_short_answers, plan_money, split_train, write_artifact)
from ladder.task import Task
from ladder.types import Candidate, Example, GenerationParams, content_hash

DEFAULT_K = 3


def few_shot_k(task: Task) -> int:
    """k of the few_shot rung as task.yaml configures it (default 3): the static set is that rung's."""
    raw = (task.spec.rungs or {}).get(FewShot.name)
    try:
        return parse_options(FewShot(), raw).k  # type: ignore[attr-defined]
    except RungOptionsError:
        return DEFAULT_K


def stratified(rows: Sequence[Example], k: int, labels: Sequence[str] | None, rng: random.Random) -> tuple[Example, ...]:
    """k rows drawn with `rng`; with labels, round-robin over the labels (in a drawn order) so
    that as many labels as possible are shown, each row drawn from its label's rows."""
    if labels is None:
        return tuple(rng.sample(list(rows), min(k, len(rows))))
    groups = {label: [r for r in rows if r.expected == label] for label in labels}
    order = [label for label in labels if groups[label]]
    rng.shuffle(order)
    for label in order:
        rng.shuffle(groups[label])
    picked: list[Example] = []
    while len(picked) < min(k, len(rows)) and any(groups[label] for label in order):
        for label in order:
            if groups[label] and len(picked) < k:
                picked.append(groups[label].pop())
    return tuple(picked)


class FewShotBootstrap:
    name: ClassVar[str] = "few_shot_bootstrap"
    kind: ClassVar[Literal["prompt"]] = "prompt"

    class Options(SearchOptions):
        k: int | None = Field(None, gt=0, description="demonstrations per set; default: the few_shot rung's k "
                              "in task.yaml, else 3")
        sets: int = Field(4, gt=0, description="demonstration sets drawn from the fit rows (each in 2 orderings)")
        verify: Literal["none", "model"] = Field(
            "none", description="model: demonstrations only from fit rows the model answers correctly under the "
            "checks (zero-shot, or instructed with with_instructions), costing a call per row tried")
        with_instructions: bool = Field(False, description="every candidate also carries the task's instructions")

    def requires(self, task: Task, options: Options) -> str | None:
        k = options.k or few_shot_k(task)
        return first_unmet(needs_train(task, self.name, k + 2), needs_short_answers(task, self.name, options))

    def prepare(self, ctx: RungContext, options: Options) -> Candidate:
        task, spec = ctx.task, ctx.task.spec
        k = options.k or few_shot_k(task)
        if len(task.train) < k + 2:
            raise ValueError(f"{self.name} needs {k + 2} training examples, the task has {len(task.train)}")
        static = static_demos(task, k)
        split = split_train(task.train, spec.seed, options.select_rows, keep_in_fit=frozenset(d.id for d in static))
        ledger = Ledger(options.caps(), (spec.prices.input_per_1k, spec.prices.output_per_1k))
        scorer = Scorer(ledger, ctx.backend, task.checks, spec.target.metric,
                        GenerationParams(max_new_tokens=spec.generation.max_new_tokens), options.score)
        base = ChatPrompt(system=spec.prompts.system,
                          instructions=spec.prompts.instructions if options.with_instructions else None)
        rng = random.Random(content_hash(self.name, spec.seed))
        labels = fit_labels(task, split.fit)
        trace: list[dict[str, Any]] = []
        prompts: dict[str, ChatPrompt] = {"static": replace(base, demos=static)}
        verify_rows = min(len(split.fit), 2 * options.sets * k) if options.verify == "model" else 0
        planned = verify_rows + len(split.select) + race_calls(1 + 2 * options.sets, len(split.select),
                                                                 options.first_rows, options.eta)
        about = plan_money(ctx.backend, prompts["static"].render(split.select[0]), planned,
                           spec.generation.max_new_tokens, ledger.target_prices) if split.select else 0.0
        ctx.on_status(
            f"{self.name} ({options.budget}): fit {len(split.fit)} rows, select {len(split.select)} rows; plan "
            f"~{planned} target calls (cap {ledger.caps.target_calls}), about {about:.4g} {spec.prices.currency}; "
            "no proposer calls")
        chosen = "static"
        try:
            pool = self._pool(split.fit, base, scorer, verify_rows, labels, rng, k, trace)
            prompts["no_demos"] = base
            for i in range(options.sets):
                demos = stratified(pool, k, labels, rng)
                prompts[f"set{i}"] = replace(base, demos=demos)
                prompts[f"set{i}-reversed"] = replace(base, demos=demos[::-1])
            unique: dict[str, str] = {}
            for name, prompt in prompts.items():  # an ordering of one demonstration is the same prompt
                unique.setdefault(content_hash(prompt.describe()), name)
            challengers = [n for n in unique.values() if n != "static"]
            by_id = {e.id: e for e in split.select}

            def score(name: str, ids: Sequence[str]) -> dict[str, float | None]:
                return {r.example_id: r.score for r in scorer.scores(prompts[name], [by_id[i] for i in ids])}

            chosen = race("static", challengers, [e.id for e in split.select], score, options.first_rows,
                          options.eta, trace)
        except BudgetExhausted as e:
            ledger.stopped_by = str(e)
            trace.append({"step": "stopped", "why": str(e), "kept": chosen})
        prompt = prompts[chosen]
        trace.append({"step": "unscored rows", "count": scorer.unscored()})
        key = content_hash(self.name, ctx.backend.fingerprint(), options.model_dump(mode="json"), split.hashes(),
                           spec.seed, base.describe())
        path = write_artifact(ctx.artifacts, self.name, key, {
            "rung": self.name, "seed": spec.seed, "options": options.model_dump(mode="json"),
            "split": {"fit_rows": len(split.fit), "select_rows": len(split.select), **split.hashes(), "note": split.note},
            "chosen": {"candidate": chosen, "system": prompt.system, "instructions": prompt.instructions,
                       "demos": demo_json(prompt.demos)},
            "candidates": {n: [d.id for d in p.demos] for n, p in prompts.items()},
            "trace": trace, "ledger": ledger.to_json(),
        })
        notes = "; ".join(p for p in (f"chose {chosen} of {len(prompts)} candidates on {len(split.select)} select rows",
                                     ledger.summary(), split.note, f"search record {path}") if p)
        return Candidate(
            rung=self.name, kind=self.kind, prompt=prompt, build=ledger.build_cost(notes),
            description=f"{len(prompt.demos)} demonstrations chosen by a race on held-out training rows ({chosen})",
        )

    @staticmethod
    def _pool(fit: Sequence[Example], base: ChatPrompt, scorer: Scorer, verify_rows: int,
              labels: Sequence[str] | None, rng: random.Random, k: int, trace: list[dict[str, Any]]) -> tuple[Example, ...]:
        """The fit rows demonstrations are drawn from: all of them, or (verify_rows > 0) those of a
        stratified draw the model answers correctly; all of them when fewer than k pass."""
        if not verify_rows:
            return tuple(fit)
        tried = stratified(fit, verify_rows, labels, rng)
        passed = tuple(ex for ex, s in zip(tried, scorer.scores(base, tried, mode="generate")) if s.score == 1.0)
        trace.append({"step": "verify", "tried": len(tried), "passed": len(passed)})
        if len(passed) < k:
            trace.append({"step": "verify", "note": f"only {len(passed)} verified rows (< k = {k}): all fit rows used"})
            return tuple(fit)
        return passed
