"""The report: reads the run store only -> summary.json, frontier.png, report.md, report.html."""

from ladder.report.render import write_report
from ladder.report.summary import summarize

__all__ = ["summarize", "write_report"]
