"""Endpoints are YAML data: the built-in file, user overrides, clear errors. No model, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder.backends.endpoints import EndpointError, get_endpoint, load_endpoints
from ladder.backends.openai_compat import MissingKey, OpenAICompatBackend, redact, resolve_endpoint


@pytest.fixture(autouse=True)
def no_user_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("LADDER_ENDPOINTS", raising=False)


def test_builtin_endpoints():
    eps = load_endpoints()
    assert {"openai", "azure", "vllm", "ollama", "llama-cpp", "ladder-serve"} <= set(eps)
    assert eps["azure"].kind == "azure" and eps["azure"].api_version
    assert eps["openai"].api_key_env == "OPENAI_API_KEY" and eps["openai"].key_required
    assert not eps["ollama"].key_required
    assert "approximate" in eps["openai"].prices_note and "2025" in eps["openai"].prices_note
    price = eps["openai"].price("gpt-4o-mini")
    assert price is not None and price.train_per_1k and price.input_per_1k < price.output_per_1k
    # a fine-tuned id falls back to its base model's listed price
    assert eps["openai"].price("ft:gpt-4o-mini:acme::abc123") == price
    assert eps["openai"].price("no-such-model") is None


def test_user_files_add_and_override(tmp_path, monkeypatch):
    user = tmp_path / "config" / "ladder" / "endpoints.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("mine:\n  base_url: http://10.0.0.5:9000/v1\n  key_required: false\n"
                    "vllm:\n  base_url: http://gpu-box:8000/v1\n")
    extra = tmp_path / "more.yaml"
    extra.write_text("mine:\n  base_url: http://10.0.0.6:9000/v1\n")
    monkeypatch.setenv("LADDER_ENDPOINTS", str(extra))
    eps = load_endpoints()
    assert eps["mine"].base_url == "http://10.0.0.6:9000/v1"  # the env file wins
    assert eps["mine"].key_required is False  # ... key by key: the rest comes from the earlier file
    assert eps["vllm"].base_url == "http://gpu-box:8000/v1"
    assert eps["vllm"].api_key_env == "VLLM_API_KEY"  # unchanged built-in key


def test_base_url_env_replaces_base_url(monkeypatch):
    monkeypatch.setenv("LADDER_SERVE_URL", "http://127.0.0.1:9999/v1")
    assert get_endpoint("ladder-serve").resolved_base_url() == "http://127.0.0.1:9999/v1"


def test_bad_files_name_file_and_key(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mine:\n  base_url: http://x/v1\n  api_key: sk-should-not-be-here\n")
    monkeypatch.setenv("LADDER_ENDPOINTS", str(bad))
    with pytest.raises(EndpointError, match=rf"{bad}: mine\.api_key: Extra inputs"):
        load_endpoints()
    bad.write_text("mine:\n  base_url: [unclosed\n")
    with pytest.raises(EndpointError, match=rf"{bad}:\d+: not valid YAML"):
        load_endpoints()
    monkeypatch.setenv("LADDER_ENDPOINTS", str(tmp_path / "missing.yaml"))
    with pytest.raises(EndpointError, match="missing.yaml: cannot read"):
        load_endpoints()


def test_unknown_endpoint_names_the_known_ones():
    with pytest.raises(EndpointError, match="unknown endpoint 'opnai'.*openai"):
        get_endpoint("opnai")


def test_resolve_and_missing_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    endpoint, key_env = resolve_endpoint(None, None, "OPENAI_API_KEY", False)
    assert endpoint.name == "openai" and key_env == "OPENAI_API_KEY"
    with pytest.raises(MissingKey, match="OPENAI_API_KEY is not set"):
        OpenAICompatBackend(endpoint, "gpt-4o-mini")
    custom, key_env = resolve_endpoint(None, "http://127.0.0.1:1/v1", "MY_KEY", True)
    assert custom.base_url == "http://127.0.0.1:1/v1" and key_env == "MY_KEY" and custom.key_required
    serve, key_env = resolve_endpoint("ladder-serve", None, "OPENAI_API_KEY", False)
    assert key_env == "LADDER_SERVE_API_KEY"
    backend = OpenAICompatBackend(serve, "smollm2-135m-instruct")  # no key needed for a local server
    assert backend.fingerprint() == "openai:127.0.0.1:8321:smollm2-135m-instruct"


def test_fingerprint_and_repr_never_hold_the_key(monkeypatch):
    secret = "sk-proj-SECRETVALUE0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    backend = OpenAICompatBackend(get_endpoint("openai"), "gpt-4o-mini")
    assert backend.fingerprint() == "openai:api.openai.com:gpt-4o-mini"
    assert "SECRETVALUE" not in repr(backend)
    # only the SDK client holds the key; none of the backend's own fields do
    assert all("SECRETVALUE" not in str(v) for k, v in vars(backend).items() if k != "_client")


def test_redact_masks_the_key_and_key_shapes():
    assert redact("bad key abc123XYZ given", "abc123XYZ") == "bad key *** given"
    assert "SECRET" not in redact("Incorrect API key provided: sk-proj-SECRET****abcd.", None)
    assert "tok3n" not in redact("header Authorization: Bearer tok3n", None)
    assert redact("a risk-free plan", None) == "a risk-free plan"


def test_task_yaml_builds_the_openai_backend(tiny_task: Path, monkeypatch):
    from ladder.backends import backend_for
    from ladder.task import load_task

    text = tiny_task.read_text().replace("  backend: local\n", "  backend: openai\n  endpoint: ladder-serve\n")
    tiny_task.write_text(text)
    backend = backend_for(load_task(tiny_task).spec.model)
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.fingerprint().startswith("openai:127.0.0.1:8321:")
    tiny_task.write_text(text.replace("endpoint: ladder-serve", "endpoint: nowhere"))
    with pytest.raises(EndpointError, match="model.endpoint: unknown endpoint 'nowhere'"):
        backend_for(load_task(tiny_task).spec.model)


def test_credentials_are_stripped_from_a_url_before_it_is_stored():
    from ladder.backends.endpoints import url_without_credentials

    assert url_without_credentials("https://user:s3cret@api.example.org:8443/v1?x=1#f") == "https://api.example.org:8443/v1?x=1#f"
    assert url_without_credentials("http://token@127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert url_without_credentials("http://u:p@ss@host/v1") == "http://host/v1"  # an @ inside the password
    assert url_without_credentials("http://u:p@[::1]:8000/v1") == "http://[::1]:8000/v1"
    for clean in ("https://api.openai.com/v1", "http://[::1]:8000/v1", "http://host/v1?user=a@b"):
        assert url_without_credentials(clean) == clean


def test_fine_tunable_models_list_their_fine_tuned_serving_prices():
    # a hosted fine-tune is served at its own (higher) price: every model priced for training
    # says what serving its fine-tunes costs
    tunable = {name: p for name, p in load_endpoints()["openai"].prices.items() if p.train_per_1k is not None}
    assert tunable
    for name, p in tunable.items():
        assert p.finetuned_input_per_1k is not None and p.finetuned_output_per_1k is not None, name
        assert p.finetuned_input_per_1k >= p.input_per_1k and p.finetuned_output_per_1k >= p.output_per_1k, name


def test_a_teacher_is_built_by_the_same_function(tiny_task: Path):
    from ladder.backends import backend_for
    from ladder.task import load_task

    tiny_task.write_text(tiny_task.read_text() + "\nteacher: {backend: openai, endpoint: ladder-serve, name: big}\n")
    teacher = backend_for(load_task(tiny_task).spec.teacher)
    assert isinstance(teacher, OpenAICompatBackend) and teacher.fingerprint() == "openai:127.0.0.1:8321:big"
