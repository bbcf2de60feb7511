"""The diagnosis's rules on recorded rows (no model): classes, the thin heuristic, next steps,
the power estimate and the recommendation's scenarios."""

from __future__ import annotations

from statistics import NormalDist
from types import SimpleNamespace

import pytest

from ladder.diagnosis import ThinAnswerHeuristic, classify, diagnose, recommend
from ladder.diagnosis.classify import RetrievalInfo, TeacherAnswer
from ladder.diagnosis.diagnose import dominant_class, next_step
from ladder.stats import compare, overlap, sample_size
from ladder.report import summarize
from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, ExampleResult, Generation


def gen(form=True, knowledge=True, output="an answer", expected="an answer", finish="stop", error=None):
    checks = []
    if form is not None:
        checks.append(Assessment("shape", "form", passed=form, rationale="" if form else "no match"))
    if knowledge is not None:
        checks.append(Assessment("value", "knowledge", passed=knowledge, rationale="" if knowledge else "got 1, want 2"))
    return SimpleNamespace(example_id="e", input="q", output=output, expected=expected, finish_reason=finish,
                           error=error, assessments=tuple(checks) if error is None else ())


def test_classes_from_checks_and_call_outcome():
    assert classify(gen()).cls is None
    assert classify(gen(form=False)).cls == "form"
    assert classify(gen(form=False, knowledge=False)).cls == "form_and_knowledge"
    assert classify(gen(knowledge=False)).cls == "knowledge"
    assert classify(gen(finish="content_filter", knowledge=None, form=None)).cls == "blocked"
    assert classify(gen(error="refusal: I can't help with that.", finish="error")).cls == "blocked"
    assert classify(gen(error="HTTP 500: boom", finish="error")).cls == "error"
    # no knowledge check and no judge that speaks on content: a form failure is a form error
    assert classify(gen(form=False, knowledge=None)).cls == "form"


def test_knowledge_split_by_retrieval_first_then_teacher():
    wrong = gen(knowledge=False)
    right, also_wrong = TeacherAnswer("2", True), TeacherAnswer("3", False)
    assert classify(wrong, teacher=right).cls == "knowledge_teacher_right"
    assert classify(wrong, teacher=also_wrong).cls == "knowledge_teacher_wrong"
    assert classify(wrong, teacher=TeacherAnswer("", None, error="HTTP 500")).cls == "knowledge"
    assert classify(wrong, teacher=right, retrieval=RetrievalInfo(False, ("c1",))).cls == "knowledge_retrieval_miss"
    assert classify(wrong, retrieval=RetrievalInfo(True, ("c1",))).cls == "knowledge_retrieval_unused"
    assert classify(wrong, teacher=right, retrieval=RetrievalInfo(None)).cls == "knowledge_teacher_right"


def test_thin_answer_heuristic():
    judge = ThinAnswerHeuristic()
    ref = ("Paris is the capital of France, on the Seine, home of the Louvre, the Eiffel Tower and "
           "about two million people.")
    thin = judge.judge("q", "Paris.", ref)
    (said,) = thin
    assert (said.tag, said.source_kind, said.source_name) == ("sufficiency", "code", judge.name)
    assert said.passed is False and "missing:" in said.rationale and "'seine'" in said.rationale
    (full,) = judge.judge("q", ref.replace("about", "roughly"), ref)
    assert full.passed is True
    # short but covering the key words is not thin; long but off-topic is not thin either
    assert judge.judge("q", "Paris capital France Seine Louvre Eiffel Tower million people", ref)[0].passed is True
    assert judge.judge("q", " ".join(["words"] * 30), ref)[0].passed is True
    (unsure,) = judge.judge("q", "x", "Yes.")  # too short a reference to judge: neither thin nor not
    assert unsure.passed is None and unsure.error == "reference too short to judge (1 words)"
    assert classify(gen(output="Paris.", expected=ref), judged=thin).cls == "thin"
    assert classify(gen(knowledge=False, output="Paris.", expected=ref), judged=thin).cls == "knowledge"
    assert classify(gen(output="Paris.", expected=ref), judged=(unsure,)).cls is None


