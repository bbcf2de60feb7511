"""A tiny corpus with known answers, written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = {
    "leave.md": "# Leave policy\n\nStaff at Quillfeather get 27 days of annual leave each year.\n\n"
                "## Parental leave\n\nParents receive 19 weeks of paid parental leave.\n",
    "office/parking.txt": "Bicycles are parked in the basement garage behind door B4. Cars use the lot on "
                          "Fennel Street.\n",
    "office/canteen.md": "# Canteen\n\nThe canteen serves lunch from 11:50 to 14:10 and closes on Fridays.\n",
    "travel.jsonl": '{"id": "budget", "title": "Travel budget", "text": "The travel budget for one conference '
                    'trip is 1400 euros, hotel included."}\n'
                    '{"id": "trains", "title": "Trains", "text": "Employees travel second class on trains '
                    'shorter than four hours."}\n',
}

# (query, the source that answers it)
KNOWN = [
    ("How many weeks of parental leave do parents get?", "leave.md"),
    ("Where do I park my bicycle?", "office/parking.txt"),
    ("What is the budget for a conference trip?", "travel.jsonl#budget"),
    ("When does the canteen serve lunch?", "office/canteen.md"),
]


def write_corpus(folder: Path, docs: dict[str, str] = DOCS) -> Path:
    for rel, text in docs.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture()
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")
