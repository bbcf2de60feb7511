import json
from types import SimpleNamespace

import pytest

from ladder.report import summarize, write_report
from ladder.report.fmt import check_table
from ladder.report.frontier import plot_frontier
from ladder.report.summary import break_even
from ladder.stats import wilson_interval
from ladder.tracking.costs import break_even_requests, cost_per_1k_requests
from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, ExampleResult, Generation

PRICES = {"currency": "USD", "input_per_1k": 0.5, "output_per_1k": 1.5, "train_per_hour": 2.0}


def _spec(prices=PRICES, metric="overall", value=0.75, volume=1000):
    return {"name": "toy", "prices": prices, "target": {"metric": metric, "value": value},
            "volume": volume, "seed": 0}


def _rows(outcomes, prompt_tokens, completion_tokens, tags=("form", "knowledge")):
    """One row per outcome: (form passed, knowledge passed), or "error" for a failed call."""
    rows = []
    for i, outcome in enumerate(outcomes):
        ex = SimpleNamespace(id=f"ex{i}", input=f"question <{i}> & more", expected=f"answer {i}")
        if outcome == "error":
            gen = Generation(text="", prompt_tokens=prompt_tokens, completion_tokens=0, latency_s=0.0,
                             finish_reason="error", error="backend timed out")
            rows.append(ExampleResult(ex, "[]", gen))
            continue
        gen = Generation(text=f"output {i}", prompt_tokens=prompt_tokens,
                         completion_tokens=completion_tokens, latency_s=0.25, cached=i == 0)
        checks = tuple(Assessment(f"{tag}_check", tag, passed=passed, rationale="" if passed else f"{tag} wrong")
                       for tag, passed in zip(("form", "knowledge"), outcome) if tag in tags)
        rows.append(ExampleResult(ex, "[]", gen, checks))
    return rows


def _add(store, run_id, position, rung, kind, rows, build_money=0.0, build_seconds=0.0):
    store.add_rung_result(RungRecord(run_id, position, rung, kind, {"rung": rung, "description": f"the {rung} rung"},
                                     build_seconds=build_seconds, build_money=build_money, eval_seconds=1.0), rows)


def _climb(store, run_id="run1", lora_build_money=0.5, spec=None):
    """Four rungs (cost per 1K requests, overall accuracy):
    zero_shot (80, 0.5) and lora_sft (115, 1.0) on the frontier;
    few_shot (180, 0.75) dominated by lora_sft; bloated (230 over its 3 answered calls; 2 of 4 for
    the target: its failed call is a failure there) dominated."""
    store.start_run(run_id, "toy", "examples/toy/task.yaml", "hash", spec or _spec(), "tiny-model")
    T, F = True, False
    _add(store, run_id, 0, "zero_shot", "prompt", _rows([(T, T), (F, T), (T, F), (T, T)], 100, 20))
    _add(store, run_id, 1, "few_shot", "prompt", _rows([(T, T), (T, T), (T, F), (T, T)], 300, 20))
    _add(store, run_id, 2, "bloated", "prompt", _rows([(T, T), "error", (T, F), (T, T)], 400, 20))
    _add(store, run_id, 3, "lora_sft", "finetune", _rows([(T, T)] * 4, 50, 60),
         build_money=lora_build_money, build_seconds=900.0)
    store.finish_run(run_id, "done")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "runs")
    yield s
    s.close()


def _by_rung(summary):
    return {r["rung"]: r for r in summary["rungs"]}


