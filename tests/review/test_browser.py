"""Acceptance: a person reviews a real run in real headless Chromium, with the keyboard only.

`ladder review` runs as a user starts it (a real process, uvicorn on 127.0.0.1); Playwright drives
Debian's chromium (never a downloaded browser). Screenshots of each view are saved under the
test's tmp folder, and also into $LADDER_REVIEW_SCREENSHOTS when set (the README's images:
`LADDER_REVIEW_SCREENSHOTS=docs/img pytest tests/review/test_browser.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ladder.tracking.store import Store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow  # a browser and two server processes: seconds, not milliseconds


def _ladder(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-u", "-m", "ladder.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_rate_and_choose_with_the_keyboard_then_find_every_label(tmp_path: Path, review_run) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import expect, sync_playwright

    run = review_run
    shots = tmp_path / "screenshots"
    server = _ladder("review", str(run.runs_dir / run.run_id), "--port", "0", cwd=tmp_path)
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), server.stderr.read() if server.poll() is not None else url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 560})
            page.set_default_timeout(30_000)  # a busy CI machine: waits end as soon as the page is ready
            expect.set_options(timeout=30_000)
            page.goto(url)
            page.fill("#rater-name", "ada")
            page.keyboard.press("Enter")
            expect(page.locator("#progress")).to_have_text("0 / 12 rated")

            # rate three answers: p/f, a rating, (a comment on the first), j to the next
            for k, (verdict, stars) in enumerate([("p", "4"), ("f", "2"), ("f", "1")], start=1):
                expect(page).to_have_url(f"{url}/rate" if k == 1 else f"{url}/rate?i={k}")
                expect(page.locator("body")).to_have_attribute("data-ready", "true")  # keys are live
                page.keyboard.press(verdict)
                page.keyboard.press(stars)
                if k == 1:
                    page.click("#comment")
                    page.keyboard.type("right, and says why")
                    page.keyboard.press("Escape")
                expect(page.locator("#progress")).to_have_text(f"{k} / 12 rated")
                expect(page.locator("#saved")).to_have_text("saved")
                if k < 3:
                    page.keyboard.press("j")
            expect(page.locator("#score-1")).to_have_class("on")
            page.screenshot(path=str(shots / "review-rate.png"), full_page=True)

            # two blind A/B choices: 1 = A, 2 = B (each moves on to the next pair); 4 + 4 pairs of
            # neighbouring rungs, less the one question instructed and rag answer alike
            page.goto(f"{url}/ab")
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            expect(page.locator("#progress")).to_have_text("0 / 7 chosen")
            page.screenshot(path=str(shots / "review-ab.png"), full_page=True)
            page.keyboard.press("1")
            expect(page).to_have_url(f"{url}/ab?i=2")
            expect(page.locator("body")).to_have_attribute("data-ready", "true")  # keys are live
            expect(page.locator("#progress")).to_have_text("1 / 7 chosen")
            page.keyboard.press("2")
            expect(page).to_have_url(f"{url}/ab?i=3")
            expect(page.locator("body")).to_have_attribute("data-ready", "true")  # keys are live

            # reload: everything is still there
            page.goto(f"{url}/ab?i=2")
            page.reload()
            expect(page.locator("#progress")).to_have_text("2 / 7 chosen")
            expect(page.locator("#choose-second")).to_have_class("on")
            page.goto(f"{url}/rate?i=1")
            page.reload()
            expect(page.locator("#progress")).to_have_text("3 / 12 rated")
            expect(page.locator("#pass")).to_have_class("on")
            expect(page.locator("#score-4")).to_have_class("on")
            expect(page.locator("#comment")).to_have_value("right, and says why")

            page.goto(f"{url}/results")
            cells = page.locator("#human-labels tr td:nth-child(2)").all_inner_texts()
            choices = page.locator("#human-labels tr td:nth-child(4)").all_inner_texts()
            assert sum(map(int, cells)) == 3 and sum(map(int, choices)) == 4  # each choice involves two rungs
            assert page.locator("#drilldown td.human", has_text="ada: pass, 4/5, 'right, and says why'").count() == 1
            page.screenshot(path=str(shots / "review-results.png"), full_page=True)
            # the rungs table as the report draws it: one line a row, figures right, scrolling in its
            # box (a narrow window, so that a table which could wrap does)
            page.set_viewport_size({"width": 700, "height": 900})
            lines = page.eval_on_selector_all("#rungs td", """cells => cells.map(cell => {
                const range = document.createRange(); range.selectNodeContents(cell);
                return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; })""")
            assert lines and max(lines) == 1, lines  # no figure wraps onto a second line
            aligned = page.eval_on_selector_all("#rungs tr:nth-child(-n+2) > *", "cells => cells.map("
                                                "c => [c.textContent.trim(), getComputedStyle(c).textAlign])")
            assert ["rung", "left"] in aligned and ["n", "right"] in aligned and ["zero_shot", "left"] in aligned
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{url}/results?show=failed&rung=zero_shot")
            assert page.locator("#drilldown tr").count() == 1 + 4  # header + zero_shot's 4 wrong answers
            page.goto(f"{url}/results?rung=zero_shot&vs=rag")  # where they differ: at least the 3 not rated 'f'
            rungs = page.locator("#drilldown tr td:nth-child(2)").all_inner_texts()
            assert rungs.count("zero_shot") == rungs.count("rag") >= 3 and set(rungs) == {"zero_shot", "rag"}
            browser.close()
    finally:
        server.terminate()
        server.wait(20)

    with Store(run.runs_dir) as store:
        rows = [r for r in store.rung_results(run.run_id)]
        labels = [(a.source_name, a.passed, a.score) for r in rows for g in store.generations(r.id)
                  for a in g.assessments if a.source_kind == "human"]
        comparisons = [c for c in store.comparisons(run.run_id) if c.source_kind == "human"]
    assert sorted(labels, key=str) == sorted([("ada", True, 4.0), ("ada", False, 2.0), ("ada", False, 1.0)], key=str)
    assert [(c.source_name, c.winner == c.first_shown) for c in comparisons] == [("ada", True), ("ada", False)]
    assert all(c.metadata["seconds"] > 0 for c in comparisons)

    report = _ladder("report", str(run.runs_dir / run.run_id), cwd=tmp_path)
    assert report.wait(120) == 0, report.stderr.read()
    md = (run.runs_dir / run.run_id / "report.md").read_text()
    assert "Human labels (ladder review):" in md and "3 rated" not in md  # counted per rung, not in total
    summary = json.loads((run.runs_dir / run.run_id / "summary.json").read_text())
    counts = summary["human_labels"]
    assert sum(h["ratings"] for h in counts.values()) == 3 and sum(h["ab_choices"] for h in counts.values()) == 4
    for rung, h in counts.items():
        if h["ratings"] or h["ab_choices"]:
            assert f"{rung} {h['ratings']} rated answer(s) by {h['raters']} rater(s), {h['ab_choices']} A/B" in md

    for name in ("review-rate.png", "review-ab.png", "review-results.png"):
        assert (shots / name).stat().st_size > 10_000
    if os.environ.get("LADDER_REVIEW_SCREENSHOTS"):
        for name in ("review-rate.png", "review-ab.png"):
            shutil.copy(shots / name, Path(os.environ["LADDER_REVIEW_SCREENSHOTS"]) / name)
