"""What every LLM judge shares: its prompt's frame, strict parsing of its JSON reply, bounded
retries, and the cost of each verdict.

A judge's reply must be exactly one JSON object with exactly its kind's keys (REPLY_SCHEMAS);
only whitespace around it, or a fenced ```json block holding it, is tolerated. Anything else
(prose around the object, a missing or extra key, a score of 6, "yes" for a boolean) is an
unreadable reply: the judge is asked again, at most `retries` times, and then the verdict is an
error (`judge_error: ...`), neither a pass nor a failure.

Each re-ask adds a line to the last user message ("Attempt 2: ..."), so its request differs from
the first one: the call cache (keyed on the exact chat) never answers a retry with the reply that
just failed, and a greedy model, asked something else, may answer something else.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from ladder.task.spec import JudgeSpec, PriceSpec
from ladder.tracking.costs import request_cost
from ladder.types import AssessmentCost, Chat, Generation, GenerationParams, Message

SYSTEM = ("You are a careful, strict evaluator of answers written by an AI assistant. You reply with one JSON "
          "object and nothing else: no prose before or after it.")

# The exact reply each kind must give (documented in README "Judges").
REPLY_SCHEMAS = {
    "rubric": '{"score": <integer 1-5>, "pass": <true|false>, "reason": "<one sentence>"}',
    "reference": '{"equivalent": <true|false>, "reason": "<one sentence>"}',
    "sufficiency": '{"sufficient": <true|false>, "reason": "<one sentence>"}',
    "pairwise": '{"winner": "A" | "B" | "tie", "reason": "<one sentence>"}',
}

JUDGE_ERROR = "judge_error"
TOP_LOGPROBS = 5  # alternatives asked per token of a reply when a judge weighs token probabilities
_FENCED = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)


class ReplyError(ValueError):
    """A judge's reply that does not parse as its kind's JSON object."""


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ReplyError(f"expected true or false, got {value!r}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ReplyError(f"expected a string, got {value!r}")
    return value


def score_1_to_5(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ReplyError(f"expected an integer from 1 to 5, got {value!r}")
    return value


def one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ReplyError(f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
        return str(value)
    return check


def parse_reply(reply: str, fields: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """The JSON object of a judge's reply, each of `fields` checked by its function; ReplyError
    when the reply is anything but that object (whitespace around it, or a fenced block, aside)."""
    body = reply.strip()
    fenced = _FENCED.fullmatch(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        raise ReplyError(f"not a JSON object: {e.msg} at character {e.pos}") from None
    if not isinstance(obj, dict):
        raise ReplyError(f"not a JSON object but {type(obj).__name__}")
    missing = [k for k in fields if k not in obj]
    extra = [k for k in obj if k not in fields]
    if missing or extra:
        raise ReplyError("; ".join(([f"missing key(s) {', '.join(missing)}"] if missing else [])
                                   + ([f"unexpected key(s) {', '.join(extra)}"] if extra else [])))
    out = {}
    for key, check in fields.items():
        try:
            out[key] = check(obj[key])
        except ReplyError as e:
            raise ReplyError(f"{key}: {e}") from None
    return out


def token_probs_after(tokens: Sequence[Any], key: str, values: Sequence[str]) -> dict[str, float] | None:
    """From a reply's token log-probabilities (openai_compat.TokenLogprobs), the probabilities of
    `values` at the place the reply writes `key`'s value: the first of them after `"key":`. A
    token and its space-prefixed twin (" 4", "4") count as one value. None where no such place is."""
    before = re.compile(rf'"{re.escape(key)}"\s*:\s*$')
    so_far = ""
    for tok in tokens:
        if before.search(so_far) and tok.token.strip() in values:
            probs: dict[str, float] = {}
            for alt, logprob in tok.top.items():
                if alt.strip() in values:
                    probs[alt.strip()] = probs.get(alt.strip(), 0.0) + math.exp(logprob)
            return probs
        so_far += tok.token
    return None


def block(label: str, content: str) -> str:
    """A labelled piece of the prompt, fenced so an answer cannot pass for the judge's instructions."""
    return f"{label}:\n<<<\n{content}\n>>>"


