"""What the two prompt-search rungs (few_shot_bootstrap, prompt_opt) share.

- The split: the training rows, seeded, into `fit` (demonstrations, failure mining) and `select`
  (ranking). Neither rung reads the eval split (dev rows included): the climb scores the chosen
  prompt on it once, like any other rung's.
- The budget: a level (light | medium | heavy) setting caps on target calls, proposer calls,
  proposer money and seconds. Every call goes through a `Ledger`, which refuses one that would
  pass a cap (`BudgetExhausted`: the search stops and keeps its incumbent) and records what was
  spent, the rung's build cost.
- Scoring a prompt on rows (`Scorer`): generate and run the task's checks (1 pass, 0 fail), or
  the log-likelihood of the reference answer (one forward pass, no decoding). A failed call or
  an answer no check could score is None: left out of the comparison and counted, never a fail.
- The race (race.py): successive halving on `select`, then the challenger rule: the survivor
  replaces the incumbent only when better by more than the paired standard error.

Caps count calls whether the call cache answered them or not, and seconds are the calls' own
recorded seconds (what producing the answers cost, kept with each cached answer). So a re-run
takes the same path through the search and asks the models nothing new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from pydantic import Field

from ladder.backends.base import Backend
from ladder.fsutil import write_file_atomic
from ladder.metrics.checks import run_checks
from ladder.rungs.base import RungOptions
from ladder.rungs.finetune import calls_cost
from ladder.rungs.prompt import ChatPrompt
from ladder.scoring import outcome
from ladder.task import Task
from ladder.task.output_space import output_space
from ladder.tracking.costs import request_cost
from ladder.types import (Assessment, BuildCost, Chat, CheckSpec, Example, Generation, GenerationParams,
                          chat_to_json, content_hash)

Level = Literal["light", "medium", "heavy"]


@dataclass(frozen=True)
class Caps:
    """Hard limits of one search. Money is in the task's currency; seconds are the calls' seconds."""

    target_calls: int
    proposer_calls: int
    proposer_money: float
    seconds: float
    rounds: int  # prompt_opt's proposal rounds

    def to_json(self) -> dict[str, Any]:
        return {"target_calls": self.target_calls, "proposer_calls": self.proposer_calls,
                "proposer_money": self.proposer_money, "seconds": self.seconds, "rounds": self.rounds}


# light fits the shipped examples on 2 CPU cores: about 10 demonstration sets raced on 30 select
# rows is ~170 target calls (halving from 8 rows), a few minutes of SmolLM2-135M.
BUDGETS: dict[str, Caps] = {
    "light": Caps(target_calls=400, proposer_calls=4, proposer_money=0.05, seconds=900, rounds=3),
    "medium": Caps(target_calls=1500, proposer_calls=12, proposer_money=0.5, seconds=3600, rounds=8),
    "heavy": Caps(target_calls=5000, proposer_calls=40, proposer_money=2.0, seconds=14400, rounds=20),
}

SHORT_ANSWER_WORDS = 12  # references this short may be ranked by their log-likelihood


class SearchOptions(RungOptions):
    """Options both search rungs take: the budget, the split, the race and how rows are scored."""

    budget: Level = Field("light", description="light | medium | heavy: caps on target calls, proposer calls, "
                          "proposer money and seconds (see the README's table); the max_* options override one cap")
    max_target_calls: int | None = Field(None, gt=0, description="most calls to the task's model (cached ones count)")
    max_proposer_calls: int | None = Field(None, ge=0, description="most calls to a proposing model")
    max_proposer_money: float | None = Field(None, ge=0, description="most money spent on proposing models")
    max_seconds: float | None = Field(None, gt=0, description="most seconds of model calls (their recorded seconds)")
    select_rows: int = Field(30, ge=2, description="training rows set aside to rank candidates on (fewer when "
                             "the training split has under twice as many: half of it)")
    first_rows: int = Field(8, gt=0, description="select rows every candidate is scored on in the race's first round")
    eta: int = Field(2, ge=2, description="successive halving: each round keeps 1/eta of the candidates on eta "
                     "times the rows")
    score: Literal["generate", "loglikelihood"] = Field(
        "generate", description="rank candidates by generating and running the checks, or (short answers: labels, "
        "numbers, ids; local model) by the log-likelihood of the reference answer, one forward pass, no decoding")

    def caps(self) -> Caps:
        base = BUDGETS[self.budget]
        return replace(
            base,
            target_calls=base.target_calls if self.max_target_calls is None else self.max_target_calls,
            proposer_calls=base.proposer_calls if self.max_proposer_calls is None else self.max_proposer_calls,
            proposer_money=base.proposer_money if self.max_proposer_money is None else self.max_proposer_money,
            seconds=base.seconds if self.max_seconds is None else self.max_seconds,
        )


def needs_short_answers(task: Task, rung: str, options: SearchOptions) -> str | None:
    """Why `score: loglikelihood` cannot rank on this task, or None."""
    if options.score != "loglikelihood":
        return None
    if task.spec.model.backend != "local":
        return f"{rung} with score: loglikelihood needs a local model (a chat API gives no log-probability of a given answer)"
    longest = max((len(e.expected.split()) for e in task.train), default=0)
    if longest > SHORT_ANSWER_WORDS:
        return (f"{rung} with score: loglikelihood needs short answers (labels, numbers, ids); a training answer has "
                f"{longest} words (most {SHORT_ANSWER_WORDS})")
    return None


# -- the split ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Split:
    fit: tuple[Example, ...]
    select: tuple[Example, ...]
    note: str = ""

    def hashes(self) -> dict[str, str]:
        return {"fit_hash": rows_hash(self.fit), "select_hash": rows_hash(self.select)}


def rows_hash(rows: Sequence[Example]) -> str:
    return content_hash([[e.id, e.input, e.expected] for e in rows])


def split_train(train: Sequence[Example], seed: int, select_rows: int,
                keep_in_fit: frozenset[str] = frozenset()) -> Split:
    """The training rows split, with `seed`, into fit and select. Select gets `select_rows` rows
    when at least as many are left for fit, else half the rows; `keep_in_fit` (e.g. the static
    few_shot demonstrations) never go to select, where a row would meet its own answer. The draw
    depends on the set of rows, not their order in the file."""
    pool = sorted((e for e in train if e.id not in keep_in_fit), key=lambda e: e.id)
    n = select_rows if len(pool) >= 2 * select_rows else len(pool) // 2
    chosen = set(random.Random(seed).sample([e.id for e in pool], n)) if n else set()
    fit = tuple(e for e in train if e.id not in chosen)
    select = tuple(e for e in pool if e.id in chosen)
    note = "" if n >= select_rows else (
        f"select has {n} rows, fewer than {select_rows}: the training split has only {len(train)}; "
        "rankings on it are noisier")
    return Split(fit, select, note)


def fit_labels(task: Task, fit: Sequence[Example]) -> tuple[str, ...] | None:
    """The task's labels as the fit rows show them (task/output_space.py), or None when free-form."""
    space = output_space(replace(task, train=tuple(fit)))
    return None if space is None else space.labels


