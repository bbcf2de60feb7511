"""The review app: routes, pages and the server that runs them.

Pages (GET): `/rate?i=N` one answer at a time, `/ab?i=N[&a=RUNG&b=RUNG]` two rungs' answers
blind, `/results` the climb's table, frontier and a filterable drill-down. Writes (POST, JSON,
sent by the page's script the moment a label is given): `/api/rater`, `/api/label`,
`/api/choice`. Every request passes `security.Guard` first.
"""

from __future__ import annotations

import base64
import json
import socket
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ladder.report import fmt
from ladder.report.frontier import plot_frontier
from ladder.report.summary import summarize
from ladder.review.drilldown import FILTERS, drilldown
from ladder.review.items import RunItems, chosen_by, load_items, rated_by
from ladder.review.config import ReviewConfig, is_loopback
from ladder.review.security import Guard
from ladder.tracking.store import Store
from ladder.types import REVIEW_LABEL_NAME, REVIEW_LABEL_TAG, Assessment, Comparison

HERE = Path(__file__).parent
RATER_COOKIE = "ladder_rater"
STATIC = {"review.js": "text/javascript", "review.css": "text/css"}  # the only files a request can name


class RaterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _printable(cls, v: str) -> str:
        v = v.strip()
        if not v or not v.isprintable() or ";" in v or "," in v:
            raise ValueError("a name of printable characters, without ; or ,")
        return v


class LabelBody(BaseModel):
    """A rating as it stands now: the page sends the whole label each time any part changes."""

    model_config = ConfigDict(extra="forbid")
    generation_id: int
    passed: bool | None = None
    score: int | None = Field(None, ge=1, le=5)
    comment: str = Field("", max_length=5000)
    seconds: float = Field(ge=0, le=86_400)


class ChoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pair: str = Field(max_length=64)
    choice: Literal["first", "second", "tie", "both_bad"]  # in the order shown: 1 = first (A), 2 = second (B)
    position: int = Field(ge=1)
    seconds: float = Field(ge=0, le=86_400)


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["numeric_columns"] = fmt.numeric_columns  # the report's rule: figures right, names left
    return env


def frontier_png(summary: dict[str, Any]) -> bytes:
    """The report's frontier plot (report.frontier), as PNG bytes."""
    with tempfile.TemporaryDirectory(prefix="ladder-review-") as tmp:
        return plot_frontier(summary, Path(tmp) / "frontier.png").read_bytes()


