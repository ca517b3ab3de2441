"""One self-contained HTML report per run, built from the run store and the audit log (never from the engine).

`report.html` in the run's folder says, for a service agent who did not watch the run: how it ended, in plain
words; what needs attention first (each failed item or step with its message, hint, place in the workflow and
the screenshot taken when it failed); the work items with what each produced; the log messages; the slowest
steps; the files the run saved; and whether the audit log is intact. It is written at the end of every run (and
of every resumed session) and again by `robo runs report RUN_ID`; a single file with its screenshots inside, so
it can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots.kit import KIND_WORDS, atomic_file
from runner.events import ItemStatus, RunStatus, StepStatus, effects_of, is_failed, to_check_hint, touching
from runner.record import AUDIT_LOG_NAME, DRY_RUN_MARK, AuditVerdict, RunRecord, RunStore, verify_audit_log
from runner.review.liveness import reported

REPORT_NAME = "report.html"
MAX_ITEM_ROWS = 5_000
MAX_DETAILED_FAILURES = 200
MAX_EMBEDDED_IMAGE = 2 * 2**20
MAX_EMBEDDED_TOTAL = 6 * 2**20  # well under what the schedule service attaches to a mail (10 MB)
MAX_OUTCOME_COLUMNS = 6
DRY_RUN_HEADLINE = "A dry run: the steps that change something were not called, nothing was entered or sent. "

STATUS_TEXT: dict[str, str] = {
    RunStatus.SUCCEEDED: "Succeeded",
    RunStatus.COMPLETED_WITH_ERRORS: "Completed with errors",
    RunStatus.FAILED: "Failed",
    RunStatus.INTERRUPTED: "Interrupted: can be resumed",
    RunStatus.CRASHED: "Crashed: can be resumed",
    RunStatus.RUNNING: "Running",
}
ITEM_STATUS_TEXT = {
    ItemStatus.DONE: "done",
    ItemStatus.FAILED_BUSINESS: "refused (data)",
    ItemStatus.FAILED_APPLICATION: "failed (system)",
    ItemStatus.FAILED_WORKFLOW: KIND_WORDS["workflow"],
    ItemStatus.TO_CHECK: "to check (maybe entered)",
    ItemStatus.IN_PROGRESS: "interrupted",
    ItemStatus.PENDING: "to do again",
}


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


@dataclass
class Failure:
    """Something that needs a person's attention: a failed item, or a step that failed outside any item."""

    title: str
    kind: str  # business | application | configuration | …
    message: str
    hint: str | None = None
    causes: list[str] = field(default_factory=list)
    step_name: str | None = None
    place: str | None = None  # file:line of the step in the workflow
    at: str | None = None
    handled: bool = False  # on_error: continue / a try block took care of it
    artifacts: list[Artifact] = field(default_factory=list)
    changed: str | None = None  # the item's step that may have entered it before it failed (a submit, a send)
    advice: str | None = None  # for an item to check: what to do, with the commands


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
class Session:
    """One process's part of a run: the first run, then each `--resume`."""

    started_at: str
    finished_at: str | None = None
    status: str | None = None
    duration: float | None = None
    resumed: bool = False
    error_kind: str | None = None  # of the error that stopped it


@dataclass
class ReportData:
    run: RunRecord
    status_text: str
    headline: str
    sessions: list[Session]
    failures: list[Failure]
    more_failures: int
    to_check: list[Failure]  # items that may have been entered before they failed: a person checks them
    items: list[dict[str, Any]]
    item_total: int
    item_counts: dict[str, int]
    outcome_columns: list[str]
    logs: list[dict[str, Any]]
    slowest: list[StepStats]
    artifacts: list[Artifact]
    audit: AuditVerdict | None
    retries: int
    generated_at: str


