"""What an agent reviews after a run: the HTML report."""

from runner.review.report import REPORT_NAME, write_report

__all__ = [
    "REPORT_NAME",
    "write_report",
]
