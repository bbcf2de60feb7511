"""The generation parameters' part of the call-cache key covers every field."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ladder.types import GenerationParams, content_hash


@dataclass(frozen=True)
class WithTopP(GenerationParams):
    top_p: float = 1.0


def test_the_key_names_every_field_with_its_value():
    params = GenerationParams(max_new_tokens=7, temperature=0.5)
    assert params.key() == {f.name: getattr(params, f.name) for f in fields(GenerationParams)}
    # the shape caches written before the key was derived: same dict, so the same hash and cache hits
    assert content_hash("m", "chat", params.key()) == content_hash(
        "m", "chat", {"max_new_tokens": 7, "temperature": 0.5})


def test_a_field_added_later_changes_the_key():
    base = GenerationParams(max_new_tokens=7)
    extended = WithTopP(max_new_tokens=7, top_p=0.9)
    assert extended.key()["top_p"] == 0.9
    assert content_hash(extended.key()) != content_hash(base.key())
    assert content_hash(WithTopP(max_new_tokens=7, top_p=0.8).key()) != content_hash(extended.key())