def judge_chat(task: str, parts: Sequence[tuple[str, str]], kind: str) -> Chat:
    """The chat a judge is sent: the system frame, the task, the labelled texts, the reply schema."""
    body = "\n\n".join([task, *(block(label, content) for label, content in parts),
                        f"Reply with exactly one JSON object: {REPLY_SCHEMAS[kind]}"])
    return (Message("system", SYSTEM), Message("user", body))


def with_attempt(chat: Chat, attempt: int) -> Chat:
    """`chat` as sent on `attempt` (from 1): from the second on, the last message says it is a
    re-ask, so the request (and its cache key) differs from the one that failed."""
    if attempt == 1:
        return chat
    last = chat[-1]
    note = (f"\n\n(Attempt {attempt}: your previous reply could not be read. Reply with the JSON object only, "
            "exactly as described, nothing else.)")
    return (*chat[:-1], replace(last, content=last.content + note))


@dataclass
class Asked:
    """One item put to a judge, through its attempts: the parsed reply or why there is none."""

    chat: Chat  # the last chat sent
    parsed: dict[str, Any] | None = None
    error: str | None = None  # `judge_error: ...` once every attempt failed
    raw: str = ""  # the last reply
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    extra: Any = None  # what the call returned beside the reply (token log-probabilities)
    problems: list[str] = field(default_factory=list)  # why each failed attempt failed

    def add_cost(self, gen: Generation) -> None:
        self.prompt_tokens += gen.prompt_tokens
        self.completion_tokens += gen.completion_tokens
        self.latency_s += gen.latency_s

    def cost(self, prices: PriceSpec) -> AssessmentCost:
        return AssessmentCost(self.prompt_tokens, self.completion_tokens,
                              request_cost(self.prompt_tokens, self.completion_tokens,
                                           prices.input_per_1k, prices.output_per_1k), self.latency_s)

    def metadata(self, kind: str, model: str) -> dict[str, Any]:
        return {"judge_kind": kind, "model": model, "prompt": [m.to_dict() for m in self.chat], "raw": self.raw,
                "attempts": self.attempts, **({"attempt_errors": self.problems} if self.problems else {})}


Call = Callable[[Sequence[Chat]], list[tuple[Generation, Any]]]


def ask(call: Call, chats: Sequence[Chat], parse: Callable[[str], dict[str, Any]], retries: int) -> list[Asked]:
    """Put every chat to the judge (`call` answers a batch), re-asking the unreadable or failed
    ones up to `retries` times; every Asked ends with `parsed` or a `judge_error`."""
    asked = [Asked(chat) for chat in chats]
    pending = list(range(len(chats)))
    for attempt in range(1, retries + 2):
        if not pending:
            break
        sent = [with_attempt(chats[i], attempt) for i in pending]
        still = []
        for i, chat, (gen, extra) in zip(pending, sent, call(sent)):
            a = asked[i]
            a.chat, a.raw, a.attempts, a.extra = chat, gen.text, attempt, extra
            a.add_cost(gen)
            try:
                if gen.error is not None:
                    raise ReplyError(f"the judge call failed: {gen.error}")
                a.parsed = parse(gen.text)
            except ReplyError as e:
                a.problems.append(str(e))
                still.append(i)
        pending = still
    for i in pending:
        a = asked[i]
        a.error = f"{JUDGE_ERROR}: {a.problems[-1]} (after {a.attempts} attempt(s))"
    return asked


@dataclass(frozen=True)
class JudgeModel:
    """What a judge asks and at what price: its backend (through the call cache), the label of
    the model that answers, and the prices its tokens are charged at."""

    backend: Any  # a CachedBackend (tracking.cache) over backend_for(the judge's model)
    label: str
    prices: PriceSpec

    def call(self, spec: JudgeSpec) -> Call:
        params = GenerationParams(max_new_tokens=spec.max_new_tokens)

        def answer(chats: Sequence[Chat]) -> list[tuple[Generation, Any]]:
            return [(g, None) for g in self.backend.generate(list(chats), params)]
        return answer
