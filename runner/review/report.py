"""One self-contained HTML report per run, built from the run store and the audit log (never from the engine).

`report.html` in the run's folder says, for a service agent who did not watch the run, in the process's language
(French or English, through the gettext catalogs; times in the one labelled zone for humans): how it ended, in
plain words; what to do next, with the exact command; what needs attention first (identical failures grouped in
one card, with the screenshot taken when the first of them failed); the items never started; each session of a
resumed run with its failures and the records it produced; the work items (each linked to its failure card, with
its steps' details); the log messages; the slowest steps; the files the run saved; and whether the audit log is
intact. It is written at the end of every run (and of every resumed session) and again by `robo runs report
RUN_ID`; a single file with its screenshots, styles and its little filter script inside, so it can be mailed or
archived on its own and read offline.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import (
    KIND_WORDS,
    N_,
    _,
    atomic_file,
    current_language,
    format_duration,
    format_moment,
    format_number,
    ngettext,
    page_templates,
    zone_label,
)
from runner.events import (
    STOPPED_BEFORE_END,
    ItemStatus,
    RunStatus,
    effects_of,
    is_failed,
    run_status_text,
    touching,
)
from runner.record import AUDIT_LOG_NAME, AuditLogCheck, AuditVerdict, RunRecord, RunStore
from runner.review.failure_groups import error_signature
from runner.review.item_digest import ItemDigest, digest_items
from runner.review.liveness import reported
from runner.review.run_log import Artifact, FailedStep, LogFacts, Session, StepStats, read_run_log

if TYPE_CHECKING:
    from jinja2 import Environment

REPORT_NAME = "report.html"
MAX_ITEM_ROWS = 2_000  # a page that opens in well under 3 s; all of them: `robo runs show RUN --format json`
MAX_DETAILED_ITEMS = 500  # items whose steps the report details (failed ones first)
MAX_DETAILED_FAILURES = 200
MAX_NOT_STARTED_KEYS = 200
DRY_RUN_HEADLINE = N_(
    "A dry run: the steps that change something were not called, nothing was entered or sent. "
)

STATUS_TEXT: dict[str, str] = {
    RunStatus.SUCCEEDED: N_("Succeeded"),
    RunStatus.COMPLETED_WITH_ERRORS: N_("Completed with errors"),
    RunStatus.FAILED: N_("Failed"),
    RunStatus.INTERRUPTED: N_("Interrupted: can be resumed"),
    RunStatus.CRASHED: N_("Crashed: can be resumed"),
    RunStatus.RUNNING: N_("Running"),
}
ITEM_STATUS_TEXT = {
    ItemStatus.DONE: N_("done"),
    ItemStatus.FAILED_BUSINESS: N_("refused (data)"),
    ItemStatus.FAILED_APPLICATION: N_("failed (system)"),
    ItemStatus.FAILED_WORKFLOW: KIND_WORDS["workflow"],
    ItemStatus.TO_CHECK: N_("to check (maybe entered)"),
    ItemStatus.IN_PROGRESS: N_("interrupted"),
    ItemStatus.PENDING: N_("to do again"),
    ItemStatus.SKIPPED: N_("done earlier"),
}
DRY_RUN_WORDS = N_("(dry run)")  # the store's DRY_RUN_MARK, as a person reads it
RESUMABLE = STOPPED_BEFORE_END | {RunStatus.FAILED}  # the report says how to resume these


@dataclass
class Failure:
    """Something that needs a person's attention: failed items with the same error, or a step outside items."""

    title: str
    kind: str  # business | application | configuration | …
    message: str
    hint: str | None = None
    causes: list[str] = field(default_factory=list)
    step: str | None = None  # the step's path in the workflow
    step_name: str | None = None
    place: str | None = None  # file:line of the step in the workflow
    at: str | None = None
    handled: bool = False  # on_error: continue / a try block took care of it
    artifacts: list[Artifact] = field(default_factory=list)
    changed: str | None = None  # the item's step that may have entered it before it failed (a submit, a send)
    advice: str | None = None  # for an item to check: what to do, with the commands
    # the items with this same error: (key, anchor of its row in the items table)
    items: list[tuple[str, str]] = field(default_factory=list)
    anchor: str = ""


@dataclass
class NextStep:
    """What to do next, in words, with the exact command to type."""

    text: str
    command: str | None = None


@dataclass
class NotStarted:
    """Items a loop was given but never started: the run stopped before them."""

    loop: str
    total: int
    count: int
    keys: list[str]  # the first MAX_NOT_STARTED_KEYS, when the log names them


