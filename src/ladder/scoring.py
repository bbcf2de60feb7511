"""Scoring: from stored assessments to outcomes, accuracies, intervals and comparisons.

Shared by the climb's early stop, the diagnosis and the report; reads only what was recorded
(anything with `.error`, the model call's, and `.assessments`: store rows and eval results).

Per example and tag (`overall`: every tag of the automatic tiers, checks and judges; people's
labels, tag `human`, are reported as their own tier and never change `overall`) the outcome is
one of:
- `error`: the model call failed (`error_code` reads its code: error(429), error(timeout), ...); left out of the per-tag accuracies (and counted apart), but a
  failure for the target (`target_outcomes`, `target_quality`): a rung that answers half the
  requests does not meet a target;
- `unscored`: no assessment of that tag gave a verdict (none exist, or every one errored, e.g.
  its check could not read the reference);
- `fail`: an assessment of that tag that gave a verdict failed;
- `pass`: every assessment of that tag that gave a verdict passed.
An accuracy is the share of `pass` among the `pass` and `fail` outcomes; None when there are none.
Every single proportion gets a Wilson score interval (`proportion_interval`, INTERVAL_METHOD).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np

from ladder.stats import wilson_interval

METRICS = ("form", "knowledge", "overall")
INTERVAL_METHOD = "Wilson score"  # what proportion_interval computes, named in the report

Outcome = Literal["pass", "fail", "unscored", "error"]


def _tagged(gen: Any, tag: str) -> list[Any]:
    if tag == "overall":
        return [a for a in gen.assessments if a.source_kind != "human"]
    return [a for a in gen.assessments if a.tag == tag]


def outcome(gen: Any, tag: str) -> Outcome:
    """The outcome of one answered (or failed) example on `tag`; see the module's rules."""
    if gen.error is not None:
        return "error"
    verdicts = [a.verdict for a in _tagged(gen, tag) if a.verdict is not None]
    if not verdicts:
        return "unscored"
    return "pass" if all(verdicts) else "fail"


def tag_result(gen: Any, tag: str) -> bool | None:
    """True (pass), False (fail), or None (unscored, or the call failed)."""
    return {"pass": True, "fail": False}.get(outcome(gen, tag))


def passes(gen: Any, tag: str) -> bool:
    return outcome(gen, tag) == "pass"


def verdicts(gens: Iterable[Any], tag: str) -> list[bool]:
    """Pass (True) or fail (False) of every example scored on `tag`, in order."""
    return [o == "pass" for o in (outcome(g, tag) for g in gens) if o in ("pass", "fail")]


def proportion_interval(passed: Sequence[bool]) -> list[float]:
    """The 95% interval of a pass rate: the one place its method is chosen (Wilson score: it
    stays honest at 0/n and n/n, where a percentile bootstrap collapses to a point)."""
    low, high = wilson_interval(sum(bool(p) for p in passed), len(passed))
    return [low, high]


def accuracy(gens: Iterable[Any], metric: str) -> float | None:
    """Share of scored examples passing `metric`; None when no example is scored on it."""
    scored = verdicts(gens, metric)
    return float(np.mean(scored)) if scored else None


def accuracies(gens: Sequence[Any]) -> dict[str, Any]:
    """`{metric}_accuracy` and `{metric}_ci` (95%) for form, knowledge and overall."""
    out: dict[str, Any] = {}
    for metric in METRICS:
        scored = verdicts(gens, metric)
        out[f"{metric}_accuracy"] = float(np.mean(scored)) if scored else None
        out[f"{metric}_ci"] = proportion_interval(scored) if scored else None
    return out


@dataclass(frozen=True)
class Scored:
    """An answer not (yet) stored, seen as the functions here see a stored generation: an eval
    look's results, a held-out training item's answer."""

    example_id: Any
    error: str | None
    assessments: tuple[Any, ...]


def target_outcomes(gens: Iterable[Any], metric: str) -> dict[str, bool]:
    """Example id -> whether it counts as a pass for the target on `metric`. A failed call is a
    failure here (what a user of the rung would get); an example no check could score is left out."""
    return {g.example_id: o == "pass" for g in gens if (o := outcome(g, metric)) != "unscored"}


def target_quality(gens: Iterable[Any], metric: str) -> float | None:
    """The figure a target is compared with: passes / rows attempted (failed calls count as
    failures); None when no row could be scored. The climb's early stop and the report share it."""
    counted = list(target_outcomes(gens, metric).values())
    return float(np.mean(counted)) if counted else None


def answered(gens: Iterable[Any]) -> list[Any]:
    """The rows whose model call succeeded: token, latency and cost means are taken over these
    (a failed call's zero tokens would lower them)."""
    return [g for g in gens if g.error is None]


@dataclass(frozen=True)
class Coverage:
    """How many of a rung's examples count towards an accuracy on one tag."""

    n: int  # examples
    n_answered: int  # the model call succeeded
    n_errors: int  # the model call failed
    n_unscored: int  # answered, but no assessment of the tag gave a verdict
    n_scored: int  # answered and passed or failed

    def to_dict(self) -> dict[str, int]:
        return {"n": self.n, "n_answered": self.n_answered, "n_errors": self.n_errors,
                "n_unscored": self.n_unscored, "n_scored": self.n_scored}


def coverage(gens: Sequence[Any], tag: str = "overall") -> Coverage:
    outcomes = [outcome(g, tag) for g in gens]
    errors = outcomes.count("error")
    unscored = outcomes.count("unscored")
    return Coverage(len(outcomes), len(outcomes) - errors, errors, unscored, len(outcomes) - errors - unscored)


_ERROR_CODE = re.compile(r"^error\(([^)\s]+)\)")


