"""What a command says when a run ends: its outcome as JSON, or its problems and where its records are."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from robots.kit import ConfigurationError, _
from runner.language import print_diagnostics
from runner.record import AUDIT_LOG_NAME
from runner.review import run_page_link
from runner.run.options import RunOutcome


def print_outcome(
    outcome: RunOutcome,
    fmt: str,
    out: Callable[[str], None],
    err: Callable[[str], None],
    environ: Mapping[str, str] | None = None,
) -> None:
    """The outcome as a JSON document on `out` (`fmt` json), else its diagnostics and the paths of its report,
    audit log and artifacts on `err`, and last the link to its page in the console when `ROBO_DASHBOARD_URL`
    (in `environ`, by default the process's) says where the console is."""
    try:
        link = run_page_link(outcome.run_id, os.environ if environ is None else environ)
    except ConfigurationError as exc:
        link = None
        hint = "\n  " + _("hint: {hint}").format(hint=exc.hint) if exc.hint else ""
        err(_("warning: {error}").format(error=exc) + hint)
    if fmt == "json":
        out(
            json.dumps(
                {
                    "status": outcome.status,
                    "run_id": outcome.run_id,
                    "run_dir": str(outcome.run_dir) if outcome.run_dir else None,
                    "report": str(outcome.report) if outcome.report else None,
                    "counts": outcome.counts,
                    "console": link,
                    "errors": [d.to_dict() for d in outcome.diagnostics],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print_diagnostics(outcome.diagnostics, outcome.sources, fmt, out, err)
    if outcome.run_dir is not None:
        if outcome.report is not None:
            err(_("report: {path}").format(path=outcome.report))
        err(_("audit log: {path}").format(path=outcome.run_dir / AUDIT_LOG_NAME))
        err(_("artifacts: {path}").format(path=outcome.run_dir / "artifacts"))
        if link is not None:
            err(_("in the console: {link}").format(link=link))