@dataclass
class ReportData:
    run: RunRecord
    language: str
    zone: str
    status_text: str
    headline: str
    next_steps: list[NextStep]
    sessions: list[Session]
    failures: list[Failure]
    more_failures: int
    to_check: list[Failure]  # items that may have been entered before they failed: a person checks them
    items: list[dict[str, Any]]
    item_total: int
    item_counts: dict[str, int]
    not_started: list[NotStarted]
    items_unknown: bool  # the run stopped before any loop was given its items: their number is not known
    outcome_columns: list[str]
    worker_column: bool  # some item of a distributed loop was done by a fleet's worker: each row says which
    logs: list[dict[str, Any]]
    slowest: list[StepStats]
    artifacts: list[Artifact]
    audit: AuditVerdict | None
    retries: int
    generated_at: str


def _place(started: dict[str, Any] | None, error: dict[str, Any] | None = None) -> str | None:
    if not started:
        return None
    line = (error or {}).get("line") or started.get("line")  # a workflow bug's own line (its template's)
    return f"{Path(str(started.get('file', ''))).name}:{line}"


def _count(value: int) -> str:
    return format_number(value)


def _headline(
    record: RunRecord,
    item_counts: Counter[str],
    item_total: int,
    not_started: int,
    stopped_by: Failure | None,
) -> str:
    done = item_counts.get(ItemStatus.DONE, 0) + item_counts.get(ItemStatus.SKIPPED, 0)
    failed = sum(count for status, count in item_counts.items() if is_failed(status))
    to_check = item_counts.get(ItemStatus.TO_CHECK, 0)
    planned = item_total + not_started
    checking = (
        ngettext(
            "; {n} to check: they may have been entered (see below)",  # English as before, even for 1
            "; {n} to check: they may have been entered (see below)",
            to_check,
        ).format(n=_count(to_check))
        if to_check
        else ""
    )
    if record.status == RunStatus.SUCCEEDED and not to_check:
        if planned:
            return ngettext("The {n} item is done.", "All {n} items done.", planned).format(n=_count(planned))
        return _("Every step succeeded.")
    if record.status in (RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_ERRORS):
        return (
            ngettext(
                "{done} of {total} item done; {failed} need attention",
                "{done} of {total} items done; {failed} need attention",
                planned,
            ).format(done=_count(done), total=_count(planned), failed=_count(failed))
            + checking
            + "."
        )
    if record.status in (RunStatus.INTERRUPTED, RunStatus.CRASHED):
        left = planned - done - failed - to_check
        return _(
            "The run stopped before the end ({status}): {done} done, {failed} failed, {to_check} to check,"
            " {left} left. Resume it with: robo run {file} --resume {run}"
        ).format(
            status=run_status_text(record.status),
            done=_count(done),
            failed=_count(failed),
            to_check=_count(to_check),
            left=_count(max(left, 0)),
            file=record.workflow_file,
            run=record.id,
        )
    if stopped_by is not None:
        return _("The run stopped at step '{step}': {message}").format(
            step=stopped_by.step_name, message=stopped_by.message
        )
    return _("The run failed: {error}").format(error=record.error or _("see the log below"))


def _failure(title: str, failed: FailedStep, **extra: Any) -> Failure:
    step_event, started = failed
    error = step_event.get("error") or {}
    values: dict[str, Any] = {
        "kind": str(error.get("kind") or "error"),
        "message": str(error.get("message") or ""),
        "hint": error.get("hint"),
        "causes": list(error.get("cause") or []),
        "step": step_event.get("step"),
        "step_name": step_event.get("name"),
        "place": _place(started, error),
        "at": step_event.get("at"),
    }
    values.update({key: value for key, value in extra.items() if value is not None})
    return Failure(title=title, **values)


def _item_failure(row: dict[str, Any], facts: LogFacts) -> Failure:
    known = row["key"] in facts.item_failures  # else it failed before any step did (e.g. its key)
    touched = touching(effects_of(row.get("effects")))
    return _failure(
        _("item {key}").format(key=row["key"]),
        facts.item_failures.get(row["key"], ({}, None)),
        kind=None if known else row["status"].removeprefix("failed_"),
        message=None if known else row["error"] or row["status"],
        at=row.get("finished_at"),
        changed=touched[-1].name if touched else None,
        items=[(row["key"], row["anchor"])],
    )


def _item_to_check(run_id: str, row: dict[str, Any], facts: LogFacts) -> Failure:
    """An item that may have been entered: why (its changing step), what failed then, what to do."""
    failure = _item_failure(row, facts)
    if row["key"] in facts.item_failures:
        failure.causes = [_("then failed: {message}").format(message=failure.message), *failure.causes]
    failure.message = row["error"] or _("it may have been entered before it failed")
    failure.kind = str(ItemStatus.TO_CHECK)
    failure.advice = _(
        "check it, then: robo runs mark {run} {key} --done (it is entered) or --redo (it is not); or add"
        " 'already_done' steps to the loop, to check it automatically"
    ).format(run=run_id, key=row["key"])
    failure.artifacts = [a for a in facts.artifacts if a.item == row["key"]]
    return failure