# -- the budget -----------------------------------------------------------------------------------

class BudgetExhausted(Exception):
    """A call would pass a cap; the message says which."""


@dataclass
class Ledger:
    """Every call of one search, asked through here so the caps hold and the spending is known."""

    caps: Caps
    target_prices: tuple[float, float]  # input, output per 1K tokens
    target: list[Generation] = field(default_factory=list)
    proposer: list[tuple[Generation, tuple[float, float]]] = field(default_factory=list)
    stopped_by: str | None = None

    def seconds(self) -> float:
        return sum(g.latency_s for g in self.target) + sum(g.latency_s for g, _ in self.proposer)

    def proposer_money(self) -> float:
        return sum(request_cost(g.prompt_tokens, g.completion_tokens, *p) for g, p in self.proposer)

    def _room(self, calls: int) -> None:
        if len(self.target) + calls > self.caps.target_calls:
            raise BudgetExhausted(f"target calls cap ({self.caps.target_calls}) reached: {len(self.target)} made, "
                                  f"{calls} more needed")
        self._time()

    def _time(self) -> None:
        if self.seconds() >= self.caps.seconds:
            raise BudgetExhausted(f"seconds cap ({self.caps.seconds:g}) reached: {self.seconds():.1f} s of calls")

    def generate(self, backend: Backend, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        """The target model's answers (all of them, or none when they would pass a cap)."""
        self._room(len(chats))
        gens = backend.generate(list(chats), params)
        self.target += gens
        return gens

    def score(self, backend: Backend, chats: Sequence[Chat], answers: Sequence[str]) -> list[float | None]:
        """The target model's log-probability of each answer (None for a failed row); a call each."""
        self._room(len(chats))
        scores = backend.answer_scores(list(chats), list(answers))  # type: ignore[attr-defined]
        self.target += [Generation("", s.prompt_tokens, 0, s.latency_s, "score", cached=s.cached, error=s.error)
                        for s in scores]
        return [None if s.error else s.logprob for s in scores]

    def propose(self, backend: Backend, chat: Chat, params: GenerationParams,
                prices: tuple[float, float]) -> Generation:
        """One proposer call. Refused when it could pass the money cap at its longest answer."""
        if len(self.proposer) + 1 > self.caps.proposer_calls:
            raise BudgetExhausted(f"proposer calls cap ({self.caps.proposer_calls}) reached")
        worst = request_cost(backend.count_tokens(chat), params.max_new_tokens, *prices)
        if self.proposer_money() + worst > self.caps.proposer_money:
            raise BudgetExhausted(f"proposer money cap ({self.caps.proposer_money:g}) reached: "
                                  f"{self.proposer_money():.6f} spent, the next call could cost {worst:.6f}")
        self._time()
        g = backend.generate([chat], params)[0]
        self.proposer.append((g, prices))
        return g

    def build_cost(self, notes: str) -> BuildCost:
        target = calls_cost(self.target, *self.target_prices)
        proposer = [calls_cost([g], *p) for g, p in self.proposer]
        calls = self.target + [g for g, _ in self.proposer]
        return BuildCost(
            seconds=target.seconds + sum(p.seconds for p in proposer),
            money=target.money + sum(p.money for p in proposer),
            call_tokens=target.call_tokens + sum(p.call_tokens for p in proposer),
            reused=bool(calls) and all(g.cached for g in calls),
            notes=notes,
        )

    def to_json(self) -> dict[str, Any]:
        target = calls_cost(self.target, *self.target_prices)
        return {
            "caps": self.caps.to_json(),
            "stopped_by": self.stopped_by,
            "target_calls": len(self.target),
            "target_calls_cached": sum(g.cached for g in self.target),
            "target_errors": sum(g.error is not None for g in self.target),
            "target_tokens": target.call_tokens,
            "target_money": target.money,
            "proposer_calls": len(self.proposer),
            "proposer_calls_cached": sum(g.cached for g, _ in self.proposer),
            "proposer_errors": sum(g.error is not None for g, _ in self.proposer),
            "proposer_tokens": sum(g.prompt_tokens + g.completion_tokens for g, _ in self.proposer),
            "proposer_money": self.proposer_money(),
            "seconds": self.seconds(),
        }

    def summary(self) -> str:
        return (f"{len(self.target)} target calls, {len(self.proposer)} proposer calls"
                + (f"; stopped: {self.stopped_by}" if self.stopped_by else ""))


# -- scoring a prompt on rows ---------------------------------------------------------------------

@dataclass(frozen=True)
class RowScore:
    example_id: str
    score: float | None  # 1 pass / 0 fail, or a log-probability; None: the call failed or nothing scored it
    answer: str = ""
    error: str | None = None
    failed_checks: tuple[str, ...] = ()  # "name: why" of each check that failed


@dataclass(frozen=True)
class _Assessed:  # what scoring.outcome reads: the call's error and the verdicts
    error: str | None
    assessments: tuple[Assessment, ...]


class Scorer:
    """Scores prompts on rows through the ledger; a (chat, way of scoring) is asked once per search."""

    def __init__(self, ledger: Ledger, backend: Backend, checks: tuple[CheckSpec, ...], metric: str,
                 params: GenerationParams, mode: Literal["generate", "loglikelihood"]):
        self.ledger, self.backend, self.checks, self.metric, self.params, self.mode = (
            ledger, backend, checks, metric, params, mode)
        self._memo: dict[tuple[str, str], RowScore] = {}

    def scores(self, prompt: ChatPrompt, rows: Sequence[Example], mode: str | None = None) -> list[RowScore]:
        mode = mode or self.mode
        chats = [prompt.render(ex) for ex in rows]
        keys = [(content_hash(chat_to_json(c)), mode) for c in chats]
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        if todo:
            fresh = (self._generated if mode == "generate" else self._likelihoods)(
                [rows[i] for i in todo], [chats[i] for i in todo])
            self._memo.update((keys[i], s) for i, s in zip(todo, fresh))
        return [self._memo[k] for k in keys]

    def unscored(self) -> int:
        """Row scorings that gave no score (a failed call, no check could score): left out, counted."""
        return sum(s.score is None for s in self._memo.values())

    def _generated(self, rows: Sequence[Example], chats: Sequence[Chat]) -> list[RowScore]:
        out = []
        for ex, gen in zip(rows, self.ledger.generate(self.backend, chats, self.params)):
            if gen.error is not None:
                out.append(RowScore(ex.id, None, error=gen.error))
                continue
            results = tuple(run_checks(gen.text, ex.expected, self.checks + ex.checks, ex))
            verdict = outcome(_Assessed(None, results), self.metric)
            failed = tuple(f"{a.name}: {a.rationale}".rstrip(": ") for a in results if a.verdict is False)
            out.append(RowScore(ex.id, {"pass": 1.0, "fail": 0.0}.get(verdict), gen.text, failed_checks=failed))
        return out

    def _likelihoods(self, rows: Sequence[Example], chats: Sequence[Chat]) -> list[RowScore]:
        scores = self.ledger.score(self.backend, chats, [ex.expected for ex in rows])
        return [RowScore(ex.id, s, error=None if s is not None else "scoring failed") for ex, s in zip(rows, scores)]


# -- the race -------------------------------------------------------------------------------------

def plan_money(backend: Backend, sample: Chat, calls: int, max_new_tokens: int,
               prices: tuple[float, float]) -> float:
    """About what `calls` target calls cost: each priced as `sample`'s prompt and a full answer."""
    return calls * request_cost(backend.count_tokens(sample), max_new_tokens, *prices)


# -- the artifact ---------------------------------------------------------------------------------

def write_artifact(artifacts: Path, rung: str, key: str, payload: Mapping[str, Any]) -> Path:
    """`artifacts/<rung>/<key>.json`: what the search chose, and how (read by people, not by ladder)."""
    import json

    path = Path(artifacts) / rung / f"{key[:16]}.json"
    write_file_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def demo_json(demos: Sequence[Example]) -> list[dict[str, str]]:
    return [{"id": d.id, "input": d.input, "expected": d.expected} for d in demos]