def error_code(error: str) -> str:
    """The code of a failed call's error, e.g. 429, timeout, malformed (a backend writes
    "error(<code>): <detail>"); for an error written otherwise, its leading exception name, else "other"."""
    found = _ERROR_CODE.match(error)
    if found:
        return found.group(1)
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else "other"


def error_codes(gens: Sequence[Any]) -> dict[str, int]:
    """How many rows ended in each error(code), most frequent first: shown beside the error count."""
    return _most_first(Counter(error_code(g.error) for g in gens if g.error is not None))


def codes_text(codes: Mapping[str, int]) -> str:
    """Error codes with their counts, most frequent first: `429: 2, timeout: 1`."""
    return ", ".join(f"{code}: {n}" for code, n in _most_first(codes).items())


def _most_first(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def assessment_rates(gens: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per assessment name (a check, a judge): its tag, the share of answered examples with a
    verdict that pass it (None when it never gave one), and how many times it errored."""
    seen: dict[str, tuple[str, list[bool], list[str]]] = {}
    for g in gens:
        if g.error is None:
            for a in g.assessments:
                tag, results, errors = seen.setdefault(a.name, (a.tag, [], []))
                if a.error is not None:
                    errors.append(a.error)
                elif a.passed is not None:
                    results.append(a.passed)
    return {name: {"tag": tag, "pass_rate": float(np.mean(results)) if results else None, "n_errors": len(errors)}
            for name, (tag, results, errors) in seen.items()}


def pass_table(gens: Sequence[Any]) -> dict[str, dict[str, bool]]:
    """metric -> example id -> passed, for the examples scored on that metric."""
    return {m: {g.example_id: o == "pass" for g in gens if (o := outcome(g, m)) in ("pass", "fail")}
            for m in METRICS}


def extra_tags(gens: Sequence[Any]) -> list[str]:
    """Tags beyond form and knowledge that assessments carry (a judge's own, e.g. helpfulness), in
    first-seen order."""
    seen: dict[str, None] = {}
    for g in gens:
        for a in g.assessments:
            if a.tag not in METRICS:
                seen.setdefault(a.tag, None)
    return list(seen)


def tag_accuracies(gens: Sequence[Any], tags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """tag -> its accuracy, 95% interval and number of scored examples, for tags beyond METRICS."""
    out = {}
    for tag in tags:
        scored = verdicts(gens, tag)
        out[tag] = {"accuracy": float(np.mean(scored)) if scored else None,
                    "ci": proportion_interval(scored) if scored else None, "n_scored": len(scored)}
    return out


def _judged(gens: Sequence[Any]) -> list[Any]:
    return [a for g in gens for a in g.assessments if a.source_kind == "llm_judge"]


def judge_coverage(gens: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per LLM judge: its tag, verdicts and judge errors over the answered rows, and its coverage
    (verdicts / answered rows; a row it never reached counts against it like an error)."""
    replied = answered(gens)
    out: dict[str, dict[str, Any]] = {}
    for a in _judged(replied):
        entry = out.setdefault(a.name, {"tag": a.tag, "kind": a.metadata.get("judge_kind"), "verdicts": 0,
                                        "errors": 0, "n_answered": len(replied), "scoring": {}})
        if a.error is not None:
            entry["errors"] += 1
        elif a.passed is not None:
            entry["verdicts"] += 1
            used = a.metadata.get("scoring", "argmax")
            entry["scoring"][used] = entry["scoring"].get(used, 0) + 1
    for entry in out.values():
        entry["coverage"] = entry["verdicts"] / entry["n_answered"] if entry["n_answered"] else None
    return out


def judge_cost(assessments: Iterable[Any]) -> dict[str, float]:
    """What judges' verdicts cost (evaluation cost, apart from build and serving): their count,
    tokens, money and seconds (a cached verdict shows what its call cost when it was made)."""
    items = list(assessments)
    return {"verdicts": len(items),
            "prompt_tokens": int(sum(a.cost.prompt_tokens for a in items)),
            "completion_tokens": int(sum(a.cost.completion_tokens for a in items)),
            "money": float(sum(a.cost.money for a in items)),
            "seconds": float(sum(a.cost.latency_s for a in items))}


def rung_judge_cost(gens: Sequence[Any]) -> dict[str, float]:
    return judge_cost(_judged(gens))


@dataclass(frozen=True)
class PairVerdict:
    """A pair of answers as a judge (or person) decided it: a pairwise judge's two orders read
    together (`consistent` False: the orders disagreed, read as a tie), or one A/B choice
    (`consistent` None). `error`: no verdict (an order failed)."""

    a: int
    b: int
    source_kind: str
    source_name: str
    winner: str | None  # a | b | tie | both_bad
    consistent: bool | None
    error: str | None = None


def pair_verdicts(comparisons: Sequence[Any]) -> list[PairVerdict]:
    """Group a run's Comparisons into pair verdicts: the two orders a pairwise judge asked (same
    `metadata["pair"]`) make one; a comparison without a pair key stands alone."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for i, c in enumerate(comparisons):
        key = c.metadata.get("pair")
        groups.setdefault((c.source_kind, c.source_name, key) if key is not None else ("alone", i), []).append(c)
    out = []
    for group in groups.values():
        first = group[0]
        failed = next((c.error or "no verdict" for c in group if c.error is not None or c.winner is None), None)
        if failed is not None:
            out.append(PairVerdict(first.a, first.b, first.source_kind, first.source_name, None, None, failed))
        elif len(group) == 1:
            out.append(PairVerdict(first.a, first.b, first.source_kind, first.source_name, first.winner, None))
        else:
            same = len({c.winner for c in group}) == 1
            out.append(PairVerdict(first.a, first.b, first.source_kind, first.source_name,
                                   first.winner if same else "tie", same))
    return out
