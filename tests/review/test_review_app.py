"""The review app over HTTP on a real uvicorn server on 127.0.0.1: what it writes, and what it refuses."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from ladder.review.app import ReviewConfig, ReviewServer, create_app, review_server
from ladder.review.items import load_items
from ladder.review.security import Guard, host_name
from ladder.tracking.store import Store


class Client:
    """A browser-like session: keeps its cookies, sends what a browser on this origin would."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port, self.origin = parts.hostname, parts.port, url
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        sent = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
        r = conn.getresponse()
        text = r.read().decode()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        conn.close()
        return r, text

    def open(self, path: str = "/rate"):
        r, text = self.request("GET", path)
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', text)
        if found:
            self.csrf = found.group(1)
        return r, text

    def post(self, path: str, body: dict, **headers: str):
        base = {"Content-Type": "application/json", "Origin": self.origin, "X-CSRF-Token": self.csrf}
        return self.request("POST", path, body, {k: v for k, v in {**base, **headers}.items() if v is not None})


@contextmanager
def serving(review_run, guard: Guard | None = None) -> Iterator[tuple[str, Store]]:
    store = Store(review_run.runs_dir)
    try:
        if guard is None:
            server = review_server(store, review_run.run_id, ReviewConfig())
        else:
            server = ReviewServer(create_app(store, review_run.run_id, guard), "127.0.0.1", 0)
        with server.running() as url:
            yield url, store
    finally:
        store.close()


def _named(client: Client, name: str = "ada") -> None:
    client.open()
    r, _ = client.post("/api/rater", {"name": name})
    assert r.status == 204


