"""`ladder serve` speaks the OpenAI wire format, and the managed fine-tuning flow works end to end
against it: validate -> upload -> job -> poll -> a model id that /v1/chat/completions answers
with the trained adapter. Real server subprocess (the `ladder_server` fixture), real SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from ladder.backends.local_models import adapter_sha256

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "examples" / "balance-shift" / "data" / "train.jsonl"


def api(server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {server.key}"}, timeout=120)


def sdk(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=server.key, max_retries=0)


def train_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(TRAIN.read_text().splitlines()[:n]) + "\n")
    return path


def wait(client: openai.OpenAI, job_id: str, timeout_s: float = 300) -> object:
    deadline = time.monotonic() + timeout_s
    while (job := client.fine_tuning.jobs.retrieve(job_id)).status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job still {job.status}"
        time.sleep(0.3)
    return job


def test_auth_models_and_error_shape(ladder_server):
    r = httpx.get(f"{ladder_server.base_url}/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert ladder_server.key not in r.text
    models = sdk(ladder_server).models.list()
    assert "smollm2-135m-instruct" in [m.id for m in models.data]
    with api(ladder_server) as c:
        bad = c.post("/chat/completions", json={"model": "smollm2-135m-instruct"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"
        for extra, param in (({"stream": True}, "stream"), ({"n": 2}, "n")):
            r = c.post("/chat/completions", json={"model": "smollm2-135m-instruct",
                                                  "messages": [{"role": "user", "content": "hi"}], **extra})
            assert r.status_code == 400 and r.json()["error"]["param"] == param
        r = c.post("/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_chat_completion_wire_format(ladder_server):
    with api(ladder_server) as c:
        r = c.post("/chat/completions", json={
            "model": "smollm2-135m-instruct", "temperature": 0, "max_tokens": 6,
            "messages": [{"role": "developer", "content": "Be brief."},
                         {"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 0 < usage["completion_tokens"] <= 6
    assert body["system_fingerprint"].startswith("local:smollm2-135m-instruct:")


def test_files_api(ladder_server, tmp_path):
    client = sdk(ladder_server)
    path = train_file(tmp_path, 3)
    f = client.files.create(file=(path.name, path.open("rb")), purpose="fine-tune")
    assert f.object == "file" and f.purpose == "fine-tune" and f.bytes == path.stat().st_size
    assert f.id in [x.id for x in client.files.list().data]
    assert client.files.retrieve(f.id).filename == "train.jsonl"
    assert client.files.content(f.id).read() == path.read_bytes()
    assert client.files.delete(f.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(f.id)


def test_invalid_training_file_fails_the_job(ladder_server, tmp_path):
    client = sdk(ladder_server)
    lines = TRAIN.read_text().splitlines()[:12]
    lines[4] = '{"messages": [{"role": "user", "content": "no answer"}]}'
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    f = client.files.create(file=(path.name, path.open("rb")), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="smollm2-135m-instruct", training_file=f.id)
    assert job.status == "validating_files" and job.object == "fine_tuning.job"
    job = wait(client, job.id)
    assert job.status == "failed" and job.error.code == "invalid_training_file"
    assert "line:5" in job.error.message and job.fine_tuned_model is None
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.create(model="smollm2-135m-instruct", training_file=f.id,
                                       method={"type": "dpo", "dpo": {}})


def test_cancel_a_job(ladder_server, tmp_path):
    client = sdk(ladder_server)
    path = train_file(tmp_path, 10)
    f = client.files.create(file=(path.name, path.open("rb")), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="smollm2-135m-instruct", training_file=f.id)
    client.fine_tuning.jobs.cancel(job.id)
    job = wait(client, job.id)
    assert job.status == "cancelled" and job.fine_tuned_model is None
    assert job.id in [j.id for j in client.fine_tuning.jobs.list().data]


def test_managed_finetune_flow_end_to_end(ladder_server, tmp_path):
    """`ladder finetune-remote` -> a model id -> chat completions answered with that adapter."""
    data = tmp_path / "codes.jsonl"  # short examples: the job trains in seconds
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Code word {n}?"},
                                                     {"role": "assistant", "content": f"ZEBRA-{n}"}]}) + "\n"
                            for n in range(10)))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", ladder_server.key_env: ladder_server.key}
    r = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "finetune-remote", str(data), "--endpoint", "ladder-serve",
         "--base-url", ladder_server.base_url, "--api-key-env", ladder_server.key_env,
         "--model", "smollm2-135m-instruct", "--epochs", "1", "--batch-size", "10",
         "--learning-rate-multiplier", "5", "--suffix", "tiny", "--poll-s", "0.5", "--timeout-s", "300"],
        env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert ladder_server.key not in r.stdout + r.stderr
    model_id = r.stdout.split("fine_tuned_model: ")[1].split()[0]
    assert model_id.startswith("ft:smollm2-135m-instruct:ladder:tiny:")
    for step in ("validated", "uploaded", "created job", "Step 1/1: training loss=",
                 "New fine-tuned model created", "successfully completed"):
        assert step in r.stderr, step

    client = sdk(ladder_server)
    (job,) = [j for j in client.fine_tuning.jobs.list(limit=100).data if j.fine_tuned_model == model_id]
    assert job.status == "succeeded" and job.trained_tokens > 0 and job.hyperparameters.n_epochs == 1
    metrics = client.files.content(job.result_files[0]).read().decode().splitlines()
    assert metrics[0] == "step,train_loss" and len(metrics) == 2
    assert model_id in [m.id for m in client.models.list().data]

    # The fine-tuned id is answered by the base weights + this job's adapter.
    adapter = ladder_server.data_dir / "adapters" / job.id
    reply = client.chat.completions.create(model=model_id, max_tokens=8, temperature=0,
                                           messages=[{"role": "user", "content": "Run a balance shift for A = 3 and B = 1."}])
    assert reply.system_fingerprint.endswith(f"+lora:{adapter_sha256(str(adapter))[:16]}")
    assert reply.choices[0].message.content and reply.usage.completion_tokens > 0


def test_cli_help(tmp_path):
    for cmd in ("serve", "finetune-remote"):
        r = subprocess.run([sys.executable, "-m", "ladder.cli", cmd, "--help"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"}, timeout=60)
        assert r.returncode == 0 and "Usage" in r.stdout, r.stderr
    assert "--api-key-env" in r.stdout and "--job" in r.stdout


def test_finetune_remote_rejects_bad_data_before_uploading(tmp_path):
    path = train_file(tmp_path, 3)
    env = {**os.environ, "COLUMNS": "300", "LADDER_SERVE_URL": "http://127.0.0.1:9/v1"}  # nothing listens: nothing may be sent
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "finetune-remote", str(path), "--endpoint", "ladder-serve",
                        "--model", "smollm2-135m-instruct"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "too_few_examples: 3 usable example(s); fine-tuning needs at least 10" in r.stderr
    # `ladder data validate`'s rules, and the OpenAI chat format only: alpaca rows are refused too
    alpaca = tmp_path / "alpaca.jsonl"
    alpaca.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(12))
                      + '{"messages": [{"role": "user", "content": "no answer"}]}\n')
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "finetune-remote", str(alpaca), "--endpoint", "ladder-serve",
                        "--model", "smollm2-135m-instruct"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"{alpaca}:13: no_assistant:" in r.stderr
    assert "format alpaca; only the OpenAI chat format" in r.stderr


def test_serve_refuses_an_unset_key_variable():
    env = {k: v for k, v in os.environ.items() if k != "LADDER_TEST_UNSET_KEY"}
    env["COLUMNS"] = "300"
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "serve", "--api-key-env", "LADDER_TEST_UNSET_KEY"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "LADDER_TEST_UNSET_KEY is not set" in r.stderr
