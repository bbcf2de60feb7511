"""Frozen value types shared by every layer of ladder.

Nothing here imports anything else from ladder: these are the words the other modules speak.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence

Role = Literal["system", "user", "assistant"]
Tag = Literal["form", "knowledge"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


Chat = tuple[Message, ...]


class CheckSpec(Protocol):
    """One automatic (tier 1) check as configured. Each kind's fields are declared once, by the
    options model its function is registered with (`@check` in ladder.metrics.checks)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def tag(self) -> str: ...


@dataclass(frozen=True)
class Example:
    """One task example: what the user sends, and the reference answer."""

    id: str
    input: str
    expected: str
    system: str | None = None  # a system message carried by the data file, if any
    history: tuple[Message, ...] = ()  # earlier turns of a multi-turn chat example
    checks: tuple[CheckSpec, ...] = ()  # per-example checks, added to the task's
    source: str = ""  # "file:line" it was read from, for error messages
    gold_docs: tuple[str, ...] = ()  # corpus documents that hold the answer (paths in the corpus)
    gold_passage: str | None = None  # or the passage that holds it


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 = greedy

    def key(self) -> dict[str, Any]:
        """Every field, by name: the part of a call-cache key that says how the model was asked.
        Derived from the fields so that one added later can never be left out of the key."""
        return asdict(self)


@dataclass(frozen=True)
class Generation:
    """What one model call returned, with what it cost to produce."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float  # wall time of the call, divided evenly across a batch's rows
    finish_reason: str = "stop"  # stop | length | content_filter | error
    cached: bool = False
    error: str | None = None
    # what the server says answered (a remote API's `model` and `system_fingerprint`); None when
    # it does not say, and for local models, whose weights the cache key already names
    response_model: str | None = None
    system_fingerprint: str | None = None


@dataclass(frozen=True)
class AnswerScore:
    """How likely the model finds a given answer to a chat: the summed log-probability of the
    answer's tokens (and the end of its turn), from one forward pass with no decoding."""

    logprob: float
    prompt_tokens: int  # chat + answer tokens read by the forward pass
    latency_s: float  # wall time of the pass, divided evenly across a batch's rows
    cached: bool = False
    error: str | None = None


SourceKind = Literal["code", "llm_judge", "human"]


@dataclass(frozen=True)
class AssessmentCost:
    """What one verdict cost to obtain: a judge's tokens and money, a person's seconds."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    money: float = 0.0
    latency_s: float = 0.0


@dataclass(frozen=True)
class Assessment:
    """One verdict on one answer, whoever gave it: a check (`code`), a judge model (`llm_judge`)
    or a person (`human`). In the manner of MLflow's Assessment.

    `passed` and/or `score` carry the value. `error` set means the verdict could not be given
    (the reference could not be read, the judge's reply did not parse, ...): it is neither a
    pass nor a failure of the model, and `passed` and `score` are then None.
    """

    name: str  # the check's, judge's or label's name
    tag: str  # what it measures: form | knowledge | a judge's own tag
    source_kind: SourceKind = "code"
    source_name: str = ""  # the check kind, the judge model, the rater
    passed: bool | None = None
    score: float | None = None  # e.g. a 1-5 rubric score
    rationale: str = ""  # why: a check's detail, a judge's reason, a rater's comment
    error: str | None = None
    cost: AssessmentCost = field(default_factory=AssessmentCost)
    metadata: Mapping[str, Any] = field(default_factory=dict)  # e.g. a judge's prompt, the order shown

    @property
    def verdict(self) -> bool | None:
        """Pass (True), fail (False), or None when there is no pass/fail value (errors included)."""
        return None if self.error is not None else self.passed


# The agreed name and tag of a person's rating of one answer (`ladder review`): an Assessment with
# source_kind "human" and the rater as source_name.
REVIEW_LABEL_NAME = "review"
REVIEW_LABEL_TAG = "human"

Winner = Literal["a", "b", "tie", "both_bad"]


@dataclass(frozen=True)
class Comparison:
    """One pairwise verdict on two rungs' answers to the same eval example, from a pairwise judge
    (`llm_judge`) or a person's blind A/B choice (`human`).

    `a` and `b` are the stored generation ids. `winner` is in those terms, whatever order the
    answers were shown in; `first_shown` says which was shown first ("a" or "b"), so position bias
    can be measured. A pairwise judge asks both orders and stores one Comparison per order, with
    the same `metadata["pair"]`; an inconsistent pair is then read as a tie (and counted).
    `error` set: no verdict could be given; `winner` is then None.
    """

    a: int
    b: int
    source_kind: SourceKind
    source_name: str  # the judge's name, or the rater
    winner: Winner | None
    first_shown: Literal["a", "b"] = "a"
    rationale: str = ""
    error: str | None = None
    cost: AssessmentCost = field(default_factory=AssessmentCost)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildCost:
    """One-off cost of building a candidate (training, distillation)."""

    seconds: float = 0.0
    money: float = 0.0
    train_tokens: int = 0
    call_tokens: int = 0  # prompt + completion tokens of model calls made while building
    reused: bool = False  # True when an identical earlier build was found and reused
    notes: str = ""


class Prompt(Protocol):
    """Turns one example into the chat sent to the model."""

    def render(self, example: Example) -> Chat: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Candidate:
    """A configuration to evaluate: how prompts are built, and which weights answer them."""

    rung: str
    kind: Literal["prompt", "finetune", "baseline"]  # baseline: a reference row, never a candidate to choose
    prompt: Prompt
    adapter: str | None = None  # directory of a LoRA adapter (safetensors + config); for a remote model, a fine-tuned model id
    build: BuildCost = field(default_factory=BuildCost)
    description: str = ""
    retrievals: Mapping[str, "Retrieval"] = field(default_factory=dict)  # example id -> what was retrieved
    # example id -> the answer, decided without a model (a baseline): evaluation calls no backend
    answers: Mapping[str, str] | None = None
    # the target metric's pass rate on held-out training rows, measured while building (a
    # fine-tune's early stop on the target); None when nothing measured it
    heldout_pass_rate: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "kind": self.kind,
            "prompt": self.prompt.describe(),
            "adapter": self.adapter,
            "description": self.description,
            **({"precomputed_answers": len(self.answers)} if self.answers is not None else {}),
        }


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: str
    source: str  # document path in the corpus
    start: int  # character offsets of the chunk in that document
    end: int
    score: float
    is_gold: bool | None = None  # None when the example names no gold source


@dataclass(frozen=True)
class Retrieval:
    """What a retrieval rung put in front of the model for one example, and how it scored."""

    query: str
    k: int
    hits: tuple[RetrievedChunk, ...]
    gold: tuple[str, ...] = ()  # gold documents (and "passage" for a gold passage)
    recall: float | None = None  # recall@k; None without gold
    reciprocal_rank: float | None = None


@dataclass(frozen=True)
class ExampleResult:
    """One example answered and assessed: what an evaluation returns and the store records."""

    example: Example
    prompt_json: str  # the chat sent, as chat_to_json wrote it
    generation: Generation
    assessments: tuple[Assessment, ...] = ()


def chat_to_json(chat: Sequence[Message]) -> str:
    return json.dumps([m.to_dict() for m in chat], ensure_ascii=False)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks. Never cached: files get rewritten."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(*parts: Any) -> str:
    """Stable sha256 of JSON-serialisable parts; the key of every cache in ladder."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