def _human_rows(review_run) -> list[tuple]:
    db = sqlite3.connect(review_run.runs_dir / "ladder.sqlite")
    try:
        return db.execute("SELECT generation_id, source_name, passed, score, rationale, metadata_json FROM assessments"
                          " WHERE source_kind = 'human' ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_label_is_stored_at_once_and_a_relabel_supersedes_it(review_run):
    with serving(review_run) as (url, store):
        c = Client(url)
        _named(c)
        items = load_items(store, review_run.run_id)
        gid = items.answers[1].generation.id
        r, text = c.post("/api/label", {"generation_id": gid, "passed": True, "score": None, "comment": "",
                                        "seconds": 2.5})
        assert r.status == 200 and json.loads(text) == {"rated": 1, "total": 12}
        r, text = c.post("/api/label", {"generation_id": gid, "passed": False, "score": 2, "comment": "too thin",
                                        "seconds": 4.0})
        assert r.status == 200 and json.loads(text)["rated"] == 1
        # both rows stay (append-only); reading keeps the rater's latest
        rows = _human_rows(review_run)
        assert [(g, who, p, s) for g, who, p, s, _, _ in rows] == [(gid, "ada", 1, None), (gid, "ada", 0, 2.0)]
        assert json.loads(rows[-1][5]) == {"seconds": 4.0, "position": 2}
        rung = next(rr for rr in store.rung_results(review_run.run_id) if rr.rung == items.answers[1].rung)
        labels = [a for g in store.generations(rung.id) if g.id == gid for a in g.assessments if a.source_kind == "human"]
        assert [(a.name, a.tag, a.source_name, a.passed, a.score, a.rationale) for a in labels] == [
            ("review", "human", "ada", False, 2.0, "too thin")]
        _, page = c.open("/rate?i=2")
        assert "1 / 12 rated" in page and "too thin" in page
        assert "zero_shot" not in page and "instructed" not in page and ">rag" not in page  # the rung is not shown


def test_the_rate_view_shows_what_was_retrieved(review_run):
    with serving(review_run) as (url, store):
        c = Client(url)
        _named(c)
        items = load_items(store, review_run.run_id)
        rag_q1 = next(a for a in items.answers if a.rung == "rag" and a.generation.example_id == "q1")
        _, page = c.open(f"/rate?i={rag_q1.position}")
        assert "Retrieved context" in page and "policy.md" in page
        assert "Items can be returned within 30 days of delivery with the r" in page  # the chunk's text, read back
        other = next(a for a in items.answers if a.rung == "instructed")
        assert "Retrieved context" not in c.open(f"/rate?i={other.position}")[1]


def test_an_ab_choice_is_stored_in_a_b_terms_with_the_order_shown(review_run):
    with serving(review_run) as (url, store):
        c = Client(url)
        _named(c, "bo")
        _, page = c.open("/ab")
        key = re.search(r'data-pair="(\d+-\d+)"', page).group(1)
        r, text = c.post("/api/choice", {"pair": key, "choice": "first", "position": 1, "seconds": 1.0})
        assert r.status == 200
        (comparison,) = store.comparisons(review_run.run_id)
        a, b = (int(x) for x in key.split("-"))
        assert (comparison.a, comparison.b, comparison.source_kind, comparison.source_name) == (a, b, "human", "bo")
        assert comparison.winner == comparison.first_shown == json.loads(text)["winner"]
        assert comparison.metadata == {"seconds": 1.0, "position": 1}
        assert c.post("/api/choice", {"pair": "1-999", "choice": "tie", "position": 1, "seconds": 1.0})[0].status == 404


def test_posts_without_csrf_or_from_a_foreign_origin_or_host_get_403(review_run):
    with serving(review_run) as (url, store):
        c = Client(url)
        _named(c)
        gid = load_items(store, review_run.run_id).answers[0].generation.id
        label = {"generation_id": gid, "passed": True, "score": 5, "comment": "", "seconds": 1.0}
        refused = {
            "no csrf": c.post("/api/label", label, **{"X-CSRF-Token": None}),
            "wrong csrf": c.post("/api/label", label, **{"X-CSRF-Token": "0" * 64}),
            "foreign origin": c.post("/api/label", label, Origin="http://evil.example"),
            "no origin nor referer": c.post("/api/label", label, Origin=None),
            "foreign referer": c.post("/api/label", label, Origin=None, Referer="http://evil.example/x"),
            "foreign host": c.post("/api/label", label, Host="evil.example"),
            "rebound host": c.post("/api/label", label, Host=f"evil.example:{c.port}",
                                   Origin=f"http://evil.example:{c.port}"),
        }
        assert {why: r.status for why, (r, _) in refused.items()} == {why: 403 for why in refused}
        assert c.request("GET", "/rate", headers={"Host": "evil.example"})[0].status == 403
        assert _human_rows(review_run) == [], "a refused request wrote a label"
        # the same request, sent as the page sends it, goes through
        ok, _ = c.post("/api/label", label, Origin=None, Referer=f"{url}/rate")
        assert ok.status == 200 and len(_human_rows(review_run)) == 1
        assert c.request("GET", "/rate", headers={"Host": f"localhost:{c.port}"})[0].status == 200


def test_no_cors_headers_and_a_strict_policy(review_run):
    with serving(review_run) as (url, _):
        c = Client(url)
        r, _ = c.request("GET", "/rate", headers={"Origin": "http://evil.example"})
        assert r.status == 200 and not any(h.lower().startswith("access-control-") for h, _ in r.getheaders())
        assert "default-src 'self'" in r.getheader("Content-Security-Policy")
        pre, _ = c.request("OPTIONS", "/api/label", headers={"Origin": "http://evil.example",
                                                             "Access-Control-Request-Method": "POST"})
        assert pre.status == 403 and pre.getheader("Access-Control-Allow-Origin") is None


def test_request_data_is_checked_before_it_reaches_the_store_or_a_file(review_run):
    with serving(review_run) as (url, _):
        c = Client(url)
        c.open()
        assert c.post("/api/label", {"generation_id": 1, "passed": True, "seconds": 1})[0].status == 400  # no rater
        _named(c)
        assert c.post("/api/label", {"generation_id": 10_000, "passed": True, "seconds": 1})[0].status == 404
        assert c.post("/api/label", {"generation_id": 1, "score": 9, "seconds": 1})[0].status == 422
        assert c.post("/api/rater", {"name": "a;b"})[0].status == 422
        assert c.request("GET", "/static/..%2Fapp.py")[0].status == 404
        assert c.request("GET", "/static/app.py")[0].status == 404
        assert c.request("GET", "/results?rung=../../etc")[0].status == 400
        assert c.request("GET", "/ab?a=zero_shot&b=nope")[0].status == 400


def test_a_remote_bind_needs_allow_remote_and_a_token(review_run):
    with pytest.raises(ValueError, match="--allow-remote"):
        ReviewConfig(host="0.0.0.0").check(None)
    with pytest.raises(ValueError, match="--token-env"):
        ReviewConfig(host="0.0.0.0", allow_remote=True).check(None)
    with pytest.raises(ValueError, match="unset or shorter"):
        ReviewConfig(host="0.0.0.0", allow_remote=True, token_env="T").check("short")
    ReviewConfig(host="::1").check(None)  # loopback: no token needed
    token = "review-token-7f3a9c2e51b8"
    with serving(review_run, Guard("127.0.0.1", token=token)) as (url, _):
        c = Client(url)
        assert c.open()[0].status == 403
        assert c.request("GET", "/rate", headers={"X-Review-Token": token})[0].status == 200
        assert c.request("GET", "/rate", headers={"Authorization": "Bearer wrong-token-000000"})[0].status == 403
        r, _ = c.request("GET", f"/rate?token={token}")
        assert r.status == 303 and r.getheader("Location") == "/rate" and c.cookies["ladder_review_token"] == token
        assert c.open()[0].status == 200  # the cookie carries it from now on


def test_host_names():
    assert [host_name(h) for h in ("127.0.0.1:80", "[::1]:8000", "LOCALHOST", "::1")] == [
        "127.0.0.1", "::1", "localhost", "::1"]


def test_the_drilldown_finds_judge_human_disagreements(review_run):
    from ladder.review.app import card_fields
    from ladder.review.drilldown import drilldown
    from ladder.types import Assessment

    with Store(review_run.runs_dir) as store:
        rag = next(r for r in store.rung_results(review_run.run_id) if r.rung == "rag")
        q1, q2, q3 = store.generations(rag.id)[:3]
        person = dict(name="review", tag="human", source_kind="human", source_name="ada")
        judge = dict(name="equivalent", tag="knowledge", source_kind="llm_judge", source_name="equivalent")
        store.add_assessments(q1.id, [Assessment(**person, passed=True), Assessment(**judge, passed=False)])
        store.add_assessments(q2.id, [Assessment(**person, passed=True), Assessment(**judge, passed=True)])
        store.add_assessments(q3.id, [Assessment(**person, passed=False),
                                      Assessment(**judge, error="judge_error: unparsable")])  # no verdict: no disagreement
        rows = drilldown(store, review_run.run_id, "disagree")
        assert [(r.rung, r.generation.example_id, r.human, r.judges) for r in rows] == [
            ("rag", "q1", ["ada: pass"], ["equivalent: fail"])]
        assert {r.generation.example_id for r in drilldown(store, review_run.run_id, "knowledge", "rag")} == {"q1"}
    assert card_fields(None) == []
    assert card_fields({"equivalent": {"kappa": 0.61, "n": 40, "trusted": True}}) == [
        ("equivalent", [("kappa", "0.61"), ("n", "40"), ("trusted", "true")])]


def test_a_rater_name_with_spaces_and_accents_survives_the_cookie(review_run):
    with serving(review_run) as (url, store):
        gid = load_items(store, review_run.run_id).answers[0].generation.id
        for name in ("Ada Lovelace", "Zoë Ångström", 'the "second" rater'):
            c = Client(url)
            _named(c, name)
            assert c.post("/api/label", {"generation_id": gid, "passed": True, "seconds": 1})[0].status == 200
        rows = _human_rows(review_run)
        assert [who for _, who, *_ in rows] == ["Ada Lovelace", "Zoë Ångström", 'the "second" rater']