def test_dominant_class_and_next_step():
    assert dominant_class({}) is None
    assert dominant_class({"error": 3}) == "error"
    assert dominant_class({"error": 9, "form": 1}) == "form"  # failed calls are not the model's fault
    assert dominant_class({"thin": 2, "form": 2}) == "form"  # ties: the legend's order
    assert "distil" in next_step("knowledge_teacher_right", {"knowledge_teacher_right": 4}, "prompt", True)
    assert "retrieval" in next_step("knowledge_retrieval_miss", {"knowledge_retrieval_miss": 1}, "prompt", False)
    assert "fine-tune to control" in next_step("blocked", {"blocked": 1}, "prompt", False)
    assert "teacher:" in next_step("knowledge", {"knowledge": 1}, "prompt", False)
    assert "teacher:" not in next_step("knowledge", {"knowledge": 1}, "prompt", True)
    assert "training examples" in next_step("form", {"form": 1}, "finetune", False)
    # a run whose retrieval rung found the gold source but was not helped by it: RAG is not the advice
    used = next_step("knowledge", {"knowledge": 24}, "finetune", False, ("rag(dense,c96,k3)", 22, 2))
    assert "add retrieval (RAG)" not in used and "model is the limit" in used and "22 wrong" in used
    missed = next_step("knowledge", {"knowledge": 24}, "finetune", False, ("rag(bm25,c96,k3)", 3, 20))
    assert "improve retrieval" in missed and "missed the gold source for 20" in missed


def _power(n, p1, p2, alpha=0.05):
    """Power of the two-sided two-proportion z-test with n per group (normal approximation)."""
    nd = NormalDist()
    pbar = (p1 + p2) / 2
    se0 = (2 * pbar * (1 - pbar) / n) ** 0.5
    se1 = ((p1 * (1 - p1) + p2 * (1 - p2)) / n) ** 0.5
    return nd.cdf((abs(p1 - p2) - nd.inv_cdf(1 - alpha / 2) * se0) / se1)


@pytest.mark.parametrize("p1,p2", [(0.5, 0.6), (0.7, 0.9), (0.2, 0.25), (0.95, 0.99)])
def test_sample_size_is_the_smallest_n_with_80_percent_power(p1, p2):
    n = sample_size(p1, p2)
    assert _power(n, p1, p2) >= 0.8 > _power(n - 1, p1, p2)
    assert sample_size(p2, p1) == n and sample_size(p1, p1) is None


def test_overlap_and_compare():
    assert overlap([0.1, 0.5], [0.5, 0.9]) and not overlap([0.1, 0.4], [0.5, 0.9]) and overlap(None, [0, 1])
    apart = compare("a", 0.2, [0.1, 0.3], "b", 0.8, [0.7, 0.9], 50)
    assert apart["distinguishable"] and apart["needed"] is None
    close = compare("a", 0.7, [0.5, 0.85], "b", 0.8, [0.65, 0.95], 40)
    assert not close["distinguishable"] and close["needed"] == sample_size(0.7, 0.8)
    assert "not distinguishable at this eval size" in close["text"] and f"{close['needed'] - 40} more" in close["text"]
    assert close["formula"].endswith(f"= {close['needed']} per rung")


def rung(name, quality, cost, build=0.0, ci=None, kind="prompt", position=0, meets=None, n=40):
    return {"rung": name, "kind": kind, "position": position, "n": n, "n_errors": 0, "error": None,
            "quality": quality, "quality_ci": ci or [max(0, quality - 0.1), min(1, quality + 0.1)],
            "cost_per_1k_requests": cost, "cost_at_volume": cost * 100 + build,
            "meets_target": quality >= 0.8 if meets is None else meets}


RUNGS = [rung("cheap", 0.5, 1.0), rung("mid", 0.85, 3.0, position=1),
         rung("ft", 0.95, 0.5, build=500.0, kind="finetune", position=2)]
TARGET = {"metric": "overall", "value": 0.8}


def test_scenarios():
    t = recommend(RUNGS, TARGET, 100_000, "USD", "target", next_steps={"mid": "try it"})
    assert t["rung"] == "mid" and t["meets_target"] and t["next_step"] == "try it"  # 300 < 550
    assert t["target_met_by"] == ["mid", "ft"] and t["quality_ci"] == RUNGS[1]["quality_ci"]
    # the strongest cheaper rung and the best other rung are compared with the choice
    assert [c["rungs"][1] for c in t["comparisons"]] == ["cheap", "ft"]
    assert recommend(RUNGS, TARGET, 100_000, "USD", "frontier")["rung"] == "ft"
    assert recommend(RUNGS, TARGET, 100_000, "USD", "budget", budget=200.0)["rung"] == "cheap"
    assert recommend(RUNGS, TARGET, 100_000, "USD", "budget", budget=1000.0)["rung"] == "ft"
    none = recommend(RUNGS, TARGET, 100_000, "USD", "budget", budget=10.0)
    assert none["rung"] is None and not none["meets_target"] and "no rung fits" in none["reason"]
    assert "needs a budget" in recommend(RUNGS, TARGET, 100_000, "USD", "budget")["reason"]
    low = [dict(r, meets_target=False) for r in RUNGS]
    missed = recommend(low, {"metric": "overall", "value": 0.99}, 100_000, "USD", "target")
    assert missed["rung"] == "ft" and not missed["meets_target"] and missed["reason"].startswith("no rung meets")


