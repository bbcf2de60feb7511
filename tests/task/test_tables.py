"""Data as a table (task/datasets.py): a CSV or TSV file whose header names the keys of the JSONL
records reads as those records, everywhere a data file is read; every bad row is reported as
`file:line: reason`, the line where the row starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder.task import DataError, load_task
from ladder.task.convert import convert_file
from ladder.task.datasets import read_examples
from ladder.task.init import init_task
from ladder.task.validate import validate_file


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        read_examples(path)
    return info.value.problems


def test_a_csv_of_pairs_reads_like_its_jsonl(tmp_path: Path) -> None:
    table = tmp_path / "pairs.csv"
    checks = json.dumps([{"name": "says blue", "kind": "contains", "tag": "knowledge", "value": "blue"}])
    table.write_text(
        "id,input,expected,system,checks\n"
        'a,"What is 2+2?",4,,\n'
        '"b","Name a colour,\nin one word.",blue,Be brief.,' + '"' + checks.replace('"', '""') + '"\n'
        "\n"  # a blank line is no row
        'c,"Say ""hi""",hi,,\n', encoding="utf-8")
    a, b, c = read_examples(table)
    assert (a.id, a.input, a.expected, a.system, a.checks) == ("a", "What is 2+2?", "4", None, ())
    assert (b.input, b.system, b.source) == ("Name a colour,\nin one word.", "Be brief.", f"{table}:3")
    assert [(k.name, k.kind, k.value) for k in b.checks] == [("says blue", "contains", "blue")]
    assert (c.input, c.source) == ('Say "hi"', f"{table}:6")  # the line its row starts on


def test_a_tsv_of_alpaca_rows_and_ids_from_the_line(tmp_path: Path) -> None:
    table = tmp_path / "rows.tsv"
    table.write_text("\ufeffinstruction\tinput\toutput\nTranslate to French.\tcat\tchat\nSay yes.\t\tyes\n",
                     encoding="utf-8")
    first, second = read_examples(table)
    assert (first.id, first.expected, second.id, second.expected) == ("rows-2", "chat", "rows-3", "yes")
    assert "cat" in first.input and "Translate to French." in first.input


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    table = tmp_path / "bad.csv"
    table.write_text(
        "input,expected,checks\n"
        "fine,1,\n"
        "too,many,cells,here\n"
        "x,,\n"  # an empty reference
        'y,2,"[{""kind"": ""contains"""\n'  # the checks cell's JSON is cut short
        '"never closed,3,\n', encoding="utf-8")
    found = problems_of(table)
    assert found[0] == f"{table}:3: 4 cells where the header has 3"
    assert found[1] == f"{table}:4: 'expected' is empty: an example needs its reference answer"
    assert found[2].startswith(f"{table}:5: column 'checks' holds invalid JSON")
    assert found[3] == (f"{table}:6: unreadable row (unexpected end of data): is a quote opened on this row "
                        "left open?")
    assert len(found) == 4


def test_a_header_must_name_each_column_once(tmp_path: Path) -> None:
    table = tmp_path / "header.csv"
    table.write_text("input,expected,,expected\na,b,c,d\n", encoding="utf-8")
    assert problems_of(table) == [f"{table}:1: the header names each column once; column(s) 3 have no name; "
                                  "repeated: expected"]
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert problems_of(empty) == [f"{empty}: no examples (the file is empty)"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("input,expected\ncaf\xe9,1\n".encode("latin-1"))
    assert problems_of(latin) == [f"{latin}:2: not valid UTF-8 (save the table as UTF-8)"]


def test_init_splits_a_csv_into_jsonl_that_loads(tmp_path: Path) -> None:
    table = tmp_path / "sums.csv"
    rows = [(f"s{i}", f"What is {i} plus {i + 3}? Answer with the number only.", str(2 * i + 3)) for i in range(20)]
    table.write_text("id,input,expected\n" + "".join(f'{a},"{b}",{c}\n' for a, b, c in rows), encoding="utf-8")
    out = tmp_path / "task" / "task.yaml"
    result = init_task(table, out, seed=0)
    assert [p.name for p in result.written] == ["sums.train.jsonl", "sums.eval.jsonl", "task.yaml"]
    task = load_task(out)
    assert len(task.train) + len(task.eval) == 20 and {e.id for e in (*task.train, *task.eval)} == {r[0] for r in rows}
    written = [json.loads(line) for name in ("sums.train.jsonl", "sums.eval.jsonl")
               for line in (out.parent / name).read_text().splitlines()]
    assert sorted((r["id"], r["input"], r["expected"]) for r in written) == sorted(rows)
    assert "numeric" in out.read_text()  # the references are numbers: a numeric check is proposed


def test_convert_reads_a_table_and_validate_points_to_convert(tmp_path: Path) -> None:
    table = tmp_path / "chats.csv"
    table.write_text("prompt,completion\n" + "".join(f"Q{i}?,A{i}.\n" for i in range(12)), encoding="utf-8")
    out = tmp_path / "chats.jsonl"
    result = convert_file(table, out, "openai")
    assert (result.written, result.formats_read, result.problems) == (12, {"prompt_completion": 12}, [])
    first = json.loads(out.read_text().splitlines()[0])
    assert [m["content"] for m in first["messages"]] == ["Q0?", "A0."]
    assert validate_file(out).accepted == 12
    report = validate_file(table)
    assert report.unreadable == (f"a CSV table, not JSONL: `ladder data convert {table} OUT.jsonl --to openai` "
                                 "writes its rows as training chats")
    broken = tmp_path / "broken.csv"
    broken.write_text("prompt,completion\nQ?,A.,extra\n", encoding="utf-8")
    failed = convert_file(broken, tmp_path / "never.jsonl", "openai")
    assert failed.problems == [f"{broken}:2: 3 cells where the header has 2"] and not (tmp_path / "never.jsonl").exists()