def card_fields(cards: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """The summary's judge cards (when the run has any) as titled key/value rows, whatever their
    fields: the report's own card section decides what a card holds, this view only lists it."""
    if not cards:
        return []
    named = cards.items() if isinstance(cards, dict) else (
        (str(c.get("judge") or c.get("name") or i) if isinstance(c, dict) else str(i), c) for i, c in enumerate(cards))
    out = []
    for title, card in named:
        fields = card.items() if isinstance(card, dict) else [("card", card)]
        out.append((str(title), [(str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                                  for k, v in fields]))
    return out


def create_app(store: Store, run_id: str, guard: Guard) -> FastAPI:
    """The app for one run of `store` (the run must exist: KeyError otherwise)."""
    store.run(run_id)
    items: RunItems = load_items(store, run_id)
    pages = _templates()
    lock = threading.Lock()  # one writer at a time through the shared connection
    app = FastAPI(title="ladder review", docs_url=None, redoc_url=None, openapi_url=None)
    app.middleware("http")(guard.middleware)

    def rater_of(request: Request) -> str | None:
        name = request.cookies.get(RATER_COOKIE)
        try:
            return RaterBody(name=name).name if name else None
        except ValueError:
            return None

    def render(request: Request, template: str, **context: Any) -> HTMLResponse:
        html = pages.get_template(template).render(
            run_id=run_id, csrf=guard.csrf_token(request.state.session), rater=rater_of(request), **context)
        return HTMLResponse(html)

    def position(i: int | None, n: int, first_open: int | None) -> int:
        if i is None:
            return first_open or 1
        return min(max(i, 1), max(n, 1))

    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/rate", status_code=303)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404)
        return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name])

    @app.get("/rate")
    def rate(request: Request, i: int | None = None) -> Response:
        rater = rater_of(request)
        if rater is None:
            return render(request, "rater.html", page="rate")
        with lock:
            labels = rated_by(store, items, rater)
        n = len(items.answers)
        first_open = next((a.position for a in items.answers if a.generation.id not in labels), None)
        pos = position(i, n, first_open)
        answer = items.answers[pos - 1] if n else None
        label = labels.get(answer.generation.id) if answer else None
        return render(request, "rate.html", page="rate", answer=answer, label=label, n=n, rated=len(labels),
                      pos=pos)

    @app.get("/ab")
    def ab(request: Request, i: int | None = None, a: str | None = None, b: str | None = None) -> Response:
        rater = rater_of(request)
        if rater is None:
            return render(request, "rater.html", page="ab")
        if (a or b) and (a not in items.rung_names or b not in items.rung_names or a == b):
            raise HTTPException(400, "a and b must be two different rungs of this run")
        queue = items.pair_queue(a, b)
        with lock:
            chosen = chosen_by(store, run_id, rater)
        done = sum(p.key in chosen for p in queue)
        first_open = next((k for k, p in enumerate(queue, start=1) if p.key not in chosen), None)
        pos = position(i, len(queue), first_open)
        pair = queue[pos - 1] if queue else None
        choice = None
        if pair is not None and pair.key in chosen:
            won = chosen[pair.key]
            choice = {pair.first_shown: "first"}.get(won, won if won in ("tie", "both_bad") else "second")
        return render(request, "ab.html", page="ab", pair=pair, n=len(queue), done=done, pos=pos, choice=choice,
                      rungs=items.rung_names, a=a or "", b=b or "")

    @app.get("/results")
    def results(request: Request, show: str = "all", rung: str = "", vs: str = "") -> Response:
        with lock:
            names = [r.rung for r in store.rung_results(run_id) if r.kind != "teacher"]
        if show not in FILTERS or (rung and rung not in names) or (vs and (vs not in names or not rung)):
            raise HTTPException(400, f"show is one of {', '.join(FILTERS)}; rung and vs are rungs of this run")
        with lock:
            summary = summarize(store, run_id)
            rows = drilldown(store, run_id, show, rung or None, vs or None)
        headers, table = fmt.rung_table(summary)
        png = base64.b64encode(frontier_png(summary)).decode("ascii")
        return render(request, "results.html", page="results", summary=summary, headers=headers, table=table,
                      png=png, rows=rows, filters=FILTERS, show=show, rung=rung, vs=vs, names=names,
                      judge_cards=card_fields(summary.get("judge_cards")), human_labels=summary.get("human_labels") or {})

    @app.post("/api/rater")
    def set_rater(body: RaterBody) -> Response:
        response = Response(status_code=204)
        response.set_cookie(RATER_COOKIE, body.name, max_age=365 * 86400, samesite="strict", httponly=True)
        return response

    def require_rater(request: Request) -> str:
        rater = rater_of(request)
        if rater is None:
            raise HTTPException(400, "no rater name yet: reload the page and give one")
        return rater

    @app.post("/api/label")
    def label(request: Request, body: LabelBody) -> dict[str, Any]:
        rater = require_rater(request)
        answer = items.by_generation.get(body.generation_id)
        if answer is None:
            raise HTTPException(404, "no such answer in this run's review queue")
        assessment = Assessment(
            name=REVIEW_LABEL_NAME, tag=REVIEW_LABEL_TAG, source_kind="human", source_name=rater, passed=body.passed,
            score=None if body.score is None else float(body.score), rationale=body.comment,
            metadata={"seconds": round(body.seconds, 3), "position": answer.position})
        with lock:
            store.add_assessments(answer.generation.id, [assessment])
            rated = len(rated_by(store, items, rater))
        return {"rated": rated, "total": len(items.answers)}

    @app.post("/api/choice")
    def choice(request: Request, body: ChoiceBody) -> dict[str, Any]:
        rater = require_rater(request)
        pair = items.pairs.get(body.pair)
        if pair is None:
            raise HTTPException(404, "no such pair in this run")
        other = "b" if pair.first_shown == "a" else "a"
        winner = {"first": pair.first_shown, "second": other}.get(body.choice, body.choice)
        comparison = Comparison(a=pair.a.id, b=pair.b.id, source_kind="human", source_name=rater,
                                winner=winner, first_shown=pair.first_shown,  # type: ignore[arg-type]
                                metadata={"seconds": round(body.seconds, 3), "position": body.position})
        with lock:
            store.add_comparisons(run_id, [comparison])
        return {"winner": winner}

    return app


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class ReviewServer:
    """uvicorn serving the app on an already-bound socket (so port 0 works), in a thread."""

    def __init__(self, app: FastAPI, host: str, port: int):
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = int(self.sock.getsockname()[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
        self.url = f"http://{_url_host(shown)}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until interrupted (blocks)."""
        self.server.run(sockets=[self.sock])

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve in a background thread; yield the URL; stop and join at the end."""
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        try:
            while not self.server.started:
                if not self.thread.is_alive():
                    raise RuntimeError("the review server stopped before it started")
                self.thread.join(0.05)
            yield self.url
        finally:
            self.server.should_exit = True
            self.thread.join(10)
            self.sock.close()


def review_server(store: Store, run_id: str, config: ReviewConfig, token: str | None = None) -> ReviewServer:
    """Validate `config` and build the server for one run (not started)."""
    config.check(token)
    guard = Guard(config.host, token=token if config.allow_remote and not is_loopback(config.host) else None)
    return ReviewServer(create_app(store, run_id, guard), config.host, config.port)

