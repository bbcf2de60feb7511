"""The report as a browser lays it out (Debian's chromium, headless, through Playwright): the
rungs table keeps each figure and its interval on one line and scrolls inside its box, so the
page itself never scrolls sideways; columns of figures align right, names left."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_report import _climb, store  # noqa: E402,F401  (the same four-rung run as the report tests)

from ladder.report import write_report  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow  # a browser: seconds, not milliseconds

# per cell of the rungs table: how many lines its text takes (the client rects of its contents)
LINES_PER_CELL = """rows => rows.map(row => [...row.cells].map(cell => {
    const range = document.createRange(); range.selectNodeContents(cell);
    return [cell.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
}))"""


# per table, its first two rows (headers, then the first row of cells): (text, computed text-align)
ALIGNMENT = """tables => tables.map(table => [...table.rows].slice(0, 2).map(row => [...row.cells].map(
    cell => [cell.textContent.trim(), getComputedStyle(cell).textAlign])))"""


def test_rung_figures_stay_on_one_line_align_right_and_the_table_scrolls_in_its_box(store, tmp_path):  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    _climb(store)
    html = write_report(store, "run1", tmp_path / "report")["html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(html.as_uri())
            cells = page.eval_on_selector_all(".wide tbody tr", LINES_PER_CELL)
            box = page.eval_on_selector(".wide", "b => [b.scrollWidth, b.clientWidth]")
            page_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            aligned = page.eval_on_selector_all("table", ALIGNMENT)
        finally:
            browser.close()
    assert len(cells) == 4 and any("[" in text for row in cells for text, _ in row)  # figures with intervals
    wrapped = [text for row in cells for text, lines in row if lines > 1]
    assert not wrapped, f"cells on more than one line: {wrapped}"
    assert box[0] > box[1], "the table fits 900 px: this test no longer checks the scrolling"
    assert page_width[0] <= page_width[1], "the page scrolls sideways"
    # names read from the left, figures line up on the right, each header over its column
    aligned = [[[tuple(cell) for cell in row] for row in table] for table in aligned]
    rungs_header, first_rung = next(t for t in aligned if t[0][1][0] == "kind")  # | rung | kind | status | n |
    assert ("rung", "left") in rungs_header and ("n", "right") in rungs_header
    assert ("zero_shot", "left") in first_rung and ("prompt", "left") in first_rung and ("4", "right") in first_rung
    checks = next(t for t in aligned if t[0][1][0] == "form_check")  # | rung | form_check | knowledge_check |
    assert checks[0][1] == ("form_check", "right") and checks[1][1][1] == "right" and checks[1][0][1] == "left"
