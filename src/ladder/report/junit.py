"""A climb as a JUnit XML report, so CI systems show one test case per rung.

A rung passes when it meets the task's target (`meets_target` in the summary); a rung that ran
but missed the target is a <failure> whose message gives its quality, interval and the target; a
rung the climb did not run is <skipped>; a rung that broke is an <error> carrying its error text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _quality_line(rung: dict[str, Any], metric: str, target: float) -> str:
    ci = rung.get("quality_ci")
    interval = f" (95% CI {_pct(ci[0])}-{_pct(ci[1])})" if ci else ""
    return f"{metric} {_pct(rung.get('quality'))}{interval}; target {metric} >= {_pct(target)}"


def junit_tree(summary: dict[str, Any]) -> ET.ElementTree:
    """The JUnit document for a `ladder.report.summarize()` result: one <testsuite> per run."""
    run = summary["run"]
    metric, target = run["target_metric"], float(run["target_value"])
    suite = ET.Element("testsuite", name=f"ladder climb: {run['task_name']}", id=str(run["id"]))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rung in summary["rungs"]:
        counts["tests"] += 1
        case = ET.SubElement(suite, "testcase", name=rung["rung"], classname=f"ladder.{run['task_name']}")
        if rung.get("eval_seconds") is not None:
            case.set("time", f"{float(rung['eval_seconds']) + float(rung.get('build_seconds') or 0):.3f}")
        status = rung["status"]
        if status == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=rung.get("error") or rung.get("description") or "not climbed")
        elif status != "ok":
            counts["errors"] += 1
            error = rung.get("error") or status
            node = ET.SubElement(case, "error", message=error.splitlines()[0] if error else status, type=status)
            node.text = error
        elif not rung["meets_target"]:
            counts["failures"] += 1
            line = _quality_line(rung, metric, target)
            node = ET.SubElement(case, "failure", message=line, type="below target")
            node.text = f"{line}\n{rung.get('n_failed', 0)} of {rung.get('n', 0)} eval rows failed"
        else:
            ET.SubElement(case, "system-out").text = _quality_line(rung, metric, target)
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="ladder")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(summary: dict[str, Any], path: str | Path) -> Path:
    """Write the JUnit XML of a climb's summary to `path` (its folder is created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(summary).write(path, encoding="utf-8", xml_declaration=True)
    return path
