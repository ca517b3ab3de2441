"""What the report takes from a run's audit log, read in one pass and kept in bounded memory.

The log of a 100 000-item run holds about a million records: nothing here keeps one per record. Per-step
statistics are kept per step of the workflow; step details (parameters as the log has them, secrets already
masked, duration, outcome) only for the items the report shows in detail; per-session lists are capped.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.events import StepStatus, is_failed
from runner.record import AUDIT_LOG_NAME, AuditLogCheck

MAX_EMBEDDED_IMAGE = 2 * 2**20
MAX_EMBEDDED_TOTAL = 6 * 2**20  # well under what the schedule service attaches to a mail (10 MB)
MAX_LOG_MESSAGES = 500
MAX_SESSION_KEYS = 200  # items listed per session and per outcome (the counts are always whole)
MAX_STEPS_PER_ITEM = 50


@dataclass
class Artifact:
    """A file the run saved: a screenshot, a page's HTML, a trace, a download, an output."""

    kind: str
    description: str
    link: str  # relative to the report when the file is in the run's folder
    name: str
    size: int | None
    sha256: str | None
    step: str | None
    item: str | None
    image: str | None = None  # a data: URI when the screenshot is small enough to travel inside the report
    anchor: str = ""  # its id in the page, once shown


@dataclass
class StepStats:
    name: str
    step: str
    count: int = 0
    total: float = 0.0
    longest: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass
class StepDetail:
    """One step of one item, as the audit log has it (its parameters masked as they were logged)."""

    name: str
    action: str | None
    params: dict[str, Any]
    status: str | None = None
    duration: float | None = None
    error: str | None = None


@dataclass
class Session:
    """One process's part of a run: the first run, then each `--resume`, with what it did."""

    started_at: str
    finished_at: str | None = None
    status: str | None = None
    duration: float | None = None
    resumed: bool = False
    error_kind: str | None = None  # of the error that stopped it
    error: str | None = None
    item_counts: Counter[str] = field(default_factory=Counter)
    done: list[str] = field(default_factory=list)  # the records it produced (the first MAX_SESSION_KEYS)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (key, status, error)
    step_failures: list[tuple[str, str]] = field(default_factory=list)  # (step name, message) outside items


@dataclass
class PlannedLoop:
    """A loop as it started: how many items it was given (and their keys when the log names them)."""

    loop: str
    name: str
    total: int
    keys: list[str] = field(default_factory=list)


FailedStep = tuple[dict[str, Any], dict[str, Any] | None]  # a failed step's event, and its start (its place)


@dataclass
class LogFacts:
    """What the report takes from the audit log."""

    sessions: list[Session] = field(default_factory=list)
    item_failures: dict[str, FailedStep] = field(default_factory=dict)  # the last failed step of each item
    step_failures: list[FailedStep] = field(default_factory=list)  # failed steps outside any item
    artifacts: list[Artifact] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, StepStats] = field(default_factory=dict)
    retries: Counter[str | None] = field(default_factory=Counter)  # by item (None: outside any item)
    loops: dict[str, PlannedLoop] = field(default_factory=dict)
    steps_of: dict[str, list[StepDetail]] = field(default_factory=dict)  # of the items shown in detail
    records: int = 0


class _Embedder:
    """Screenshots as data: URIs, within a budget so that a report stays small enough to mail."""

    def __init__(self) -> None:
        self.spent = 0

    def __call__(self, path: Path) -> str | None:
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg") or not path.is_file():
            return None
        size = path.stat().st_size
        if size > MAX_EMBEDDED_IMAGE or self.spent + size > MAX_EMBEDDED_TOTAL:
            return None
        self.spent += size
        kind = "png" if path.suffix.lower() == ".png" else "jpeg"
        return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode()


def _artifact(record: dict[str, Any], run_dir: Path, embed: _Embedder) -> Artifact:
    path = Path(str(record.get("path", "")))
    try:
        link = path.relative_to(run_dir).as_posix()
    except ValueError:
        link = path.as_uri() if path.is_absolute() else str(path)
    size = path.stat().st_size if path.is_file() else None
    return Artifact(
        kind=str(record.get("artifact", "file")),
        description=str(record.get("description", "")),
        link=link,
        name=path.name,
        size=size,
        sha256=record.get("sha256"),
        step=record.get("step"),
        item=record.get("item"),
        image=embed(path) if record.get("artifact") == "screenshot" else None,
    )


def audit_records(path: Path, check: AuditLogCheck | None = None) -> Iterator[dict[str, Any]]:
    """The log's records, in order, read once, a line at a time (a line cut by a crash is skipped); each line is
    also fed to `check`, which verifies the log in the same pass."""
    if not path.is_file():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if check is not None:
                check.feed(raw)
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue  # a line cut by a crash; `verify` reports it
            if isinstance(record, dict):
                yield record


def _error_text(error: Any) -> str | None:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("kind") or "")
    return None if error is None else str(error)


