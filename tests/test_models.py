"""task.yaml `models:`: the climb climbs every rung on each listed model, rows named
`<rung>@<label>`, each row recording the model that answered and the prices it is costed at, so
the frontier and the recommendation compare models x rungs at each model's own prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder.report.summary import summarize
from ladder.task import load_task
from ladder.task.spec import TaskSpec
from ladder.tracking.store import RungRecord, Store
from ladder.types import Assessment, Example, ExampleResult, Generation


def _spec(**extra) -> TaskSpec:
    return TaskSpec.model_validate({"data": {"eval": "eval.jsonl"}, **extra})


def test_models_first_is_the_task_model_and_labels_name_rows():
    spec = _spec(models=[{"backend": "local"}, {"backend": "local", "path": "big/model.gguf"},
                         {"backend": "openai", "endpoint": "openai", "name": "gpt-4o-mini", "label": "mini"}])
    assert spec.model.name == "smollm2-135m-instruct" and spec.model.backend == "local"
    assert [m.display_label for m in spec.models] == ["smollm2-135m-instruct", "model", "mini"]
    # the run stores the spec as JSON; it must read back as the same spec
    assert TaskSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_models_prices_own_then_endpoint_then_task():
    spec = _spec(prices={"input_per_1k": 0.1, "output_per_1k": 0.2, "train_per_hour": 3.0},
                 models=[{"backend": "local", "prices": {"input_per_1k": 0.01, "output_per_1k": 0.02}},
                         {"backend": "openai", "endpoint": "openai", "name": "gpt-4o-mini"},
                         {"backend": "local", "label": "other"}])
    own, listed, task = (spec.prices_of(m) for m in spec.models)
    assert (own.input_per_1k, own.output_per_1k) == (0.01, 0.02)
    from ladder.backends.endpoints import get_endpoint

    price = get_endpoint("openai").price("gpt-4o-mini")
    assert (listed.input_per_1k, listed.output_per_1k) == (price.input_per_1k, price.output_per_1k)
    assert listed.finetuned_input_per_1k == price.finetuned_input_per_1k and listed.train_per_hour == 3.0
    assert task == spec.prices


@pytest.mark.parametrize("extra, message", [
    ({"model": {"name": "other"}, "models": [{"backend": "local"}, {"backend": "local", "label": "b"}]},
     "not both"),
    ({"models": [{"backend": "local"}, {"backend": "local"}]}, "more than one model"),
    ({"models": [{"backend": "local"}]}, "at least 2"),
    ({"models": [{"backend": "local"}, {"backend": "local", "label": "b", "prices": {"currency": "EUR"}}]},
     "currency"),
    ({"models": [{"backend": "local"}, {"backend": "local", "label": "a@b"}]}, "pattern"),
])
def test_models_refuses(extra, message):
    with pytest.raises(ValueError, match=message):
        _spec(**extra)


def _rows(tokens: tuple[int, int], passed: list[bool]) -> list[ExampleResult]:
    return [ExampleResult(Example(id=f"e{i}", input=f"q{i}", expected="a"), "[]",
                          Generation(text="a", prompt_tokens=tokens[0], completion_tokens=tokens[1], latency_s=0.1),
                          (Assessment("answer", "knowledge", "code", "exact", passed=p),))
            for i, p in enumerate(passed)]


def test_each_row_is_costed_at_its_own_models_prices_and_the_larger_model_can_win(tmp_path):
    """A small model fine-tuned (dear to build, cheap per request) against a larger model with the
    instructed prompt (nothing to build, dearer per request): at a small volume the larger model is
    cheaper overall and is recommended; at a large one the fine-tune is."""
    small = {"currency": "USD", "input_per_1k": 0.001, "output_per_1k": 0.002, "train_per_hour": 10.0}
    large = {**small, "input_per_1k": 0.01, "output_per_1k": 0.02}
    spec = _spec(prices=small, volume=1000, target={"metric": "knowledge", "value": 0.7},
                 models=[{"backend": "local", "label": "small"},
                         {"backend": "local", "label": "large", "prices": large}])
    with Store(tmp_path / "runs") as store:
        store.start_run("r", "toy", "task.yaml", "h", spec.model_dump(mode="json"), "m")
        store.add_rung_result(RungRecord("r", 0, "instructed@small", "prompt", {}, model="small", prices=small),
                              _rows((100, 10), [True, False, False, False]))
        store.add_rung_result(RungRecord("r", 1, "lora_sft@small", "finetune", {}, build_money=5.0, model="small",
                                         prices=small), _rows((20, 10), [True, True, True, True]))
        store.add_rung_result(RungRecord("r", 2, "instructed@large", "prompt", {}, model="large", prices=large),
                              _rows((100, 10), [True, True, True, True]))
        rows = {r.rung: r for r in store.rung_results("r")}
        assert rows["instructed@large"].model == "large" and rows["instructed@large"].prices == large
        summary = summarize(store, "r")
        by = {r["rung"]: r for r in summary["rungs"]}
        assert by["instructed@large"]["model"] == "large"
        # per 1K requests: 100 input and 10 output tokens each, at each row's own prices
        assert by["instructed@large"]["cost_per_1k_requests"] == pytest.approx(100 * 0.01 + 10 * 0.02)
        assert by["instructed@small"]["cost_per_1k_requests"] == pytest.approx(100 * 0.001 + 10 * 0.002)
        assert summary["recommendation"]["rung"] == "instructed@large"
        from ladder.diagnosis import AdviceOptions

        assert summarize(store, "r", AdviceOptions(volume=10_000_000))["recommendation"]["rung"] == "lora_sft@small"


@pytest.mark.slow
def test_a_climb_of_two_models_one_served_over_http(tiny_task: Path, backend, ladder_server, monkeypatch, tmp_path):
    """`models:` [the local default, the same weights served by `ladder serve` (a real server on
    127.0.0.1) with prices of its own]: both climb the prompt rungs, the served one's fine-tune
    is skipped with its reason, and the report has points for both at their own prices."""
    monkeypatch.setenv(ladder_server.key_env, ladder_server.key)
    served = {"currency": "USD", "input_per_1k": 0.05, "output_per_1k": 0.1}
    text = tiny_task.read_text().replace(
        "model:\n  backend: local\n  name: smollm2-135m-instruct\n",
        "models:\n  - {backend: local, label: small}\n"
        f"  - {{backend: openai, base_url: '{ladder_server.base_url}', name: smollm2-135m-instruct, "
        f"api_key_env: {ladder_server.key_env}, label: served, prices: {served}}}\n",
    ).replace("max_new_tokens: 24", "max_new_tokens: 8").replace("  few_shot: {k: 3}\n", "")
    assert "label: served" in text
    tiny_task.write_text(text)
    eval_file = tiny_task.parent / "data" / "eval.jsonl"
    eval_file.write_text("\n".join(eval_file.read_text().splitlines()[:3]) + "\n")
    task = load_task(tiny_task)

    from ladder.climb import climb
    from ladder.report.frontier import plot_frontier

    with Store(tmp_path / "runs") as store:
        result = climb(task, store, backend, all_rungs=True, exhaustive=True)
        rows = {r.rung: r for r in store.rung_results(result.run_id)}
        assert {n: r.status for n, r in rows.items()} == {
            "zero_shot@small": "ok", "instructed@small": "ok", "lora_sft@small": "ok",
            "zero_shot@served": "ok", "instructed@served": "ok", "lora_sft@served": "skipped"}
        assert "served by an endpoint" in rows["lora_sft@served"].candidate["description"]
        assert {r.model for r in rows.values()} == {"small", "served"}
        assert rows["instructed@served"].prices["input_per_1k"] == served["input_per_1k"]
        # the served rows were answered over HTTP (the server names what answered), the local ones not
        served_gens = store.generations(rows["instructed@served"].id)
        assert len(served_gens) == 3 and all(g.response_model for g in served_gens if g.error is None)
        assert not any(g.response_model for g in store.generations(rows["instructed@small"].id))

        summary = summarize(store, result.run_id)
        points = [r for r in summary["rungs"] if r["quality"] is not None and r["cost_per_1k_requests"] is not None]
        assert {r["model"] for r in points} == {"small", "served"}
        for r in points:
            prices = served if r["model"] == "served" else task.spec.prices.model_dump()
            want = r["prompt_tokens"] * prices["input_per_1k"] + r["completion_tokens"] * prices["output_per_1k"]
            assert r["cost_per_1k_requests"] == pytest.approx(want)  # no finetuned_* prices: the base's
        assert summary["recommendation"]["rung"] in {r["rung"] for r in points}
        png = plot_frontier(summary, tmp_path / "frontier.png")
        assert png.stat().st_size > 0