def _audit_records(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open("rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue  # a line cut by a crash; `verify` reports it
            if isinstance(record, dict):
                yield record


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


def _place(started: dict[str, Any] | None, error: dict[str, Any] | None = None) -> str | None:
    if not started:
        return None
    line = (error or {}).get("line") or started.get("line")  # a workflow bug's own line (its template's)
    return f"{Path(str(started.get('file', ''))).name}:{line}"


def _headline(
    record: RunRecord, item_counts: Counter[str], item_total: int, stopped_by: Failure | None
) -> str:
    done = item_counts.get(ItemStatus.DONE, 0)
    failed = sum(count for status, count in item_counts.items() if is_failed(status))
    to_check = item_counts.get(ItemStatus.TO_CHECK, 0)
    checking = f"; {to_check} to check: they may have been entered (see below)" if to_check else ""
    if record.status == RunStatus.SUCCEEDED and not to_check:
        return f"All {item_total} items done." if item_total else "Every step succeeded."
    if record.status in (RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_ERRORS):
        return f"{done} of {item_total} items done; {failed} need attention{checking}."
    if record.status in (RunStatus.INTERRUPTED, RunStatus.CRASHED):
        left = item_total - done - failed - to_check
        return (
            f"The run stopped before the end ({record.status}): {done} items done, {failed} failed"
            + (f", {to_check} to check" if to_check else "")
            + (f", {left} left" if left > 0 else "")
            + f". Resume it with: robo run {record.workflow_file} --resume {record.id}"
        )
    if stopped_by is not None:
        return f"The run stopped at step '{stopped_by.step_name}': {stopped_by.message}"
    return f"The run failed: {record.error or 'see the log below'}"


FailedStep = tuple[dict[str, Any], dict[str, Any] | None]  # a failed step's event, and its start (its place)


@dataclass
class _AuditFacts:
    """What the report takes from the audit log, in one pass over it."""

    sessions: list[Session] = field(default_factory=list)
    item_failures: dict[str, FailedStep] = field(default_factory=dict)  # the last failed step of each item
    step_failures: list[FailedStep] = field(default_factory=list)  # failed steps outside any item
    artifacts: list[Artifact] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, StepStats] = field(default_factory=dict)
    retries: Counter[str | None] = field(default_factory=Counter)  # by item (None: outside any item)


def _read_audit(run_dir: Path) -> _AuditFacts:
    facts = _AuditFacts()
    embed = _Embedder()
    started_steps: dict[tuple[int, str, str | None], dict[str, Any]] = {}
    for event in _audit_records(run_dir / AUDIT_LOG_NAME):
        kind = event.get("event")
        if kind == "run_started":
            facts.sessions.append(Session(started_at=event["at"], resumed=bool(event.get("resumed_from"))))
        elif kind == "run_finished" and facts.sessions:
            session = facts.sessions[-1]
            session.finished_at = event["at"]
            session.status = event.get("status")
            session.duration = event.get("duration")
            session.error_kind = event.get("error_kind")
        elif kind == "step_started":
            started_steps[(event.get("lane", 0), event["step"], event.get("item"))] = event
        elif kind == "step_finished":
            entry = facts.stats.setdefault(
                event["step"], StepStats(name=str(event.get("name", "")), step=event["step"])
            )
            duration = float(event.get("duration") or 0.0)
            entry.count += 1
            entry.total += duration
            entry.longest = max(entry.longest, duration)
            if event.get("status") == StepStatus.FAILED:
                failed = (event, started_steps.get((event.get("lane", 0), event["step"], event.get("item"))))
                if event.get("item") is None:
                    facts.step_failures.append(failed)
                else:
                    facts.item_failures[event["item"]] = failed
        elif kind == "retry_scheduled":
            facts.retries[event.get("item")] += 1
        elif kind == "log":
            facts.logs.append(event)
        elif kind == "artifact_saved":
            facts.artifacts.append(_artifact(event, run_dir, embed))
    return facts


def _failure(title: str, failed: FailedStep, **extra: Any) -> Failure:
    step_event, started = failed
    error = step_event.get("error") or {}
    values: dict[str, Any] = {
        "kind": str(error.get("kind") or "error"),
        "message": str(error.get("message") or ""),
        "hint": error.get("hint"),
        "causes": list(error.get("cause") or []),
        "step_name": step_event.get("name"),
        "place": _place(started, error),
        "at": step_event.get("at"),
    }
    values.update({key: value for key, value in extra.items() if value is not None})
    return Failure(title=title, **values)


def _item_failure(row: dict[str, Any], facts: _AuditFacts) -> Failure:
    known = row["key"] in facts.item_failures  # else it failed before any step did (e.g. its key)
    touched = touching(effects_of(row.get("effects")))
    return _failure(
        f"item {row['key']}",
        facts.item_failures.get(row["key"], ({}, None)),
        kind=None if known else row["status"].removeprefix("failed_"),
        message=None if known else row["error"] or row["status"],
        at=row.get("finished_at"),
        artifacts=[a for a in facts.artifacts if a.item == row["key"]],
        changed=touched[-1].name if touched else None,
    )


def _item_to_check(run_id: str, row: dict[str, Any], facts: _AuditFacts) -> Failure:
    """An item that may have been entered: why (its changing step), what failed then, what to do."""
    failure = _item_failure(row, facts)
    failure.title = f"item {row['key']}"
    if row["key"] in facts.item_failures:
        failure.causes = [f"then failed: {failure.message}", *failure.causes]
    failure.message = row["error"] or "it may have been entered before it failed"
    failure.kind = str(ItemStatus.TO_CHECK)
    failure.advice = to_check_hint(run_id, row["key"])
    return failure


def _failures(
    record: RunRecord, item_rows: list[dict[str, Any]], facts: _AuditFacts
) -> tuple[list[Failure], Failure | None]:
    """Failed items, then steps that failed outside items; the step that stopped the run (if one did) first."""
    failures = [_item_failure(row, facts) for row in item_rows if is_failed(row["status"])]
    stopped_by: Failure | None = None
    for index, failed in enumerate(facts.step_failures):
        stops = record.status == RunStatus.FAILED and index == len(facts.step_failures) - 1
        failure = _failure(
            f"step '{failed[0].get('name')}'",
            failed,
            handled=not stops,
            artifacts=[a for a in facts.artifacts if a.item is None and a.step == failed[0].get("step")],
        )
        if stops:
            stopped_by = failure
            failures.insert(0, failure)
        else:
            failures.append(failure)
    if record.status == RunStatus.FAILED and stopped_by is None and record.error:
        kind = (facts.sessions[-1].error_kind if facts.sessions else None) or "error"
        stopped_by = Failure(title="the run", kind=kind, message=record.error)
        failures.insert(0, stopped_by)
    return failures, stopped_by


def gather(store: RunStore, run_id: str) -> ReportData:
    """Everything the report shows, read from the store and the run's audit log."""
    record = store.get_run(run_id)
    if record is not None:
        record = reported(record)
    if record is None:
        raise LookupError(f"no run '{run_id}' in {store.shown_url}")
    run_dir = Path(record.run_dir or ".")
    item_rows = store.run_items(record.id)
    facts = _read_audit(run_dir)
    failures, stopped_by = _failures(record, item_rows, facts)
    to_check = [
        _item_to_check(record.id, row, facts) for row in item_rows if row["status"] == ItemStatus.TO_CHECK
    ]
    item_counts = Counter(str(row["status"]) for row in item_rows)
    outcome_columns: list[str] = []
    for row in item_rows:
        row["retries"] = facts.retries.get(row["key"], 0)
        for name in row.get("outcome") or {}:
            if name not in ("key", "status", "error") and name not in outcome_columns:
                outcome_columns.append(name)
    failed_first = sorted(
        item_rows,
        key=lambda row: (
            row["status"] != ItemStatus.TO_CHECK,
            not is_failed(row["status"]),
            row["position"],
        ),
    )
    audit_log = run_dir / AUDIT_LOG_NAME
    return ReportData(
        run=record,
        status_text=STATUS_TEXT.get(record.status, record.status)
        + (f" {DRY_RUN_MARK}" if record.dry_run else ""),
        headline=(DRY_RUN_HEADLINE if record.dry_run else "")
        + _headline(record, item_counts, len(item_rows), stopped_by),
        sessions=facts.sessions,
        failures=failures[:MAX_DETAILED_FAILURES],
        more_failures=max(0, len(failures) - MAX_DETAILED_FAILURES),
        to_check=to_check[:MAX_DETAILED_FAILURES],
        items=failed_first[:MAX_ITEM_ROWS],
        item_total=len(item_rows),
        item_counts=dict(item_counts),
        outcome_columns=outcome_columns[:MAX_OUTCOME_COLUMNS],
        logs=facts.logs[-500:],
        slowest=sorted(facts.stats.values(), key=lambda s: s.total, reverse=True)[:10],
        artifacts=facts.artifacts,
        audit=verify_audit_log(audit_log, record.last_hash) if audit_log.is_file() else None,
        retries=sum(facts.retries.values()),
        generated_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def render(data: ReportData) -> str:
    """The report's HTML, from the template beside this module (autoescaped: page texts are data, not markup)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("runner.review", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["seconds"] = _seconds
    environment.filters["size"] = _size
    environment.filters["local_time"] = _local_time
    environment.globals["item_status_text"] = ITEM_STATUS_TEXT
    environment.globals["ItemStatus"] = ItemStatus
    return environment.get_template("report.html.j2").render(report=data)


def write_report(store: RunStore, run_id: str, path: Path | None = None) -> Path:
    """Write the run's report (atomically: a reader never sees half a file); its path."""
    data = gather(store, run_id)
    target = path or Path(data.run.run_dir or ".") / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render(data)
    with atomic_file(target, "w", encoding="utf-8") as stream:
        stream.write(html)
    return target


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def _size(value: int | None) -> str:
    if value is None:
        return "missing"
    if value < 1024:
        return f"{value} bytes"
    if value < 1024**2:
        return f"{value / 1024:.1f} KB"
    return f"{value / 1024**2:.1f} MB"


def _local_time(value: str | None) -> str:
    if not value:
        return "–"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone().strftime("%d/%m/%Y %H:%M:%S")


__all__ = ["REPORT_NAME", "ReportData", "gather", "render", "write_report"]