def _grouped_item_failures(rows: list[dict[str, Any]], facts: LogFacts) -> list[Failure]:
    """One card per distinct error (failed_business, failed_application, failed_workflow), in the items' order."""
    groups: dict[tuple[str, str, str], Failure] = {}
    for row in rows:
        if not is_failed(row["status"]):
            continue
        failure = _item_failure(row, facts)
        signature = error_signature(failure.step, failure.kind, failure.message, row["key"])
        group = groups.get(signature)
        if group is None:
            groups[signature] = failure
        else:
            group.items.extend(failure.items)
    shots_by_item: dict[str, list[Artifact]] = {}
    for artifact in facts.artifacts:
        if artifact.item is not None:
            shots_by_item.setdefault(artifact.item, []).append(artifact)
    for failure in groups.values():
        if len(failure.items) > 1:
            failure.title = ngettext(
                "{n} item — same error", "{n} items — same error", len(failure.items)
            ).format(n=_count(len(failure.items)))
        # the first item's evidence speaks for the group (one screenshot, not five of the same page)
        failure.artifacts = shots_by_item.get(failure.items[0][0], [])
    return list(groups.values())


def _failures(
    record: RunRecord, item_rows: list[dict[str, Any]], facts: LogFacts
) -> tuple[list[Failure], Failure | None]:
    """Failed items grouped, then steps that failed outside items; the step that stopped the run first."""
    failures = _grouped_item_failures(item_rows, facts)
    stopped_by: Failure | None = None
    for index, failed in enumerate(facts.step_failures):
        stops = record.status == RunStatus.FAILED and index == len(facts.step_failures) - 1
        failure = _failure(
            _("step '{step}'").format(step=failed[0].get("name")),
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
        stopped_by = Failure(title=_("the run"), kind=kind, message=record.error)
        failures.insert(0, stopped_by)
    for number, failure in enumerate(failures, start=1):
        failure.anchor = f"failure-{number}"
        for shot_number, artifact in enumerate(failure.artifacts, start=1):
            artifact.anchor = f"{failure.anchor}-file-{shot_number}"
    return failures, stopped_by


def _not_started(digest: ItemDigest, facts: LogFacts) -> list[NotStarted]:
    found = []
    for planned in facts.loops.values():
        positions = digest.started.get(planned.loop, bytearray())
        count = planned.total - sum(positions)
        if count > 0:
            keys = [
                key for index, key in enumerate(planned.keys) if not digest.was_started(planned.loop, index)
            ][:MAX_NOT_STARTED_KEYS]
            found.append(
                NotStarted(loop=planned.name or planned.loop, total=planned.total, count=count, keys=keys)
            )
    return found


def _next_steps(
    record: RunRecord, item_counts: Counter[str], not_started: int, items_unknown: bool
) -> list[NextStep]:
    """The exact commands that finish the run's work (those of `robo run --help` and `robo runs --help`)."""
    steps: list[NextStep] = []
    failed = sum(count for status, count in item_counts.items() if is_failed(status))
    to_check = item_counts.get(ItemStatus.TO_CHECK, 0)
    if record.dry_run:
        return [
            NextStep(
                _("Nothing was entered: run the workflow for real when the plan is right."),
                f"robo run {record.workflow_file}",
            )
        ]
    if record.status in RESUMABLE:
        if not_started or items_unknown or record.status != RunStatus.FAILED:
            text = _(
                "Once the cause is fixed, resume the run: what is done stays done, the rest is done now."
            )
        else:
            text = _("Once the cause is fixed, resume the run: only what is not done yet is done again.")
        steps.append(NextStep(text, f"robo run {record.workflow_file} --resume {record.id}"))
    elif failed:
        steps.append(
            NextStep(
                ngettext(
                    "Correct what the {n} failed item needs (see below), then do it again:",
                    "Correct what the {n} failed items need (see below), then do them again:",
                    failed,
                ).format(n=_count(failed)),
                f"robo runs retry {record.id}",
            )
        )
    if to_check:
        steps.append(
            NextStep(
                ngettext(
                    "Look for the {n} item to check in the intranet, then say what you found:",
                    "Look for the {n} items to check in the intranet, then say what you found for each:",
                    to_check,
                ).format(n=_count(to_check)),
                f"robo runs mark {record.id} KEY --done   # " + _("or --redo if it is not entered"),
            )
        )
    if not steps and record.status in (RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_ERRORS):
        steps.append(NextStep(_("Nothing to do: every item is done.")))
    return steps


def gather(store: RunStore, run_id: str) -> ReportData:
    """Everything the report shows, read from the store and, in one pass, the run's audit log."""
    record = store.get_run(run_id)
    if record is not None:
        record = reported(record)
    if record is None:
        raise LookupError(f"no run '{run_id}' in {store.shown_url}")
    run_dir = Path(record.run_dir or ".")
    digest = digest_items(store, record.id, MAX_ITEM_ROWS)
    shown = digest.shown
    audit_log = run_dir / AUDIT_LOG_NAME
    check = AuditLogCheck(audit_log, record.last_hash) if audit_log.is_file() else None
    facts = read_run_log(run_dir, {row["key"] for row in shown[:MAX_DETAILED_ITEMS]}, check)
    failures, stopped_by = _failures(record, digest.failed, facts)
    card_of = {key: failure for failure in failures for key, _anchor in failure.items}
    to_check = [_item_to_check(record.id, row, facts) for row in digest.to_check]
    for number, failure in enumerate(to_check, start=1):
        failure.anchor = f"to-check-{number}"
        card_of[failure.items[0][0]] = failure
    item_counts = digest.counts
    for row in shown:
        row["retries"] = facts.retries.get(row["key"], 0)
        row["steps"] = facts.steps_of.get(row["key"], [])
        card = card_of.get(row["key"])
        row["card"] = card.anchor if card is not None else None
        shots = [a for a in card.artifacts if a.image] if card is not None else []
        row["shot"] = shots[-1].anchor if shots else None
    not_started = _not_started(digest, facts)
    left = sum(entry.count for entry in not_started)
    items_unknown = not digest.total and not facts.loops and record.status in RESUMABLE
    return ReportData(
        run=record,
        language=current_language(),
        zone=zone_label(),
        status_text=_(STATUS_TEXT.get(record.status, record.status))
        + (f" {_(DRY_RUN_WORDS)}" if record.dry_run else ""),
        headline=(_(DRY_RUN_HEADLINE) if record.dry_run else "")
        + _headline(record, item_counts, digest.total, left, stopped_by),
        next_steps=_next_steps(record, item_counts, left, items_unknown),
        sessions=facts.sessions,
        failures=failures[:MAX_DETAILED_FAILURES],
        more_failures=max(0, len(failures) - MAX_DETAILED_FAILURES) + digest.failed_beyond,
        to_check=to_check[:MAX_DETAILED_FAILURES],
        items=shown,
        item_total=digest.total,
        item_counts=dict(item_counts),
        not_started=not_started,
        items_unknown=items_unknown,
        outcome_columns=digest.outcome_columns,
        worker_column=digest.by_workers,
        logs=facts.logs,
        slowest=sorted(facts.stats.values(), key=lambda s: s.total, reverse=True)[:10],
        artifacts=facts.artifacts,
        audit=check.verdict() if check is not None else None,
        retries=sum(facts.retries.values()),
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def render(data: ReportData) -> str:
    """The report's HTML, from the template beside this module (autoescaped: page texts are data, not markup)."""
    return _templates(current_language()).get_template("report.html.j2").render(report=data)


@cache
def _templates(_language: str) -> Environment:
    """The report's templates, compiled once per language (Jinja may translate a literal then), kept on disk."""
    environment = page_templates("runner.review", compiled_for=_language)
    environment.filters.update(
        duration=_duration, size=_size, moment=_moment, number=format_number, translated=_
    )
    environment.globals.update(
        item_status_text=ITEM_STATUS_TEXT,
        run_status_text=STATUS_TEXT,
        kind_words=KIND_WORDS,
        ItemStatus=ItemStatus,
    )
    return environment


def write_report(store: RunStore, run_id: str, path: Path | None = None) -> Path:
    """Write the run's report (atomically: a reader never sees half a file); its path."""
    data = gather(store, run_id)
    target = path or Path(data.run.run_dir or ".") / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render(data)
    with atomic_file(target, "w", encoding="utf-8") as stream:
        stream.write(html)
    return target


def _duration(value: float | None) -> str:
    return "–" if value is None else format_duration(value)


def _size(value: int | None) -> str:
    if value is None:
        return _("missing")
    if value < 1024:
        return ngettext("{n} byte", "{n} bytes", value).format(n=format_number(value))
    if value < 1024**2:
        return _("{n} KB").format(n=format_number(value / 1024, decimals=1))
    return _("{n} MB").format(n=format_number(value / 1024**2, decimals=1))


def _moment(value: str | None, labelled: bool = False) -> str:
    if not value:
        return "–"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return format_moment(moment, labelled=labelled)


__all__ = ["REPORT_NAME", "ReportData", "gather", "render", "write_report"]
