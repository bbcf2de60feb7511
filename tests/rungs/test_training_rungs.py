"""The training rungs: distill on the real model; the ablations' and dpo's data logic without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ladder.metrics.checks import make_check
from ladder.rungs import BY_NAME, RungContext, parse_options
from ladder.rungs.distill import passing
from ladder.rungs.dpo import read_pairs
from ladder.rungs.lora_sft_label_noise import noisy_answers
from ladder.rungs.lora_sft_short_instructions import LoraSFTShortInstructions, format_sentences
from ladder.rungs.prompt import ChatPrompt
from ladder.task import load_task
from ladder.tracking.cache import CachedBackend
from ladder.tracking.store import Store
from ladder.training.lora_sft import load_train_result
from ladder.types import Example, Generation, GenerationParams

ROOT = Path(__file__).resolve().parents[2]


def _examples(answers: list[str]) -> list[Example]:
    return [Example(id=str(i), input=f"q{i}", expected=a) for i, a in enumerate(answers)]


def test_label_noise_replaces_the_fraction_with_other_examples_answers():
    examples = _examples([f'{{"category": "c{i % 5}"}}' for i in range(20)])
    answers, replaced = noisy_answers(examples, 0.5, seed=3)
    wrong = [i for i, (ex, a) in enumerate(zip(examples, answers)) if a != ex.expected]
    assert replaced == len(wrong) == 10
    assert all(answers[i] in {ex.expected for ex in examples} for i in wrong)  # right form, wrong content
    assert noisy_answers(examples, 0.5, seed=3) == (answers, replaced)  # seeded
    assert noisy_answers(examples, 0.0, seed=3) == ([ex.expected for ex in examples], 0)
    same = _examples(["x"] * 4)
    assert noisy_answers(same, 1.0, seed=0) == (["x"] * 4, 0)  # nothing different to swap in


def test_format_sentences_keep_only_what_says_the_answers_form():
    text = "You apply the balance method.\nGiven A and B, compute S.\nAnswer with three lines. Output JSON only!"
    assert format_sentences(text) == "Answer with three lines. Output JSON only!"
    assert format_sentences("Think hard. Be kind.") == ""


def test_short_definition_is_the_output_space_not_the_task():
    rung = LoraSFTShortInstructions()
    routing = load_task(ROOT / "examples/ticket-routing/task.yaml")
    definition, _ = rung.definition(RungContext(task=routing, backend=None, artifacts=Path()),
                                    parse_options(rung, {}))
    labels = {ex.expected for ex in routing.train}
    assert set(definition.splitlines()[1:]) == labels  # every label option, one a line
    assert "urgent" not in definition and "invoices" not in definition  # none of the instructions' semantics
    balance = load_task(ROOT / "examples/balance-shift/task.yaml")  # free-form answers: the format sentences
    ctx = RungContext(task=balance, backend=None, artifacts=Path())
    definition, source = rung.definition(ctx, parse_options(rung, {}))
    assert source == "the instructions' output-format sentences" and definition.startswith("Answer with exactly three lines")
    assert "You apply the balance shift method" not in definition
    assert rung.definition(ctx, parse_options(rung, {"definition": "Three lines."}))[0] == "Three lines."
    assert rung.definition(ctx, parse_options(rung, {"output_space": ["a", "b"]}))[0].splitlines()[1:] == ["a", "b"]


def test_distill_keeps_only_answers_that_pass_every_check():
    checks = (make_check("exact", name="num", tag="knowledge", extract=r"(\d+)"),)
    examples = _examples(["7", "8", "9"])
    gens = [Generation("it is 7", 5, 3, 0.1), Generation("it is 5", 5, 3, 0.1),
            Generation("", 5, 0, 0.1, "error", error="boom")]
    assert passing(examples, gens, checks) == [0]


def test_read_pairs_takes_both_shapes_and_names_bad_lines(tmp_path):
    good = tmp_path / "pairs.jsonl"
    good.write_text(
        json.dumps({"prompt": "Say hi", "chosen": "Hi!", "rejected": "No."}) + "\n\n"
        + json.dumps({"input": {"messages": [{"role": "user", "content": "Say bye"}]},
                      "preferred_output": [{"role": "assistant", "content": "Bye!"}],
                      "non_preferred_output": [{"role": "assistant", "content": "Hi."}]}) + "\n"
    )
    pairs = read_pairs(good)
    assert [(p.prompt[-1].content, p.chosen, p.rejected) for p in pairs] == [("Say hi", "Hi!", "No."), ("Say bye", "Bye!", "Hi.")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "x", "chosen": "a", "rejected": "b"}) + "\n{oops\n"
                   + json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}) + "\n")
    with pytest.raises(ValueError) as err:
        read_pairs(bad)
    assert f"{bad}:2: invalid JSON" in str(err.value) and f"{bad}:3: not a preference row" in str(err.value)


def test_training_rungs_reject_bad_options():
    from ladder.rungs import RungOptionsError

    with pytest.raises(RungOptionsError, match="rungs.lora_sft_label_noise.fraction"):
        parse_options(BY_NAME["lora_sft_label_noise"], {"fraction": 1.5})
    with pytest.raises(RungOptionsError, match="rungs.distill.teacher_rung"):
        parse_options(BY_NAME["distill"], {"teacher_rung": "rag"})


@pytest.mark.slow
def test_distill_trains_on_the_teachers_passing_answers(tmp_path: Path, backend):
    folder = tmp_path / "task"
    (folder / "data").mkdir(parents=True)
    names = ["Ada", "Bo", "Cy", "Di"]
    (folder / "data" / "train.jsonl").write_text("".join(
        json.dumps({"input": f"Greet {n} in one short sentence.", "expected": f"Hello, {n}!"}) + "\n" for n in names))
    (folder / "data" / "eval.jsonl").write_text(json.dumps({"input": "Greet Ed.", "expected": "Hello, Ed!"}) + "\n")
    (folder / "task.yaml").write_text(
        "name: greet\ndata: {train: data/train.jsonl, eval: data/eval.jsonl}\n"
        "prompts: {instructions: 'Answer with one short, friendly greeting that uses the name.'}\n"
        "generation: {max_new_tokens: 12}\n"
        "checks: [{name: says something, kind: regex, tag: form, pattern: '\\w'}]\n"
        "prices: {input_per_1k: 0.5, output_per_1k: 1.5, train_per_hour: 2.0}\n"
    )
    task = load_task(folder / "task.yaml")
    rung = BY_NAME["distill"]
    options = parse_options(rung, {"epochs": 3, "batch_size": 2, "rank": 4, "alpha": 8, "learning_rate": 0.003,
                                   "precision": "float32"})
    cached = CachedBackend(backend, Store(tmp_path / "runs"))  # as the climb gives it to the rung
    ctx = RungContext(task=task, backend=cached, artifacts=tmp_path / "artifacts")
    candidate = rung.prepare(ctx, options)
    assert (cached.hits, cached.misses) == (0, len(names))  # the teacher's calls go through the call cache

    result = load_train_result(Path(candidate.adapter))
    assert result is not None and result.steps == 6
    # 2 batches an epoch, of different answers: compare whole epochs, first against last
    assert sum(result.losses[-2:]) < sum(result.losses[:2]), result.losses
    b = [t for k, t in load_file(Path(candidate.adapter) / "adapter_model.safetensors").items() if "lora_B" in k]
    assert b and all(torch.count_nonzero(t) > 0 for t in b)
    # the student learned the teacher's answers (under the instructed prompt), not the references
    data = next((tmp_path / "artifacts" / "distill").glob("*.train.jsonl")).read_text().splitlines()
    taught = [json.loads(line)["messages"] for line in data]
    assert len(taught) == len(names)  # every non-empty answer passes the lone \w check
    assert all(m[-1]["role"] == "assistant" and m[0]["role"] == "user" for m in taught)  # zero-shot prompt
    assert [m[-1]["content"] for m in taught] != [f"Hello, {n}!" for n in names]
    # build money = training time + the teacher's tokens at the task's prices
    assert candidate.build.money > result.seconds / 3600 * 2.0
    again = rung.prepare(ctx, options)  # nothing asked or trained twice
    assert again.build.reused and again.adapter == candidate.adapter
    assert (cached.hits, cached.misses) == (len(names), len(names))
    assert again.build.money == candidate.build.money  # cached answers keep the tokens they cost


def test_distill_with_a_teacher_in_task_yaml_needs_the_teacher_backend(tiny_task: Path, backend):
    tiny_task.write_text(tiny_task.read_text() + "\nteacher: {backend: openai, endpoint: ladder-serve, name: big}\n")
    ctx = RungContext(task=load_task(tiny_task), backend=backend, artifacts=tiny_task.parent / "artifacts")
    with pytest.raises(ValueError, match="no teacher backend"):  # never the task's own model in its place
        BY_NAME["distill"].prepare(ctx, parse_options(BY_NAME["distill"], {}))


@pytest.mark.slow
def test_dpo_prices_the_answers_it_generates_to_build_its_pairs(tiny_task: Path, backend):
    """Issue 10 item 8: every model call a rung makes while preparing is build cost."""
    task = load_task(tiny_task)
    rung = BY_NAME["dpo"]
    options = parse_options(rung, {"sources": ["zero_shot", "instructed"]})
    ctx = RungContext(task=task, backend=backend, artifacts=tiny_task.parent / "artifacts")
    pairs, calls = rung._built_pairs(ctx, options)
    assert pairs, "the 135M model fails the balance-shift form on the training inputs"
    prices = task.spec.prices
    system = task.spec.prompts.system
    asked = [p.render(ex) for p in (ChatPrompt(system=system),
                                    ChatPrompt(system=system, instructions=task.spec.prompts.instructions))
             for ex in task.train]
    gens = backend.generate(asked, GenerationParams(max_new_tokens=task.spec.generation.max_new_tokens))
    tokens = sum(g.prompt_tokens + g.completion_tokens for g in gens)
    assert calls.call_tokens == tokens > 0
    assert calls.money == pytest.approx(sum(g.prompt_tokens for g in gens) / 1000 * prices.input_per_1k
                                        + sum(g.completion_tokens for g in gens) / 1000 * prices.output_per_1k)
    assert calls.seconds > 0
