"""What a run is asked (`RunOptions`) and what it gives back (`RunOutcome`, its exit code)."""

from __future__ import annotations

import datetime as dt
import secrets as random_tokens
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.engine import Distributor
from runner.events import EXIT_CODES, EventSink, ExitCode, RunStatus
from runner.language import Diagnostic


@dataclass(frozen=True)
class StartedRun:
    """What a run that started is, for what composes it: a fleet's distributor shares its loops out with this."""

    store_url: str
    run_id: str
    workflow_file: str
    workflow_dir: str
    source: str  # the workflow file's text as the run validated it


@dataclass
class RunOptions:
    inputs: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    logs_dir: Path = Path("logs")
    store_url: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    extra_sinks: list[EventSink] = field(default_factory=list)
    environ: Mapping[str, str] | None = None
    handle_signals: bool = False
    run_id: str | None = None
    resume: str | None = None
    force: bool = False  # on a resume: do items to check again without asking (they may be entered twice)
    # Resume the run of this workflow file and inputs that crashed or was interrupted, if there is one.
    resume_unfinished: bool = False
    run_dir: Path | None = None  # a resumed run's folder, where its earlier sessions wrote
    wait: bool = False  # wait for the runs that fill the workflow's concurrency, rather than refuse to start
    say: Callable[[str], None] | None = None  # what a person should know before the run starts
    # Hands the run's `distribute:` loops to a fleet's workers (`runner.fleet.fleet_distributor`); None: none.
    distributor: Callable[[StartedRun], Distributor | None] | None = None
    # Set from another thread, it stops the run after its current step, as SIGTERM does (a fleet's worker asked
    # to stop): the run is recorded interrupted, to be resumed.
    stop: threading.Event | None = None


NOT_STARTED = (
    "invalid"  # the outcome's status when the run could not start (nothing is recorded): not a RunStatus
)


@dataclass
class RunOutcome:
    status: str  # a RunStatus, or NOT_STARTED
    run_id: str | None = None
    run_dir: Path | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[RunStatus(self.status)] if self.status in EXIT_CODES else ExitCode.ERROR


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + random_tokens.token_hex(3)
