"""What a person reviews of runs: the HTML report, `robo runs` and `robo audit verify`, each run's status as
reported (a run the store has as running whose process is gone crashed), and the link to its page in the console."""

from runner.review.links import DASHBOARD_URL_VARIABLE, RUN_PAGE_PATH, dashboard_url, run_page_link
from runner.review.liveness import (
    effective_status,
    process_alive,
    process_create_time,
    reported,
    reported_runs,
    still_running,
)
from runner.review.report import REPORT_NAME, write_report
from runner.review.runs import (
    find_run,
    mark_item,
    open_store,
    print_items_to_check,
    print_run,
    print_runs,
    rewrite_report,
    verify_audit,
)

__all__ = [
    "DASHBOARD_URL_VARIABLE",
    "REPORT_NAME",
    "RUN_PAGE_PATH",
    "dashboard_url",
    "effective_status",
    "find_run",
    "mark_item",
    "open_store",
    "print_items_to_check",
    "print_run",
    "print_runs",
    "process_alive",
    "process_create_time",
    "reported",
    "reported_runs",
    "rewrite_report",
    "run_page_link",
    "still_running",
    "verify_audit",
    "write_report",
]
