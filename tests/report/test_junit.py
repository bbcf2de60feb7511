"""write_junit: one <testcase> per rung of a climb summary, read back with an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ladder.report.junit import write_junit


def _rung(name: str, status: str, quality: float | None, meets: bool, error: str | None = None) -> dict:
    return {"rung": name, "status": status, "quality": quality, "meets_target": meets, "error": error,
            "quality_ci": None if quality is None else [quality - 0.1, min(1.0, quality + 0.1)],
            "n": 10, "n_failed": 0 if quality is None else round(10 * (1 - quality)),
            "eval_seconds": None if status != "ok" else 2.5, "build_seconds": 0.0}


SUMMARY = {
    "run": {"id": "20260101-000000-abcd", "task_name": "tickets <&> \"routing\"",
            "target_metric": "knowledge", "target_value": 0.8},
    "rungs": [
        _rung("zero_shot", "ok", 0.3, False),
        _rung("few_shot", "ok", 0.9, True),
        _rung("rag", "skipped", None, False),
        _rung("lora_sft", "failed", None, False, error="RuntimeError: out of <memory> & time\nsecond line"),
    ],
}


def test_one_testcase_per_rung_with_outcome(tmp_path: Path) -> None:
    path = write_junit(SUMMARY, tmp_path / "ci" / "climb.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == 'ladder climb: tickets <&> "routing"'  # escaped on write, intact on read
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "4", "failures": "1", "errors": "1", "skipped": "1"}
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["zero_shot", "few_shot", "rag", "lora_sft"]

    failure = cases["zero_shot"].find("failure")
    assert failure is not None
    assert failure.get("message") == "knowledge 30.0% (95% CI 20.0%-40.0%); target knowledge >= 80.0%"
    assert "7 of 10 eval rows failed" in failure.text
    assert cases["zero_shot"].get("time") == "2.500"

    passed = cases["few_shot"]
    assert [child.tag for child in passed] == ["system-out"]  # no failure, error or skipped
    assert passed.find("system-out").text.startswith("knowledge 90.0%")

    assert cases["rag"].find("skipped") is not None and cases["rag"].find("failure") is None
    error = cases["lora_sft"].find("error")
    assert error.get("message") == "RuntimeError: out of <memory> & time"
    assert error.text.endswith("second line")
