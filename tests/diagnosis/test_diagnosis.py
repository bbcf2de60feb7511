"""The diagnosis's rules on recorded rows (no model): classes, the thin heuristic, next steps,
the paired comparisons and the recommendation's scenarios."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ladder.diagnosis import ThinAnswerHeuristic, classify, diagnose, recommend
from ladder.diagnosis.classify import RetrievalInfo, TeacherAnswer
from ladder.diagnosis.diagnose import dominant_class, next_step
from ladder.stats import compare_one_to_many, compare_paired, holm_adjust
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


def test_one_rung_against_many_is_paired_by_example_id_and_holm_adjusted():
    chosen = {f"e{i}": i < 18 for i in range(20)}
    # rows are matched by id, whatever order and extra rows the other rung has
    weak = {f"e{i}": i < 6 for i in reversed(range(20))} | {"extra": True}
    close = {f"e{i}": i < 16 for i in range(20)}
    one, two = compare_one_to_many("ft", chosen, {"weak": weak, "close": close})
    raw_weak = compare_paired("ft", [chosen[f"e{i}"] for i in range(20)], "weak", [i < 6 for i in range(20)])
    assert one["n"] == 20 and one["p_value"] == raw_weak["p_value"] and one["rungs"] == ["ft", "weak"]
    assert [one["p_adjusted"], two["p_adjusted"]] == holm_adjust([one["p_value"], two["p_value"]])
    assert one["distinguishable"] and not two["distinguishable"] and "Holm-adjusted p" in one["text"]
    (single,) = compare_one_to_many("ft", chosen, {"weak": weak})  # one comparison: nothing to adjust
    assert single["p_adjusted"] is None and single["p_value"] == raw_weak["p_value"]


def rung(name, quality, cost, build=0.0, ci=None, kind="prompt", position=0, meets=None, n=40, dev=None):
    return {"rung": name, "kind": kind, "position": position, "n": n, "n_errors": 0, "coverage": 1.0, "error": None,
            "quality": quality, "quality_ci": ci or [max(0, quality - 0.1), min(1, quality + 0.1)],
            "dev_quality": dev, "dev_meets_target": None if dev is None else dev >= 0.8, "n_dev": 0 if dev is None else 10,
            "build_money": build, "cost_per_1k_requests": cost, "cost_at_volume": cost * 100 + build,
            "meets_target": quality >= 0.8 if meets is None else meets}


RUNGS = [rung("cheap", 0.5, 1.0), rung("mid", 0.85, 3.0, position=1),
         rung("ft", 0.95, 0.5, build=500.0, kind="finetune", position=2)]
TARGET = {"metric": "overall", "value": 0.8}


def _outcomes(*rates, n=40):
    """Per rung, the first round(rate x n) of n rows pass."""
    return {r["rung"]: {f"e{i}": i < round(rate * n) for i in range(n)} for r, rate in zip(RUNGS, rates)}


def test_scenarios():
    t = recommend(RUNGS, TARGET, 100_000, "USD", "target", next_steps={"mid": "try it"},
                  outcomes=_outcomes(0.5, 0.85, 0.95))
    assert t["rung"] == "mid" and t["meets_target"] and t["next_step"] == "try it"  # 300 < 550
    assert t["target_met_by"] == ["mid", "ft"] and t["quality_ci"] == RUNGS[1]["quality_ci"]
    # the choice is compared, paired, with every other rung, Holm-adjusted: it was picked among three
    assert [c["rungs"][1] for c in t["comparisons"]] == ["cheap", "ft"]
    assert all(c["p_adjusted"] is not None for c in t["comparisons"])
    assert any("picked among 3 rungs" in n and "Holm-adjusted" in n for n in t["notes"])
    assert recommend(RUNGS, TARGET, 100_000, "USD", "frontier")["rung"] == "ft"
    missed = recommend([dict(r, meets_target=False) for r in RUNGS], {"metric": "overall", "value": 0.99},
                       100_000, "USD", "target")
    assert missed["rung"] == "ft" and not missed["meets_target"] and missed["reason"].startswith("no rung meets")


def test_budget_scenario_is_build_cost_only():
    # budget.money means build cost everywhere: ft builds for 500 and serves 100K requests for 50
    assert recommend(RUNGS, TARGET, 100_000, "USD", "budget", budget=499.0)["rung"] == "mid"
    fits = recommend(RUNGS, TARGET, 100_000, "USD", "budget", budget=500.0)
    assert fits["rung"] == "ft" and fits["build_money"] == 500.0 and fits["cost_at_volume"] == 550.0
    none = recommend([dict(r, build_money=20.0) for r in RUNGS], TARGET, 100_000, "USD", "budget", budget=10.0)
    assert none["rung"] is None and not none["meets_target"] and "build cost fits" in none["reason"]
    assert "needs a budget" in recommend(RUNGS, TARGET, 100_000, "USD", "budget")["reason"]



def test_no_results_says_how_many_calls_failed_across_rungs_most_frequent_first():
    failed = [{"rung": "a", "kind": "prompt", "n": 3, "n_errors": 3, "error_codes": {"429": 1, "timeout": 2}},
              {"rung": "b", "kind": "prompt", "n": 2, "n_errors": 2, "error_codes": {"timeout": 1, "500": 1}}]
    reason = recommend(failed, TARGET, 100_000, "USD")["reason"]
    assert reason == ("no rung produced results to compare: 5 call(s) failed (timeout: 3, 429: 1, 500: 1); once the "
                      "model answers, `ladder climb TASK.yaml --retry-errors` asks them again")
    assert recommend([], TARGET, 100_000, "USD")["reason"] == "no rung produced results to compare"

def test_the_choice_is_made_on_dev_rows_and_reported_on_test_rows():
    # on the test rows cheap looks best, but the choice is made on dev, where only mid meets the target
    rungs = [rung("cheap", 0.9, 1.0, dev=0.7), rung("mid", 0.82, 3.0, position=1, dev=0.9)]
    rec = recommend(rungs, TARGET, 1000, "USD", "target")
    assert rec["rung"] == "mid" and rec["quality"] == 0.82 and rec["dev_quality"] == 0.9
    assert rec["dev_test_gap"] == pytest.approx(0.08) and rec["target_met_by"] == ["mid"]
    assert any("dev-test gap of +8.0 points" in n for n in rec["notes"])
    no_split = recommend(RUNGS, TARGET, 1000, "USD", "target", optimistic=True)
    assert any("optimistic" in n for n in no_split["notes"])


def test_the_advice_names_the_judges_behind_its_metric_and_flags_an_untrusted_one():
    cards = [{"name": "equivalent", "kind": "reference", "tag": "knowledge", "trust": "untrusted",
              "trust_text": "kappa against people 0.10 [95% CI -0.2 to 0.4], n = 20: lower bound below 0.4"},
             {"name": "polite", "kind": "rubric", "tag": "tone", "trust": "unknown",
              "trust_text": "no reference signal: trust unknown"},
             {"name": "pj", "kind": "pairwise", "tag": None, "trust": "trusted", "trust_text": ""}]
    overall = recommend(RUNGS, TARGET, 1000, "USD", "target", judges=cards)
    assert [j["name"] for j in overall["judges"]] == ["equivalent", "polite"]  # overall counts every tag
    assert overall["rests_on_untrusted_judge"] and overall["untrusted_judges"] == ["equivalent"]
    assert any(n.startswith("it rests on an untrusted judge, equivalent (kappa against people") for n in overall["notes"])
    assert any("polite, whose trust is unknown (no reference signal" in n for n in overall["notes"])
    tone = recommend(RUNGS, {"metric": "tone", "value": 0.8}, 1000, "USD", "target", judges=cards)
    assert tone["untrusted_judges"] == [] and not tone["rests_on_untrusted_judge"]
    assert [j["name"] for j in tone["judges"]] == ["polite"]
    assert recommend([], TARGET, 1000, "USD", judges=cards)["untrusted_judges"] == ["equivalent"]
    assert recommend(RUNGS, TARGET, 1000, "USD")["judges"] == []


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
    within = summarize(store, "r", AdviceOptions(scenario="budget"))["recommendation"]  # budget.money = 500 (build)
    assert within["rung"] == "few_shot" and within["build_money"] <= 500
    assert summarize(store, "r", AdviceOptions(scenario="budget", budget=1000))["recommendation"]["rung"] == "lora_sft"
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


def test_the_reason_says_the_choice_was_made_on_the_dev_rows():
    rungs = [rung("cheap", 0.9, 1.0, dev=0.7), rung("mid", 0.82, 3.0, position=1, dev=0.9)]
    assert "with 90.0% on the dev rows" in recommend(rungs, TARGET, 1000, "USD", "target")["reason"]
    assert "on the dev rows" not in recommend(RUNGS, TARGET, 1000, "USD", "target")["reason"]
