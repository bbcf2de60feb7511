"""What `ladder serve` refuses before any model is asked: a foreign Host (DNS rebinding), a
non-loopback bind without a key, a missing key, oversize bodies and uploads, bad n_epochs, too
many training jobs, max_tokens over the cap; no CORS header; an internal error shows only a
request id. The app is driven in-process (FastAPI's TestClient) because no request here reaches
the model; the model is never loaded (LocalBackend loads lazily)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ladder.serve.app import ServeConfig, create_app, is_loopback

MODEL = "smollm2-135m-instruct"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def chat_file(n: int) -> bytes:
    return "".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                            {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                   for i in range(n)).encode()


@pytest.fixture()
def client(tmp_path):
    config = ServeConfig(data_dir=tmp_path, max_body_bytes=2_000, max_upload_bytes=3_000, max_tokens=64,
                         max_epochs=3, max_training_jobs=1)
    with TestClient(create_app(config), base_url="http://127.0.0.1:8321") as c:
        yield c


def upload(client, content: bytes, purpose: str = "fine-tune"):
    return client.post("/v1/files", files={"file": ("d.jsonl", content)}, data={"purpose": purpose})


def test_foreign_host_is_refused_and_no_cors(client):
    for host in ("evil.example", "evil.example:8321", "127.0.0.1.nip.io"):
        r = client.get("/v1/models", headers={"Host": host})
        assert r.status_code == 403 and r.json()["error"]["code"] == "host_not_allowed", host
    for host in ("127.0.0.1:8321", "localhost:8321", "localhost", "[::1]:8321"):
        r = client.get("/v1/models", headers={"Host": host, "Origin": "http://evil.example"})
        assert r.status_code == 200, host
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]
        assert r.headers["x-request-id"].startswith("req_")
    pre = client.options("/v1/chat/completions", headers={"Origin": "http://evil.example",
                                                          "Access-Control-Request-Method": "POST"})
    assert not [h for h in pre.headers if h.lower().startswith("access-control-")]


def test_non_loopback_needs_a_key():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(ValidationError, match="api-key-env"):
        ServeConfig(host="0.0.0.0")
    assert ServeConfig(host="0.0.0.0", api_key_env="SOME_KEY").host == "0.0.0.0"
    env = {**os.environ, "COLUMNS": "300"}
    r = subprocess.run([sys.executable, "-m", "ladder.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not loopback" in r.stderr and "--api-key-env" in r.stderr


def test_key_is_required_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("LADDER_TEST_GUARD_KEY", "sk-guard-test-123456")
    config = ServeConfig(data_dir=tmp_path, api_key_env="LADDER_TEST_GUARD_KEY", host="0.0.0.0",
                         allowed_hosts=("box.internal",))
    with TestClient(create_app(config), base_url="http://box.internal:8321") as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and "sk-guard" not in r.text
        assert c.get("/v1/models", headers={"Authorization": "Bearer sk-guard-test-123456"}).status_code == 200
        foreign = c.get("/v1/models", headers={"Authorization": "Bearer sk-guard-test-123456", "Host": "evil.example"})
        assert foreign.status_code == 403


def test_body_and_upload_caps(client):
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5_000}]}
    r = client.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    # a body sent without a Content-Length (chunked) is counted as it arrives
    r = client.post("/v1/chat/completions", content=iter([json.dumps(big).encode()]),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = upload(client, b"x" * 3_001)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    assert upload(client, b"x" * 3_000).status_code == 200  # exactly the cap is allowed
    r = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 65})
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens" and "at most 64" in r.text
    r = client.post("/v1/chat/completions", json={**CHAT, "max_completion_tokens": 1000})
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_completion_tokens"


def test_bad_n_epochs_and_job_cap(client):
    f = upload(client, chat_file(10)).json()
    for bad in (0, -1, 1.5, 2.0, "3", True, None, 4):
        body = {"model": MODEL, "training_file": f["id"], "hyperparameters": {"n_epochs": bad}}
        r = client.post("/v1/fine_tuning/jobs", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == "hyperparameters.n_epochs", bad
    r = client.post("/v1/fine_tuning/jobs", json={
        "model": MODEL, "training_file": f["id"],
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}})
    assert r.status_code == 400
    assert client.get("/v1/fine_tuning/jobs").json()["data"] == []
    # a job with a validation file that is not fine-tune data is refused before it is queued
    batch_file = upload(client, b"{}\n", purpose="batch").json()
    r = client.post("/v1/fine_tuning/jobs", json={"model": MODEL, "training_file": f["id"],
                                                  "validation_file": batch_file["id"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "validation_file"


def test_internal_error_shows_a_request_id_only(client, caplog):
    f = upload(client, b"secret-ish content\n").json()
    (client.app.state.data_dir / "files" / f["id"]).unlink()  # the bytes vanish under the server
    with caplog.at_level(logging.ERROR, logger="ladder.serve"):
        r = client.get(f"/v1/files/{f['id']}/content")
    assert r.status_code == 500
    message = r.json()["error"]["message"]
    request_id = r.headers["x-request-id"]
    assert request_id in message and "FileNotFoundError" not in r.text and str(client.app.state.data_dir) not in r.text
    logged = "\n".join(rec.getMessage() + (rec.exc_text or "") for rec in caplog.records)
    assert request_id in logged and "FileNotFoundError" in logged


def test_batch_input_is_validated(client):
    lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": CHAT},
             {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": CHAT},
             {"custom_id": "b", "method": "GET", "url": "/v1/embeddings", "body": CHAT}]
    f = upload(client, "".join(json.dumps(x) + "\n" for x in lines).encode() + b"not json\n", "batch").json()
    assert client.post("/v1/batches", json={"input_file_id": f["id"], "endpoint": "/v1/embeddings",
                                            "completion_window": "24h"}).status_code == 400
    batch = client.post("/v1/batches", json={"input_file_id": f["id"], "endpoint": "/v1/chat/completions",
                                             "completion_window": "24h"}).json()
    assert batch["object"] == "batch" and batch["status"] == "validating"
    import time

    for _ in range(100):
        batch = client.get(f"/v1/batches/{batch['id']}").json()
        if batch["status"] == "failed":
            break
        time.sleep(0.05)
    assert batch["status"] == "failed"
    codes = {(e["line"], e["code"]) for e in batch["errors"]["data"]}
    assert codes == {(2, "duplicate_custom_id"), (3, "invalid_method"), (3, "invalid_url"), (4, "invalid_json_line")}
