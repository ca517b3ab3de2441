"""What `robo runs` and `robo audit verify` tell a person: the runs of a store, one run, a verdict on an item to check.

Each function writes through the `out` (standard output) and `err` (messages) it is given and returns the command's
exit code; the command line only parses its options and calls here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import ConfigurationError, printable, shortened
from runner.events import ExitCode, ItemMark, ItemMarked, ItemStatus, RunStatus
from runner.record import (
    AUDIT_LOG_NAME,
    DEFAULT_STORE_NAME,
    AuditLog,
    AuditState,
    RunRecord,
    RunStore,
    default_store_url,
    record_run_id,
    verify_audit_log,
)
from runner.review.liveness import reported, reported_runs
from runner.review.report import write_report

if TYPE_CHECKING:
    from rich.text import Text

Say = Callable[[str], None]


def open_store(logs: Path, url: str | None, err: Say) -> RunStore | None:
    """The run store of `--store`, else of the logs folder; None, said on `err`, when it cannot be opened.

    A store is read here, never made: a logs folder without one is said, and no empty `logs/` is left behind.
    """
    url = url or default_store_url(logs)
    if _missing(url):
        err(
            f"error: no run was recorded in {logs}: it has no run store ({DEFAULT_STORE_NAME})\n"
            "  hint: name the folder where the runs were recorded with --logs, or their store with --store"
        )
        return None
    try:
        return RunStore(url)
    except ConfigurationError as exc:
        err(f"error: {exc.message}\n  hint: {exc.hint}")
        return None


def _missing(url: str) -> bool:
    """Whether `url` is a SQLite file that is not there (opening it would make it)."""
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file()


LAST_RUN = "last"  # the run id that names the newest run of the store


def find_run(store: RunStore, run_id: str, err: Say) -> RunRecord | None:
    """The run named `run_id` (the whole id, a unique beginning of it, or `last`), as reported; None, said, when
    there is none or the beginning names several runs."""
    if run_id == LAST_RUN:
        newest = store.list_runs(limit=1)
        if not newest:
            err(f"error: no run in {store.shown_url}")
            return None
        return reported(newest[0])
    record = store.get_run(run_id)
    if record is None:
        several = store.run_ids_starting_with(run_id, limit=6)
        if len(several) > 1:
            err(
                f"error: '{run_id}' begins the ids of several runs: {', '.join(several[:5])}"
                + (", …" if len(several) > 5 else "")
                + "\n  hint: give more of the run's id"
            )
        else:
            err(f"error: no run '{run_id}' in {store.shown_url}")
        return None
    return reported(record)


def _cell(text: object) -> Text:
    """A value from the run store as a rich table cell or line: plain text (no markup), control characters escaped."""
    from rich.text import Text

    return Text(printable(shortened("" if text is None else str(text))))


def _console() -> Any:
    from rich.console import Console

    return Console(width=max(120, Console().width))


def print_runs(
    store: RunStore,
    out: Say,
    err: Say,
    *,
    workflow: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    fmt: str,
) -> None:
    """`robo runs list`: the runs, newest first."""
    from rich.table import Table

    records = reported_runs(store, workflow=workflow, status=status, since=since, limit=limit)
    if fmt == "json":
        out(json.dumps([record.__dict__ for record in records], ensure_ascii=False, indent=2, default=str))
        return
    err(f"runs recorded in {store.shown_url}")
    if not records:
        err("no runs found")
        return
    # The run as a whole: its duration over all its sessions, its items as the store has them. An id is never cut:
    # it is what the other commands are given.
    table = Table()
    table.add_column("run", no_wrap=True, min_width=max(len(record.id) for record in records))
    for heading in ("workflow", "status", "started", "duration", "items done/failed"):
        table.add_column(heading)
    for record in records:
        counts = record.counts or {}
        table.add_row(
            record.id,
            _cell(record.workflow),
            record.status_label,
            record.started_at[:19].replace("T", " "),
            f"{record.duration:.1f} s" if record.duration is not None else "",
            f"{counts.get('items_done', 0)}/{counts.get('items_failed', 0)}",
        )
    _console().print(table)


def print_run(store: RunStore, run_id: str, out: Say, err: Say, *, fmt: str) -> int:
    """`robo runs show`: one run, its status, steps and work items."""
    from rich.table import Table

    record = find_run(store, run_id, err)
    if record is None:
        return ExitCode.ERROR
    step_rows = store.run_steps(record.id)
    item_rows = store.run_items(record.id)
    to_check = [row for row in item_rows if row["status"] == ItemStatus.TO_CHECK]
    if fmt == "json":
        payload = {
            "run": record.__dict__,
            "steps": step_rows,
            "items": item_rows,
            "to_check": [row["key"] for row in to_check],
        }
        out(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return ExitCode.OK
    console = _console()
    console.print(
        _cell(f"run {record.id} of '{record.workflow}' ({record.workflow_file})"),
        markup=False,
        highlight=False,
    )
    sessions = f" over {record.sessions} sessions" if record.sessions > 1 else ""
    console.print(
        f"status: {record.status_label}; started {record.started_at}; duration {record.duration} s{sessions}",
        markup=False,
    )
    if record.dry_run:
        console.print("a dry run: the steps that change something were not called", markup=False)
    if record.error:
        console.print(_cell(f"error: {record.error}"), markup=False)
    console.print(_cell(f"records: {record.run_dir}"), markup=False)
    steps_table = Table("step", "name", "item", "status", "duration", "error", title="steps")
    for row in step_rows[-200:]:
        steps_table.add_row(
            row["step"],
            _cell(row["name"]),
            _cell(row["item"]),
            row["status"],
            f"{row['duration'] or 0:.3f} s",
            _cell(row["error"]),
        )
    console.print(steps_table)
    others = [row for row in item_rows if row["status"] != ItemStatus.TO_CHECK]
    if others:
        items_table = Table("loop", "#", "key", "status", "error", title="work items")
        for row in others:
            items_table.add_row(
                row["loop"], str(row["position"] + 1), _cell(row["key"]), row["status"], _cell(row["error"])
            )
        console.print(items_table)
    if to_check:
        check_table = Table(
            "loop", "#", "key", "why", title=f"{len(to_check)} items to check (maybe entered: not done again)"
        )
        for row in to_check:
            check_table.add_row(row["loop"], str(row["position"] + 1), _cell(row["key"]), _cell(row["error"]))
        console.print(check_table)
        console.print(to_check_advice(record.id), markup=False, highlight=False)
    return ExitCode.OK


def mark_item(
    store: RunStore, run_id: str, key: str, err: Say, *, done: bool, loop: str | None, by: str | None
) -> int:
    """`robo runs mark`: a person's verdict on an item to check, recorded in the store and the audit log."""
    import getpass

    record = find_run(store, run_id, err)
    if record is None:
        return ExitCode.ERROR
    if record.status == RunStatus.RUNNING:
        err(
            f"error: run {record.id} is running (process {record.pid} on {record.host}): mark it once it ends"
        )
        return ExitCode.ERROR
    rows = [
        row
        for row in store.run_items(record.id)
        if row["key"] == key and (loop is None or row["loop"] == loop)
    ]
    if not rows:
        waiting = [row["key"] for row in store.run_items(record.id) if row["status"] == ItemStatus.TO_CHECK]
        err(
            f"error: run {record.id} has no item '{key}'"
            + (f" in {loop}" if loop else "")
            + (f"\n  hint: the items to check are: {', '.join(waiting[:20])}" if waiting else "")
        )
        return ExitCode.ERROR
    if len(rows) > 1:
        loops = ", ".join(row["loop"] for row in rows)
        err(f"error: several loops have an item '{key}' ({loops})\n  hint: say which with --loop")
        return ExitCode.ERROR
    row = rows[0]
    audit = None
    if record.run_dir:
        try:  # verified before anything is marked: a log that fails is never appended to
            audit = AuditLog(
                Path(record.run_dir) / AUDIT_LOG_NAME, stored_head=record.last_hash, continuing=True
            )
        except ConfigurationError as exc:
            err(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
            return ExitCode.ERROR
    event = ItemMarked(
        run_id=record.id,
        loop=row["loop"],
        key=key,
        mark=str(ItemMark.DONE if done else ItemMark.REDO),
        by=by or getpass.getuser(),
        previous_status=str(row["status"]),
    )
    store.mark_item(event)
    if audit is not None:
        try:
            store.set_last_hash(record.id, audit.append(event.to_dict(), durable=True))
        finally:
            audit.close()
    try:
        write_report(store, record.id)
    except OSError as exc:
        err(f"warning: the run's report could not be written again: {exc}")
    then = "it will not be done again" if done else f"the next 'robo runs retry {record.id}' does it again"
    err(f"item {key} of run {record.id} marked {event.mark} (it was {event.previous_status}): {then}")
    return ExitCode.OK


def to_check_advice(run_id: str) -> str:
    return (
        "They may have been entered before they failed. Check each in the intranet, then:\n"
        f"  robo runs mark {run_id} KEY --done    (it is entered)\n"
        f"  robo runs mark {run_id} KEY --redo    (it is not: the next retry does it)\n"
        f"or do them all again, knowing some may then be entered twice: robo runs retry {run_id} --force"
    )


def print_items_to_check(store: RunStore, run_id: str, err: Say) -> None:
    """The retry summary's list of items to check, apart from the failed ones."""
    rows = [row for row in store.run_items(run_id) if row["status"] == ItemStatus.TO_CHECK]
    if not rows:
        return
    err(f"\n{len(rows)} item{'s' if len(rows) != 1 else ''} to check (not done again):")
    for row in rows[:50]:
        err(f"  {row['key']}: {row['error'] or ''}")
    if len(rows) > 50:
        err(f"  … and {len(rows) - 50} more: robo runs show {run_id}")
    err(to_check_advice(run_id))


def rewrite_report(store: RunStore, run_id: str, output: Path | None, out: Say, err: Say) -> int:
    """`robo runs report`: the run's HTML report written again."""
    record = find_run(store, run_id, err)
    if record is None:
        return ExitCode.ERROR
    try:
        path = write_report(store, record.id, output)
    except OSError as exc:
        err(f"error: the report could not be written: {exc}")
        return ExitCode.ERROR
    out(str(path))
    return ExitCode.OK


def verify_audit(target: str, logs: Path, url: str | None, out: Say, err: Say) -> int:
    """`robo audit verify`: a run's audit log (by run id or path) checked against its seal and the run store."""
    path = Path(target)
    expected: str | None = None
    if path.is_file():
        try:
            expected = _stored_last_hash(path, logs, url, err)
        except _StoreUnavailable:
            return ExitCode.ERROR
    else:
        record = None
        if not _missing(url or default_store_url(logs)):
            store = open_store(logs, url, err)
            if store is None:
                return ExitCode.ERROR
            try:
                record = store.get_run(target)
            finally:
                store.close()
        if record is None or not record.run_dir:
            err(f"error: '{target}' is neither an audit log file nor a known run id")
            return ExitCode.USAGE
        path = Path(record.run_dir) / AUDIT_LOG_NAME
        expected = record.last_hash
    if not path.is_file():
        err(f"error: the audit log {path} is missing")
        return ExitCode.ERROR
    verdict = verify_audit_log(path, expected)
    out(f"{path}: {verdict}")
    codes = {AuditState.INTACT: ExitCode.OK, AuditState.UNKEYED: ExitCode.PARTLY}
    return codes.get(verdict.state, ExitCode.ERROR)


class _StoreUnavailable(Exception):
    """The run store that keeps a log's last MAC cannot be opened (said already)."""


def _stored_last_hash(path: Path, logs: Path, url: str | None, err: Say) -> str | None:
    """The last MAC the run store keeps for the run of an audit log named by its path, a second anchor beside the
    log's seal: in `--store`, else the store of the logs folder the log is in, else `--logs`'s."""
    with path.open("rb") as handle:
        run_id = record_run_id(handle.readline().rstrip(b"\n"))
    if run_id is None:
        return None  # the chain check names the broken first line
    candidates = [path.resolve().parent.parent.parent, logs]  # logs/<workflow>/<run id>/audit.jsonl
    folder = next((c for c in candidates if (c / DEFAULT_STORE_NAME).is_file()), None)
    if url is None and folder is None:
        err(f"note: no run store found for run {run_id}: the log is checked against its seal only")
        return None
    store = open_store(folder or logs, url, err)
    if store is None:
        raise _StoreUnavailable
    try:
        record = store.get_run(run_id)
    finally:
        store.close()
    if record is None or record.id != run_id:
        err(f"note: run {run_id} is not in {store.shown_url}: the log is checked against its seal only")
        return None
    last_hash: str | None = record.last_hash
    return last_hash