def test_accuracies_and_means(store):
    _climb(store)
    s = summarize(store, "run1")
    assert [r["rung"] for r in s["rungs"]] == ["zero_shot", "few_shot", "bloated", "lora_sft"]
    r = _by_rung(s)
    z = r["zero_shot"]
    assert (z["form_accuracy"], z["knowledge_accuracy"], z["overall_accuracy"]) == (0.75, 0.75, 0.5)
    assert (z["n"], z["n_failed"], z["prompt_tokens"], z["completion_tokens"]) == (4, 2, 100, 20)
    assert z["latency_s"] == pytest.approx(0.25) and z["cached_share"] == 0.25
    assert z["description"] == "the zero_shot rung" and z["kind"] == "prompt"
    # a failed call is left out of the per-tag accuracies and counted apart, but fails the target;
    # its zero tokens are left out of the means
    b = r["bloated"]
    assert (b["form_accuracy"], b["knowledge_accuracy"], b["overall_accuracy"]) == (1.0, pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert b["n_errors"] == 1 and b["n_failed"] == 1 and b["coverage"] == 0.75
    assert b["quality"] == 0.5 and b["quality_ci"] == list(wilson_interval(2, 4)) and not b["meets_target"]
    assert b["completion_tokens"] == 20 and b["cost_per_1k_requests"] == pytest.approx(230.0)
    # 4 of 4 is not certainty: the interval stays open below (Wilson), no collapse to [1, 1]
    assert r["lora_sft"]["overall_accuracy"] == 1.0 and r["lora_sft"]["overall_ci"] == list(wilson_interval(4, 4))
    assert r["lora_sft"]["overall_ci"][0] < 0.6
    for rung in s["rungs"]:
        lo, hi = rung["overall_ci"]
        assert 0 <= lo <= rung["overall_accuracy"] <= hi <= 1
        if rung["n_errors"] == 0:
            assert rung["quality"] == rung["overall_accuracy"] and rung["coverage"] == 1.0
    assert z["cost_per_1k_requests"] == pytest.approx(cost_per_1k_requests(100, 20, 0.5, 1.5))
    assert z["cost_per_1k_requests"] == pytest.approx(80.0)
    assert [x["rung"] for x in s["rungs"] if x["meets_target"]] == ["few_shot", "lora_sft"]
    assert (s["run"]["target_metric"], s["run"]["target_value"]) == ("overall", 0.75)
    assert s["run"]["currency"] == "USD" and s["run"]["volume"] == 1000 and s["run"]["status"] == "done"


def test_check_rates_per_rung(store):
    _climb(store)
    r = _by_rung(summarize(store, "run1"))
    assert r["zero_shot"]["check_rates"] == {"form_check": {"tag": "form", "pass_rate": 0.75, "n_errors": 0},
                                             "knowledge_check": {"tag": "knowledge", "pass_rate": 0.75, "n_errors": 0}}
    # the failed call is left out: 2 of the 3 answered rows pass the knowledge check
    assert r["bloated"]["check_rates"]["knowledge_check"]["pass_rate"] == pytest.approx(2 / 3)
    assert r["bloated"]["check_rates"]["form_check"]["pass_rate"] == 1.0


def test_bootstrap_is_deterministic_and_json_clean(store):
    _climb(store)
    a, b = summarize(store, "run1"), summarize(store, "run1")
    assert a == b
    json.dumps(a, allow_nan=False)


def test_target_metric_picks_quality(store):
    _climb(store, spec=_spec(metric="knowledge", value=0.7))
    r = _by_rung(summarize(store, "run1"))
    assert r["zero_shot"]["quality"] == 0.75 and r["zero_shot"]["meets_target"]
    assert r["bloated"]["knowledge_accuracy"] == pytest.approx(2 / 3)
    assert r["bloated"]["quality"] == 0.5 and not r["bloated"]["meets_target"]  # its failed call fails the target


def test_missing_tag_gives_none(store):
    store.start_run("r", "toy", "t.yaml", "h", _spec(), "m")
    _add(store, "r", 0, "zero_shot", "prompt", _rows([(True, True), (False, True)], 10, 5, tags=("form",)))
    z = summarize(store, "r")["rungs"][0]
    assert z["form_accuracy"] == 0.5 and z["overall_accuracy"] == 0.5
    assert z["knowledge_accuracy"] is None and z["knowledge_ci"] is None


def test_an_unreadable_reference_is_unscored_not_failed(store):
    store.start_run("r", "toy", "t.yaml", "h", _spec(), "m")
    rows = _rows([(True, True), (True, False), (True, True)], 10, 5)
    unreadable = Assessment("knowledge_check", "knowledge", error="the reference has no match for `extract`")
    rows[2] = ExampleResult(rows[2].example, "[]", rows[2].generation, (rows[2].assessments[0], unreadable))
    _add(store, "r", 0, "zero_shot", "prompt", rows)
    z = summarize(store, "r")["rungs"][0]
    assert z["knowledge_accuracy"] == 0.5  # 1 of the 2 examples it could score
    # overall: the verdicts given decide, so the form check alone scores the third example
    assert z["form_accuracy"] == 1.0 and z["overall_accuracy"] == pytest.approx(2 / 3)
    assert (z["n"], z["n_errors"], z["n_unscored"], z["n_failed"]) == (3, 0, 0, 1)
    assert z["check_rates"]["knowledge_check"] == {"tag": "knowledge", "pass_rate": 0.5, "n_errors": 1}
    assert check_table(summarize(store, "r"))[1] == [["zero_shot", "100.0%", "50.0% (1 not scored)"]]


def test_frontier_excludes_dominated_rungs(store):
    _climb(store)
    s = summarize(store, "run1")
    assert s["frontier"] == ["zero_shot", "lora_sft"]
    r = _by_rung(s)
    assert not r["bloated"]["on_frontier"] and not r["few_shot"]["on_frontier"]
    assert r["zero_shot"]["on_frontier"] and r["lora_sft"]["on_frontier"]


def test_break_even_only_against_a_rung_that_meets_the_target(store):
    _climb(store)
    (be,) = summarize(store, "run1")["break_even"]
    # zero_shot (cheapest to serve) misses the target (0.5 < 0.75): replacing it saves nothing that
    # counts. few_shot meets it: 300 prompt + 20 completion tokens = 0.18 per request; lora_sft
    # 50 + 60 = 0.115 per request, both input and output priced
    assert be["finetune_rung"] == "lora_sft" and be["baseline_rung"] == "few_shot" and be["applies"]
    assert be["cost_per_request"] == pytest.approx(0.115) and be["baseline_cost_per_request"] == pytest.approx(0.18)
    assert be["requests"] == pytest.approx(break_even_requests(0.0, 0.18, 0.5, 0.115))
    assert be["requests"] == pytest.approx(0.5 / 0.065)
    assert be["formula"].startswith("N = (0.5 - 0) / (0.18 - 0.115 per request") and be["formula"].endswith(
        "= 7.6923 requests")


def _priced_rung(name, kind, meets, cost, build=0.0, position=0):
    return {"rung": name, "kind": kind, "quality": 0.9 if meets else 0.1, "meets_target": meets, "n": 40,
            "error": None, "position": position, "cost_per_1k_requests": cost, "build_money": build,
            "cost_at_volume": cost + build}


def test_break_even_does_not_apply_without_a_cheaper_build_that_meets_the_target():
    rungs = [_priced_rung("few_shot", "prompt", False, 6.0), _priced_rung("ft", "finetune", True, 1.0, 2.0, 1)]
    (be,) = break_even(rungs, "USD")
    assert not be["applies"] and be["requests"] is None and be["baseline_rung"] is None
    assert be["formula"] == "no cheaper-to-build rung than ft reaches the target: break-even does not apply"
    missed = break_even([_priced_rung("few_shot", "prompt", True, 6.0),
                         _priced_rung("ft", "finetune", False, 1.0, 2.0, 1)], "USD")[0]
    assert missed["formula"] == "ft does not meet the target: break-even does not apply"
    # a fine-tune that costs as much per request never pays back
    (never,) = break_even([_priced_rung("few_shot", "prompt", True, 1.0),
                           _priced_rung("ft", "finetune", True, 1.0, 2.0, 1)], "USD")
    assert never["applies"] and never["requests"] is None and "never pays back" in never["formula"]


def test_break_even_reproduces_the_published_worked_example(store):
    """0.492075 yen to train, 190 input tokens saved per request at 0.0000045 yen per token: 575.5."""
    yen = {"currency": "JPY", "input_per_1k": 0.0045, "output_per_1k": 0.018, "train_per_hour": 0.0}
    store.start_run("r", "toy", "t.yaml", "h", _spec(prices=yen), "m")
    _add(store, "r", 0, "few_shot", "prompt", _rows([(True, True)] * 4, 230, 12))
    _add(store, "r", 1, "lora_sft", "finetune", _rows([(True, True)] * 4, 40, 12), build_money=0.492075)
    (be,) = summarize(store, "r")["break_even"]
    assert be["baseline_rung"] == "few_shot" and be["requests"] == pytest.approx(575.5, abs=0.05)
    assert be["formula"].startswith("N = (0.492075 - 0) / (0.001251 - 0.000396 per request")
    assert be["formula"].endswith("= 575.53 requests")  # 575.526..., published rounded to 575.5


def test_a_hosted_fine_tune_is_served_at_its_own_prices(store):
    dear = {**PRICES, "finetuned_input_per_1k": 1.0, "finetuned_output_per_1k": 3.0}
    _climb(store, spec=_spec(prices=dear))
    r = _by_rung(summarize(store, "run1"))
    assert r["lora_sft"]["cost_per_1k_requests"] == pytest.approx(cost_per_1k_requests(50, 60, 1.0, 3.0))
    assert r["few_shot"]["cost_per_1k_requests"] == pytest.approx(cost_per_1k_requests(300, 20, 0.5, 1.5))


def test_recommendation_amortises_build_over_volume(store, tmp_path):
    _climb(store)
    rec = summarize(store, "run1")["recommendation"]
    assert rec["rung"] == "lora_sft" and rec["meets_target"]  # 115 + 0.5 build < 180
    assert rec["cost_at_volume"] == pytest.approx(115.5)
    _climb(store, run_id="run2", lora_build_money=100.0)  # now 115 + 100 > 180
    rec = summarize(store, "run2")["recommendation"]
    assert rec["rung"] == "few_shot" and "few_shot" in rec["reason"]


def test_recommendation_without_a_rung_meeting_the_target(store):
    _climb(store, spec=_spec(value=0.995))  # only lora_sft (1.0) meets it
    assert summarize(store, "run1")["recommendation"]["rung"] == "lora_sft"
    store.start_run("r", "toy", "t.yaml", "h", _spec(value=0.99), "m")
    _add(store, "r", 0, "zero_shot", "prompt", _rows([(True, True), (False, True)], 10, 5))
    _add(store, "r", 1, "few_shot", "prompt", _rows([(True, False), (True, False)], 50, 5))
    rec = summarize(store, "r")["recommendation"]
    assert rec["rung"] == "zero_shot" and not rec["meets_target"]
    assert rec["reason"].startswith("no rung meets the target")


def test_write_report_files(store, tmp_path):
    _climb(store)
    out = tmp_path / "runs" / "run1"
    paths = write_report(store, "run1", out)
    assert set(paths) == {"html", "md", "png", "json"}
    for p in paths.values():
        assert p.exists() and p.parent == out
    assert {p.name for p in paths.values()} == {"report.html", "report.md", "frontier.png", "summary.json"}
    summary = json.loads(paths["json"].read_text())
    assert summary["frontier"] == ["zero_shot", "lora_sft"]
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    html = paths["html"].read_text()
    for name in ("zero_shot", "few_shot", "bloated", "lora_sft"):
        assert name in html
    assert "data:image/png;base64,iVBOR" in html
    assert "<details>" in html and "N = (0.5 - 0) / (0.18 - 0.115 per request" in html
    assert "question &lt;1&gt; &amp; more" in html and "question <1>" not in html  # autoescaped
    # sentences shared with report.md keep markdown's code spans; the page shows them as code
    assert "<code>overall for target</code>" in html and "`" not in html
    md = paths["md"].read_text()
    assert "| zero_shot |" in md and "N = (0.5 - 0) / (0.18 - 0.115 per request" in md
    # the interval method is named, and errors and coverage are shown per rung
    assert "Wilson score 95% intervals" in md and "Wilson score 95% intervals" in html
    assert summary["run"]["interval_method"] == "Wilson score"
    assert "| rung | kind | status | n | errors | coverage | overall for target (95% CI) |" in md
    assert "| bloated | prompt | ok | 4 | 1 (other: 1) | 75.0% | 50.0% [" in md  # errors with their codes
    # the diagnosis: counts per class per rung, and the recommendation with its next step
    assert "## Diagnosis" in md and "| rung | n | form | knowledge | error | dominant |" in md
    assert "| zero_shot | 4 | 1 | 1 | 0 | form |" in md and "| bloated | 4 | 0 | 1 | 1 | knowledge |" in md
    assert "- Recommended rung (target scenario): lora_sft" in md and "Next step:" in md
    assert "| rung | form_check | knowledge_check |" in md and "| bloated | 100.0% | 66.7% |" in md
    assert "<h2>Checks</h2>" in html and "knowledge_check = knowledge" in html


def test_plot_with_all_costs_zero(store, tmp_path):
    free = {"currency": "USD", "input_per_1k": 0.0, "output_per_1k": 0.0, "train_per_hour": 0.0}
    _climb(store, spec=_spec(prices=free))
    s = summarize(store, "run1")
    assert all(r["cost_per_1k_requests"] == 0 for r in s["rungs"])
    assert s["frontier"] == ["lora_sft"]  # same cost, best quality
    assert break_even_requests(0.0, 250 * 0.0, 0.5, 0.0) is None and s["break_even"][0]["requests"] is None
    png = plot_frontier(s, tmp_path / "free.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert write_report(store, "run1", tmp_path / "free")["html"].exists()


def test_report_of_a_run_without_results(store, tmp_path):
    store.start_run("empty", "toy", "t.yaml", "h", _spec(), "m")
    store.add_rung_result(RungRecord("empty", 0, "zero_shot", "prompt", {}, status="failed", error="boom"))
    s = summarize(store, "empty")
    assert s["frontier"] == [] and s["recommendation"]["rung"] is None
    assert s["rungs"][0]["overall_accuracy"] is None and s["rungs"][0]["cost_per_1k_requests"] is None
    paths = write_report(store, "empty", tmp_path / "empty")
    assert paths["png"].read_bytes().startswith(b"\x89PNG") and "boom" in paths["html"].read_text()


def test_every_markdown_heading_follows_a_blank_line(store, tmp_path):
    # the notes under the rungs table (a failed rung's error, a rung stopped early) are a list: a
    # heading right after it is read as part of the list by some renderers
    store.start_run("notes", "toy", "t.yaml", "h", _spec(), "m")
    store.add_rung_result(RungRecord("notes", 0, "zero_shot", "prompt", {}, eval_stop="stopped after 4 rows"),
                          _rows([(True, False)] * 4, 100, 20))
    store.add_rung_result(RungRecord("notes", 1, "few_shot", "prompt", {}, status="failed", error="boom"))
    md = write_report(store, "notes", tmp_path / "notes")["md"].read_text().splitlines()
    assert "- zero_shot: stopped after 4 rows (`--exhaustive` scores every row)" in md and "- few_shot error: `boom`" in md
    headings = [i for i, line in enumerate(md) if line.startswith("#")]
    assert len(headings) > 3 and all(md[i - 1] == "" for i in headings[1:])


def test_the_report_shows_what_ran_where(store, tmp_path):
    from ladder.provenance import run_environment

    environment = run_environment(seed=11)
    store.start_run("env", "toy", "t.yaml", "h", _spec(), "m", environment=environment)
    store.finish_run("env", "done")
    paths = write_report(store, "env", tmp_path / "env")
    assert json.loads(paths["json"].read_text())["environment"] == environment
    md, html = paths["md"].read_text(), paths["html"].read_text()
    assert "## Environment" in md and "<h2>Environment</h2>" in html
    torch_version = environment["libraries"]["torch"]
    assert f"| torch | {torch_version} |" in md and f"<td>{torch_version}</td>" in html
    assert "| seed | 11 |" in md and f"| CPU | {environment['cpu_model']} |" in md
    assert f"| torch threads | {environment['torch_threads']} |" in md
    assert "| not recorded |" not in md


def test_a_run_from_before_environments_reports_them_not_recorded(tmp_path):
    import sqlite3

    from ladder.tracking.migrations import MIGRATIONS, apply_migrations
    from ladder.tracking.store import STORE_FILE

    path = tmp_path / "runs" / STORE_FILE
    path.parent.mkdir()
    old = sqlite3.connect(path, isolation_level=None)
    saved = MIGRATIONS[:]
    MIGRATIONS[:] = MIGRATIONS[: [n for n, _ in MIGRATIONS].index("m005_run_environment")]
    try:
        apply_migrations(old)
    finally:
        MIGRATIONS[:] = saved
    old.execute("INSERT INTO runs VALUES ('old', 'toy', 't.yaml', 'h', ?, 'm', '2026-01-02T03:04:05+00:00',"
                " NULL, 'finished')", (json.dumps(_spec()),))
    old.close()
    with Store(tmp_path / "runs") as store:
        paths = write_report(store, "old", tmp_path / "old")
    assert json.loads(paths["json"].read_text())["environment"] is None
    md = paths["md"].read_text()
    assert "## Environment" in md and "| torch | not recorded |" in md and "| seed | not recorded |" in md
    assert "<td>not recorded</td>" in paths["html"].read_text()


def test_a_run_recorded_before_selection_splits_reads_not_recorded(store, tmp_path):
    _climb(store)  # _spec() has no `selection` key, like every run stored before it existed
    s = summarize(store, "run1")
    assert not s["run"]["selection"]["recorded"] and "not recorded" in s["run"]["selection"]["text"]
    md = write_report(store, "run1", tmp_path / "old")["md"].read_text()
    assert "- selection: selection split not recorded" in md and "optimistic" in md


def test_without_a_split_the_winner_is_called_optimistic(store, tmp_path):
    _climb(store, spec={**_spec(), "selection": None})
    s = summarize(store, "run1")
    assert s["run"]["selection"]["recorded"] and s["run"]["selection"]["optimistic"]
    assert any("optimistic" in n for n in s["recommendation"]["notes"])
    paths = write_report(store, "run1", tmp_path / "new")
    assert "no selection split configured" in paths["md"].read_text()
    assert "no selection split configured" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["run"]["selection"]["optimistic"] is True


def test_chosen_on_dev_rows_reported_on_test_rows(store, tmp_path):
    """The rung is chosen on the dev rows; its reported figures, interval and comparisons come from
    the test rows only, and the gap between the two is reported."""
    T, F = True, False
    dev = [f"ex{i}" for i in range(4)]
    store.start_run("r", "toy", "t.yaml", "h", {**_spec(value=0.75), "selection": {"dev_ids": dev}}, "m")
    # lucky: perfect on dev, 2 of 6 on test; steady: 3 of 4 on dev, 5 of 6 on test (and dearer)
    _add(store, "r", 0, "lucky", "prompt", _rows([(T, T)] * 4 + [(T, T)] * 2 + [(T, F)] * 4, 100, 20))
    _add(store, "r", 1, "steady", "prompt", _rows([(T, T)] * 3 + [(T, F)] + [(T, T)] * 5 + [(T, F)], 300, 20))
    s = summarize(store, "r")
    r = _by_rung(s)
    assert (r["lucky"]["n"], r["lucky"]["n_dev"]) == (6, 4)
    assert r["lucky"]["dev_quality"] == 1.0 and r["lucky"]["quality"] == pytest.approx(2 / 6)
    assert r["lucky"]["quality_ci"] == list(wilson_interval(2, 6))
    rec = s["recommendation"]
    assert rec["rung"] == "lucky" and not rec["meets_target"]  # chosen on dev (cheapest meeting), fails on test
    assert rec["dev_test_gap"] == pytest.approx(1.0 - 2 / 6)
    assert any("dev-test gap of +66.7 points" in n for n in rec["notes"])
    (c,) = rec["comparisons"]
    assert c["n"] == 6 and c["rungs"] == ["lucky", "steady"] and (c["only_a"], c["only_b"]) == (0, 3)
    md = write_report(store, "r", tmp_path / "split")["md"].read_text()
    assert "rungs are chosen on 4 dev rows" in md and "dev (chosen on)" in md



def test_the_retrieval_gain_is_a_paired_comparison_of_the_rag_row_chosen_on_dev():
    from ladder.report.retrieval import comparison_lines, comparisons

    def entry(name, position, knowledge, dev_knowledge, retrieval):
        return {"rung": name, "position": position, "status": "ok", "knowledge_accuracy": knowledge,
                "dev_knowledge_accuracy": dev_knowledge, "retrieval": {"k": 3} if retrieval else None}

    rows = [f"t{i}" for i in range(30)]

    def passing(k):
        return {"knowledge": {r: i < k for i, r in enumerate(rows)}}

    # rag_b is better on the test rows, but rag_a was better on dev: the choice is rag_a's
    rungs = [entry("zero_shot", 0, 0.2, 0.2, False), entry("few_shot", 1, 0.3, 0.3, False),
             entry("rag_a", 2, 0.5, 0.9, True), entry("rag_b", 3, 0.8, 0.6, True)]
    passes = {"zero_shot": passing(6), "few_shot": passing(9), "rag_a": passing(15), "rag_b": passing(24)}
    found = comparisons(rungs, passes)
    assert [(c["rung"], c["baseline"]) for c in found] == [("rag_a", "zero_shot"), ("rag_a", "few_shot")]
    assert all(c["n"] == 30 and c["p_adjusted"] is not None for c in found)  # two comparisons: Holm
    assert (found[0]["only_a"], found[0]["only_b"]) == (9, 0)
    lines = comparison_lines({"comparisons": found})
    assert "best of 2 retrieval rung(s)" in lines[0] and "Holm-adjusted" in lines[0]
    assert lines[1].startswith("rag_a - zero_shot: +30.0 points [95% CI ")


def test_the_fine_tuned_prices_are_named_in_the_report(store, tmp_path):
    _climb(store, spec=_spec(prices={**PRICES, "finetuned_input_per_1k": 1.0}))
    md = write_report(store, "run1", tmp_path / "ft")["md"].read_text()
    assert "2 per training hour; a fine-tuned model: 1 per 1K prompt tokens (assumptions" in md


def test_a_baseline_row_is_shown_but_never_chosen(store):
    """random_baseline answers for free and may score well on a lopsided label set: it is a
    reference line in the table, never the recommendation, a frontier point or a break-even partner."""
    T = True
    _climb(store)
    _add(store, "run1", 9, "random_baseline", "baseline", _rows([(T, T)] * 4, 0, 0))
    s = summarize(store, "run1")
    assert _by_rung(s)["random_baseline"]["quality"] == 1.0  # measured and shown
    assert s["recommendation"]["rung"] != "random_baseline"
    assert "random_baseline" not in s["frontier"]
    assert all("random_baseline" not in (b.get("baseline_rung"), b.get("finetune_rung")) for b in s["break_even"])


def test_the_advice_of_an_unfinished_run_says_it_covers_only_the_rungs_recorded(store):
    _climb(store)  # finished
    assert not any("did not finish" in n for n in summarize(store, "run1")["recommendation"]["notes"])
    store.finish_run("run1", "interrupted")
    notes = summarize(store, "run1")["recommendation"]["notes"]
    assert notes[0].startswith("this run did not finish (interrupted): the figures and the advice cover only the 4")


def test_how_a_fine_tune_was_built_is_in_every_report_format(store, tmp_path):
    # a bar left at 9/36 steps reads as a cut-short training unless the report says it stopped early
    note = "9 of 36 planned steps, final loss 0.2656; stopped early at step 9, where every held-out item passed"
    store.start_run("built", "toy", "t.yaml", "h", _spec(), "m")
    store.add_rung_result(RungRecord("built", 0, "zero_shot", "prompt", {}), _rows([(True, False)] * 4, 100, 20))
    store.add_rung_result(RungRecord("built", 1, "lora_sft", "finetune", {}, build_seconds=19.0, build_notes=note),
                          _rows([(True, True)] * 4, 50, 20))
    paths = write_report(store, "built", tmp_path / "built")
    rungs = {r["rung"]: r for r in json.loads(paths["json"].read_text())["rungs"]}
    assert (rungs["zero_shot"]["build_notes"], rungs["lora_sft"]["build_notes"]) == (None, note)
    md = paths["md"].read_text()
    assert f"- lora_sft build: {note}" in md.splitlines() and "zero_shot build" not in md
    html = paths["html"].read_text()
    assert f"<strong>lora_sft</strong> build: {note}</p>" in html and "zero_shot</strong> build" not in html
    # no rung to break even against: the reason is a sentence, not set as a formula
    assert "- **lora_sft**: no cheaper-to-build rung than lora_sft reaches the target" in md
    assert "no cheaper-to-build rung" in html and "<code>no cheaper" not in html


def test_a_code_span_becomes_code_and_everything_else_is_escaped():
    from ladder.report.render import inline_code

    assert inline_code("set `teacher:` <now> & `a<b>`") == (
        "set <code>teacher:</code> &lt;now&gt; &amp; <code>a&lt;b&gt;</code>")
    assert inline_code("a lone ` stays") == "a lone ` stays"