class _Reader:
    def __init__(self, run_dir: Path, detailed: Collection[str]) -> None:
        self.run_dir = run_dir
        self.detailed = detailed
        self.facts = LogFacts()
        self.embed = _Embedder()
        self.started_steps: dict[tuple[int, str, str | None], dict[str, Any]] = {}
        self.open_details: dict[tuple[int, str, str | None], StepDetail] = {}

    def session(self) -> Session:
        if not self.facts.sessions:  # a log whose first record was lost: one session all the same
            self.facts.sessions.append(Session(started_at=""))
        return self.facts.sessions[-1]

    def read(self, event: dict[str, Any]) -> None:
        self.facts.records += 1
        kind = event.get("event")
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(event)

    def on_run_started(self, event: dict[str, Any]) -> None:
        self.facts.sessions.append(Session(started_at=event["at"], resumed=bool(event.get("resumed_from"))))
        self.started_steps.clear()
        self.open_details.clear()

    def on_run_finished(self, event: dict[str, Any]) -> None:
        session = self.session()
        session.finished_at = event["at"]
        session.status = event.get("status")
        session.duration = event.get("duration")
        session.error_kind = event.get("error_kind")
        session.error = event.get("error")

    def on_loop_started(self, event: dict[str, Any]) -> None:
        loop = str(event.get("loop", ""))
        keys = event.get("keys")
        if loop not in self.facts.loops:  # a resumed session starts the loop again: the first plan stays
            self.facts.loops[loop] = PlannedLoop(
                loop=loop,
                name=str(event.get("name") or ""),
                total=int(event.get("total") or 0),
                keys=[str(key) for key in keys] if isinstance(keys, list) else [],
            )

    def on_step_started(self, event: dict[str, Any]) -> None:
        where = (event.get("lane", 0), event["step"], event.get("item"))
        self.started_steps[where] = event
        item = event.get("item")
        if item is not None and item in self.detailed:
            steps = self.facts.steps_of.setdefault(item, [])
            if len(steps) < MAX_STEPS_PER_ITEM:
                detail = StepDetail(
                    name=str(event.get("name") or ""),
                    action=event.get("action"),
                    params=event.get("params") or {},
                )
                steps.append(detail)
                self.open_details[where] = detail

    def on_step_finished(self, event: dict[str, Any]) -> None:
        where = (event.get("lane", 0), event["step"], event.get("item"))
        entry = self.facts.stats.setdefault(
            event["step"], StepStats(name=str(event.get("name", "")), step=event["step"])
        )
        duration = float(event.get("duration") or 0.0)
        entry.count += 1
        entry.total += duration
        entry.longest = max(entry.longest, duration)
        detail = self.open_details.pop(where, None)
        if detail is not None:
            detail.status = event.get("status")
            detail.duration = duration
            detail.error = _error_text(event.get("error"))
        started = self.started_steps.pop(where, None)
        if event.get("status") == StepStatus.FAILED:
            failed = (event, started)
            if event.get("item") is None:
                self.facts.step_failures.append(failed)
                session = self.session()
                if len(session.step_failures) < MAX_SESSION_KEYS:
                    session.step_failures.append(
                        (str(event.get("name") or ""), _error_text(event.get("error")) or "")
                    )
            else:
                self.facts.item_failures[event["item"]] = failed

    def on_item_finished(self, event: dict[str, Any]) -> None:
        session = self.session()
        status = str(event.get("status") or "")
        session.item_counts[status] += 1
        key = str(event.get("key"))
        if status == "done" and len(session.done) < MAX_SESSION_KEYS:
            session.done.append(key)
        elif (is_failed(status) or status == "to_check") and len(session.failed) < MAX_SESSION_KEYS:
            session.failed.append((key, status, str(event.get("error") or "")))

    def on_retry_scheduled(self, event: dict[str, Any]) -> None:
        self.facts.retries[event.get("item")] += 1

    def on_log(self, event: dict[str, Any]) -> None:
        self.facts.logs.append(event)
        if len(self.facts.logs) > 2 * MAX_LOG_MESSAGES:  # keep the last ones, in bounded memory
            del self.facts.logs[:MAX_LOG_MESSAGES]

    def on_artifact_saved(self, event: dict[str, Any]) -> None:
        self.facts.artifacts.append(_artifact(event, self.run_dir, self.embed))


def read_run_log(
    run_dir: Path, detailed: Collection[str] = (), check: AuditLogCheck | None = None
) -> LogFacts:
    """The facts of the run's audit log, in one pass (which `check` verifies); step details only for the items in
    `detailed`."""
    reader = _Reader(run_dir, detailed)
    for event in audit_records(run_dir / AUDIT_LOG_NAME, check):
        reader.read(event)
    reader.facts.logs = reader.facts.logs[-MAX_LOG_MESSAGES:]
    return reader.facts


__all__ = [
    "Artifact",
    "FailedStep",
    "LogFacts",
    "PlannedLoop",
    "Session",
    "StepDetail",
    "StepStats",
    "audit_records",
    "read_run_log",
]