def _record(store, run_id, spec, rungs):
    store.start_run(run_id, "toy", "t.yaml", "h", spec, "m")
    for position, (name, kind, outcomes, prompt_tokens, build) in enumerate(rungs):
        rows = []
        for i, (form, knowledge) in enumerate(outcomes):
            ex = SimpleNamespace(id=f"ex{i}", input=f"q{i}", expected=f"a{i}")
            g = Generation(text=f"o{i}", prompt_tokens=prompt_tokens, completion_tokens=5, latency_s=0.1)
            rows.append(ExampleResult(ex, "[]", g, (Assessment("f", "form", passed=form),
                                                     Assessment("k", "knowledge", passed=knowledge))))
        store.add_rung_result(RungRecord(run_id, position, name, kind, {"rung": name}, build_seconds=10,
                                         build_money=build, eval_seconds=1), rows)


def test_summary_advice_overrides_and_diagnosis(tmp_path):
    store = Store(tmp_path / "runs")
    spec = {"prices": {"input_per_1k": 1.0, "output_per_1k": 1.0}, "target": {"metric": "form", "value": 0.9},
            "volume": 1000, "budget": {"money": 500.0}, "seed": 0}
    T, F = True, False
    _record(store, "r", spec, [
        ("zero_shot", "prompt", [(F, T)] * 6 + [(T, T)] * 4, 100, 0.0),  # form 0.4
        ("few_shot", "prompt", [(F, F)] + [(T, T)] * 9, 400, 0.0),  # form 0.9
        ("lora_sft", "finetune", [(T, F)] + [(T, T)] * 9, 50, 1000.0),  # form 1.0
    ])
    s = summarize(store, "r")
    assert s["recommendation"]["rung"] == "few_shot" and s["recommendation"]["meets_target"]
    d = {x["rung"]: x for x in s["diagnosis"]}
    assert d["zero_shot"]["counts"] == {"form": 6} and d["zero_shot"]["dominant"] == "form"
    assert len(d["zero_shot"]["examples"]["form"]) == 3  # three examples per class
    assert d["few_shot"]["counts"] == {"form_and_knowledge": 1}
    assert d["lora_sft"]["counts"] == {"knowledge": 1}
    from ladder.diagnosis.recommend import AdviceOptions

    # cost per 1K requests = prompt tokens + 5; at 1,000 requests few_shot (405) beats lora_sft
    # (55 + 1000 build); a larger volume amortises the build
    big = summarize(store, "r", AdviceOptions(volume=1_000_000))["recommendation"]
    assert big["rung"] == "lora_sft" and big["next_step"] == d["lora_sft"]["next_step"]
    strict = summarize(store, "r", AdviceOptions(target=0.95))["recommendation"]
    assert strict["rung"] == "lora_sft" and strict["meets_target"]
    within = summarize(store, "r", AdviceOptions(scenario="budget"))["recommendation"]  # budget.money = 500
    assert within["rung"] == "few_shot" and within["cost_at_volume"] <= 500
    assert summarize(store, "r", AdviceOptions(scenario="budget", budget=100))["recommendation"]["rung"] is None
    assert summarize(store, "r", AdviceOptions(scenario="frontier"))["recommendation"]["rung"] == "lora_sft"
    assert diagnose(store, "r")[0].rung == "zero_shot"


class AlwaysRight:
    """A judge of another kind (an LLM judge, stored human ratings) speaking through the protocol."""

    name = "stored ratings"

    def judge(self, input, output, reference):
        return (Assessment("right", "knowledge", source_kind="human", source_name=self.name, passed=True,
                           rationale="rated right"),
                Assessment("enough", "sufficiency", source_kind="human", source_name=self.name, passed=True))


def test_a_judge_plugs_in_and_overrides_the_knowledge_checks(tmp_path):
    judged = AlwaysRight().judge("q", "o", "r")
    assert classify(gen(form=False, knowledge=False), judged=judged).cls == "form"
    assert classify(gen(form=True, knowledge=False), judged=judged).cls is None
    store = Store(tmp_path / "runs")
    _record(store, "r", {"target": {"metric": "form", "value": 0.9}},
            [("zero_shot", "prompt", [(False, False), (True, False), (True, True)], 10, 0.0)])
    default = summarize(store, "r")["diagnosis"][0]
    judged = summarize(store, "r", judge=AlwaysRight())["diagnosis"][0]
    assert default["counts"] == {"form_and_knowledge": 1, "knowledge": 1}
    assert judged["counts"] == {"form": 1} and judged["judge"] == "stored ratings"
