"""Which run this process runs: a new one, or a resume (asked, or of the same inputs' unfinished run), claimed
in the run store so that no other process runs it at once, and within the workflow's `concurrency`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from robots.kit import ConfigurationError, _, format_moment, ngettext
from runner.events import STOPPED_BEFORE_END, ItemStatus, RunStatus, clean_data
from runner.language import UNLIMITED, ValidationResult, Workflow
from runner.record import (
    AUDIT_LOG_NAME,
    AuditState,
    AuditVerdict,
    RunClaimant,
    RunRecord,
    RunStore,
    claim_run,
    comparable,
    default_store_url,
    release_slot,
    verify_audit_log,
)
from runner.review import effective_status, process_create_time, still_running
from runner.run.options import RunOptions, new_run_id


class RunRefused(ConfigurationError):
    """The run cannot start now: another process runs it, or fills the workflow's concurrency."""


def say(options: RunOptions, text: str) -> None:
    if options.say is not None:
        options.say(text)


def resuming(
    store: RunStore, options: RunOptions, validation: ValidationResult
) -> tuple[RunOptions, RunRecord]:
    """The options of a resumed run (the same id, records and inputs as the run it continues) and its record."""
    record = store.get_run(options.resume or "")
    if record is None:
        raise ConfigurationError(
            _("there is no run '{run_id}' to resume").format(run_id=options.resume),
            hint=_("see 'robo runs list'"),
        )
    if Path(record.workflow_file).resolve() != Path(validation.path).resolve():
        raise ConfigurationError(
            _("run {run_id} is a run of {workflow_file}, not of {path}").format(
                run_id=record.id, workflow_file=record.workflow_file, path=validation.path
            ),
            hint=f"robo run {record.workflow_file} --resume {record.id}",
        )
    status = effective_status(record)
    if status == RunStatus.RUNNING:
        raise RunRefused(_held_message(record, record.id))
    if status == RunStatus.SUCCEEDED:
        raise ConfigurationError(
            _("run {run_id} already succeeded: there is nothing left to do").format(run_id=record.id)
        )
    _check_audit_log(record)
    inputs = {**record.inputs, **options.inputs}
    return dataclasses.replace(options, run_id=record.id, resume=record.id, inputs=inputs), record


def _check_audit_log(record: RunRecord) -> None:
    """A resumed run appends to its audit log: only one that verifies (less what a crash leaves) is taken."""
    if not record.run_dir:
        return
    path = Path(record.run_dir) / AUDIT_LOG_NAME
    verdict = (
        verify_audit_log(path, record.last_hash, resuming=True)
        if path.is_file()
        else AuditVerdict(AuditState.TAMPERED, 0, problem=_("the log is missing (deleted)"))
    )
    if verdict.state not in (AuditState.INTACT, AuditState.UNKEYED):
        raise ConfigurationError(
            _(
                "run {run_id} cannot be resumed: its audit log {path} fails verification, and a log that fails"
                " is never appended to: {verdict}"
            ).format(run_id=record.id, path=path, verdict=verdict),
            hint=_(
                "the log is kept as it is, as evidence (robo audit verify {run_id}); start a new run with --new"
            ).format(run_id=record.id),
        )


def _held_message(holder: RunRecord, run_id: str) -> str:
    where = _("pid {pid} on {host}").format(pid=holder.pid, host=holder.host)
    if holder.id != run_id:
        return _("run {run_id} of this workflow is already going ({where})").format(
            run_id=holder.id, where=where
        )
    if holder.sessions > 1:
        return _("run {run_id} is being resumed by {where}").format(run_id=run_id, where=where)
    return _("run {run_id} is still running ({where})").format(run_id=run_id, where=where)


def unfinished_run(store: RunStore, validation: ValidationResult, inputs: dict[str, Any]) -> RunRecord | None:
    """The last run of this workflow file with these inputs that stopped before its end (crashed or interrupted)."""
    given = comparable(clean_data(inputs))
    workflow_file = str(Path(validation.path).resolve())
    for record in store.list_runs(workflow_file=workflow_file, dry_run=False, limit=20):
        if comparable(record.inputs) != given:
            continue
        if effective_status(record) in STOPPED_BEFORE_END:
            return record
        if effective_status(record) != RunStatus.RUNNING:
            return None  # a later run of the same inputs went to its end: the older one is not picked up
    return None


def stopped_when(record: RunRecord, stopped_at: str | None) -> str:
    done = record.items.get(ItemStatus.DONE, 0)
    when = _local_time(record.finished_at or stopped_at or record.session_started_at or record.started_at)
    if record.status == RunStatus.INTERRUPTED:
        return ngettext(
            "interrupted at {moment} ({n} item done)", "interrupted at {moment} ({n} items done)", done
        ).format(moment=when, n=done)
    return ngettext(
        "interrupted at {moment} by a crash ({n} item done); to start a new run instead, add --new",
        "interrupted at {moment} by a crash ({n} items done); to start a new run instead, add --new",
        done,
    ).format(moment=when, n=done)


def _local_time(moment: str | None) -> str:
    """A stored moment in the zone for humans, labelled."""
    try:
        return format_moment(dt.datetime.fromisoformat(moment or ""), labelled=True)
    except ValueError:
        return moment or _("an unknown time")


def claim(
    store: RunStore,
    options: RunOptions,
    validation: ValidationResult,
    workflow: Workflow,
    inputs: dict[str, Any],
    previous: RunRecord | None,
) -> RunOptions:
    """Make the run ours in the store (refused when another process holds it); the options with its id."""
    workflow_file = str(Path(validation.path).resolve())
    limit = 0 if options.dry_run or workflow.concurrency == UNLIMITED else int(workflow.concurrency)
    claimant = RunClaimant(
        run_id=previous.id if previous is not None else options.run_id or new_run_id(),
        workflow=workflow.name,
        workflow_file=workflow_file,
        inputs=clean_data(inputs),  # as the run's records keep them: text the store cannot encode replaced
        pid=os.getpid(),
        host=socket.gethostname(),
        proc_started=process_create_time(),
        slots=tuple(f"{workflow_file}#{slot}" for slot in range(1, limit + 1)),
        resuming=previous,
        dry_run=options.dry_run,
    )
    waiting_for = None
    while True:
        claim = claim_run(store, claimant, still_running)
        if claim.taken:
            return dataclasses.replace(options, run_id=claimant.run_id)
        holder = claim.holder
        message = (
            _held_message(holder, claimant.run_id) if holder else _("the run is held by another process")
        )
        if claim.conflict != "workflow" or not options.wait:
            hint = (
                _(
                    "wait for it to end, or add --wait to start when it has; 'concurrency:' in the workflow "
                    "allows more runs at once"
                )
                if claim.conflict == "workflow"
                else _("see 'robo runs list'")
            )
            raise RunRefused(message, hint=hint)
        if holder is not None and holder.id != waiting_for:
            waiting_for = holder.id
            say(options, _("waiting: {reason}").format(reason=message))
        time.sleep(CLAIM_POLL)


CLAIM_POLL = 1.0  # seconds between two tries of a run waiting for its turn


def release(options: RunOptions, run_id: str) -> None:
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    try:
        release_slot(store, run_id, os.getpid())
    except Exception as exc:  # the store may be what failed: the slot frees itself when this process ends
        sys.stderr.write(
            _("warning: run {run_id} could not give back its place: {error}").format(run_id=run_id, error=exc)
            + "\n"
        )
    finally:
        store.close()
