"""`ladder serve` keeps its files, fine-tuning jobs, ft: model ids and batches across a restart:
a real server subprocess on 127.0.0.1 is stopped and started again on the same --data-dir. It
serves the tiny model of tests/training/tiny.py (the default model's shape and tokenizer, one
narrow layer), so the one-step fine-tune takes milliseconds; answers are a few tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from ladder.backends.local_models import adapter_sha256
from ladder.serve.launch import running_server

pytestmark = pytest.mark.slow


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def chat(n: int) -> dict:
    return {"messages": [{"role": "user", "content": f"Code word {n}?"}, {"role": "assistant", "content": f"ZEBRA-{n}"}]}


def wait(until, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while not (found := until()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return found


def test_files_jobs_models_and_batches_survive_a_restart(tmp_path, tiny_model_dir):
    data = tmp_path / "serve"
    MODEL = str(tiny_model_dir)  # noqa: N806 - the model id is the folder's path
    args = ("--data-dir", str(data), "--model", MODEL, "--rank", "4", "--batch-size", "4", "--max-tokens", "16")
    train = [chat(n) for n in range(9)] + [{"messages": [
        {"role": "user", "content": "Code word 9?"}, {"role": "assistant", "content": "wrong", "weight": 0},
        {"role": "user", "content": "Again?"}, {"role": "assistant", "content": "ZEBRA-9"}]}]
    train_path = jsonl(tmp_path / "train.jsonl", train)
    valid_path = jsonl(tmp_path / "valid.jsonl", [chat(n) for n in range(10, 13)])

    with running_server(*args, log=tmp_path / "first.log") as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        train_file = client.files.create(file=(train_path.name, train_path.read_bytes()), purpose="fine-tune")
        valid_file = client.files.create(file=(valid_path.name, valid_path.read_bytes()), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model=MODEL, training_file=train_file.id, validation_file=valid_file.id, suffix="keep",
            method={"type": "supervised", "supervised": {"hyperparameters": {
                "n_epochs": 1, "batch_size": 10, "learning_rate_multiplier": 5}}})
        job = wait(lambda: (j := client.fine_tuning.jobs.retrieve(job.id)).status in ("succeeded", "failed") and j)
        assert job.status == "succeeded", job.error
        model_id = job.fine_tuned_model
        events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
        valid_losses = [e.data["valid_loss"] for e in events if e.data and "valid_loss" in e.data]
        assert len(valid_losses) == 1 and valid_losses[0] > 0
        lines = [{"custom_id": f"request-{i}", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": m, "max_tokens": 4, "temperature": 0,
                           "messages": [{"role": "user", "content": f"Code word {i}?"}]}}
                 for i, m in enumerate([MODEL, model_id, MODEL])]
        batch_input = client.files.create(file=("in.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode()),
                                          purpose="batch")
        batch = client.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                                      completion_window="24h")
    # stopped: whatever the batch had done is in the state; the rest is answered after the restart

    with running_server(*args, log=tmp_path / "second.log") as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        assert {train_file.id, valid_file.id, batch_input.id} <= {f.id for f in client.files.list().data}
        assert client.files.content(train_file.id).read() == train_path.read_bytes()
        again = client.fine_tuning.jobs.retrieve(job.id)
        assert again.status == "succeeded" and again.fine_tuned_model == model_id
        assert again.validation_file == valid_file.id
        assert any("valid_loss" in (e.data or {}) for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data)
        assert model_id in [m.id for m in client.models.list().data]
        reply = client.chat.completions.create(model=model_id, max_tokens=4, temperature=0,
                                               messages=[{"role": "user", "content": "Code word 3?"}])
        adapter = data / "adapters" / job.id
        assert reply.system_fingerprint.endswith(f"+lora:{adapter_sha256(str(adapter))[:16]}")

        done = wait(lambda: (b := client.batches.retrieve(batch.id)).status in ("completed", "failed") and b)
        assert done.status == "completed" and done.request_counts.total == 3 and done.request_counts.completed == 3
        assert done.error_file_id is None
        results = [json.loads(x) for x in client.files.content(done.output_file_id).read().decode().splitlines()]
        assert sorted(r["custom_id"] for r in results) == ["request-0", "request-1", "request-2"]
        for r in results:
            assert r["response"]["status_code"] == 200 and r["error"] is None
            assert r["response"]["request_id"].startswith("req_")
            assert r["response"]["body"]["object"] == "chat.completion"
            assert 0 < r["response"]["body"]["usage"]["completion_tokens"] <= 4
        by_id = {r["custom_id"]: r["response"]["body"] for r in results}
        assert by_id["request-1"]["model"] == model_id
        assert by_id["request-1"]["system_fingerprint"] == reply.system_fingerprint
        assert [b.id for b in client.batches.list().data] == [batch.id]
        check_batch_client(url, MODEL, batch.id)


def check_batch_client(url: str, model: str, done_batch: str) -> None:
    """ladder's batch client against this server: answers mapped back by custom_id; a refused
    request (the error file) and a request the batch has no line for are errors, not dropped."""
    from ladder.backends.batch import BatchBackend, MemoryLedger, RemoteBatch, request_lines, to_jsonl
    from ladder.backends.endpoints import Endpoint
    from ladder.backends.openai_compat import OpenAICompatBackend
    from ladder.types import GenerationParams, Message, content_hash

    live = OpenAICompatBackend(Endpoint(name="custom", base_url=url, key_required=False), model, base_url=url)
    ledger = MemoryLedger()
    batch = BatchBackend(live, poll_s=0.2, ledger=ledger)
    chats = [(Message("user", f"Code word {i}?"),) for i in range(3)]
    gens = batch.generate(chats, GenerationParams(max_new_tokens=4))
    assert [g.error for g in gens] == [None] * 3 and all(0 < g.completion_tokens <= 4 for g in gens)
    assert len(batch.submitted) == 1 and ledger.remote_batch(next(iter(ledger._batches))).status == "completed"

    refused = batch.generate(chats[:2], GenerationParams(max_new_tokens=32))  # over the server's --max-tokens 16
    assert all(g.error and g.error.startswith("HTTP 400: max_tokens: at most 16") for g in refused)

    # a batch found in the ledger that answered request-0..2, asked for four: the fourth is an
    # error naming the batch, never dropped
    four = chats + [(Message("user", "one more"),)]
    params = GenerationParams(max_new_tokens=4)
    key = content_hash(live.fingerprint(), to_jsonl(request_lines(model, four, params)).decode())
    ledger.save_remote_batch(RemoteBatch(key=key, host="h", model=model, batch_id=done_batch, input_file_id="f",
                                         requests=4, status="completed"))
    mapped = batch.generate(four, params)
    assert [g.error is None for g in mapped] == [True, True, True, False]
    assert mapped[3].error.startswith(f"batch_missing: batch {done_batch} ended completed")
