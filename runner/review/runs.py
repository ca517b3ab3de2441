"""What `robo runs` and `robo audit verify` tell a person: the runs of a store, one run, a verdict on an item to check.

Each function writes through the `out` (standard output) and `err` (messages) it is given and returns the command's
exit code; the command line only parses its options and calls here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import (
    ConfigurationError,
    _,
    format_duration,
    format_moment,
    format_number,
    ngettext,
    printable,
    shortened,
    zone_label,
)
from runner.events import (
    ExitCode,
    ItemMark,
    ItemMarked,
    ItemStatus,
    RunStatus,
    item_status_text,
    run_status_text,
    step_status_text,
)
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
            _("error: no run was recorded in {folder}: it has no run store ({name})").format(
                folder=logs, name=DEFAULT_STORE_NAME
            )
            + "\n  "
            + _(
                "hint: runs are recorded beside their workflow (its folder's logs), or where the robo.toml of "
                "its project says: give that folder with --project or --logs, or the store with --store"
            )
        )
        return None
    try:
        return RunStore(url)
    except ConfigurationError as exc:
        _say_error(err, exc)
        return None


def _say_error(err: Say, exc: ConfigurationError) -> None:
    err(
        _("error: {message}").format(message=exc.message)
        + ("\n  " + _("hint: {hint}").format(hint=exc.hint) if exc.hint else "")
    )


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
            err(_("error: no run in {store}").format(store=store.shown_url))
            return None
        return reported(newest[0])
    record = store.get_run(run_id)
    if record is None:
        several = store.run_ids_starting_with(run_id, limit=6)
        if len(several) > 1:
            err(
                _("error: '{beginning}' begins the ids of several runs: {ids}").format(
                    beginning=run_id, ids=", ".join(several[:5]) + (", …" if len(several) > 5 else "")
                )
                + "\n  "
                + _("hint: give more of the run's id")
            )
        else:
            err(_("error: no run '{run_id}' in {store}").format(run_id=run_id, store=store.shown_url))
        return None
    return reported(record)


def _cell(text: object) -> Text:
    """A value from the run store as a rich table cell or line: plain text (no markup), control characters escaped."""
    from rich.text import Text

    return Text(printable(shortened("" if text is None else str(text))))


def _status(record: RunRecord) -> str:
    """The run's status as a person reads it; a dry run says so, since it changed nothing."""
    text = run_status_text(record.status)
    return _("{status} (dry run)").format(status=text) if record.dry_run else text


def _moment(iso: str | None) -> str:
    """A stored moment (UTC, ISO 8601) in the zone for humans, in the language's format."""
    if not iso:
        return ""
    try:
        return format_moment(dt.datetime.fromisoformat(iso))
    except ValueError:
        return iso


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
    err(_("runs recorded in {store}").format(store=store.shown_url))
    if not records:
        err(_("no runs found"))
        return
    # The run as a whole: its duration over all its sessions, its items as the store has them. An id is never cut:
    # it is what the other commands are given. Times are in the zone for humans, named in the heading.
    table = Table()
    table.add_column(_("run"), no_wrap=True, min_width=max(len(record.id) for record in records))
    table.add_column(_("workflow"))  # the one column that wraps: the others are short and read as a whole
    for heading in (
        _("status"),
        _("started ({zone})").format(zone=zone_label()),
        _("duration"),
        _("items done/failed"),
    ):
        table.add_column(heading, no_wrap=True)
    for record in records:
        counts = record.counts or {}
        table.add_row(
            record.id,
            _cell(record.workflow),
            _status(record),
            _moment(record.started_at),
            format_duration(record.duration) if record.duration is not None else "",
            f"{format_number(counts.get('items_done', 0))}/{format_number(counts.get('items_failed', 0))}",
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
        _cell(
            _("run {run_id} of '{workflow}' ({file})").format(
                run_id=record.id, workflow=record.workflow, file=record.workflow_file
            )
        ),
        markup=False,
        highlight=False,
    )
    started = format_moment(dt.datetime.fromisoformat(record.started_at), labelled=True)
    duration = format_duration(record.duration or 0.0)
    if record.sessions > 1:
        line = _("status: {status}; started {moment}; duration {duration} over {sessions} sessions")
    else:
        line = _("status: {status}; started {moment}; duration {duration}")
    console.print(
        line.format(status=_status(record), moment=started, duration=duration, sessions=record.sessions),
        markup=False,
        highlight=False,
    )
    if record.dry_run:
        console.print(_("a dry run: the steps that change something were not called"), markup=False)
    if record.error:
        console.print(_cell(_("error: {message}").format(message=record.error)), markup=False)
    console.print(_cell(_("records: {folder}").format(folder=record.run_dir)), markup=False)
    steps_table = Table(
        _("step"), _("name"), _("item"), _("status"), _("duration"), _("error"), title=_("steps")
    )
    for row in step_rows[-200:]:
        steps_table.add_row(
            row["step"],
            _cell(row["name"]),
            _cell(row["item"]),
            step_status_text(row["status"]),
            format_duration(row["duration"] or 0.0),
            _cell(row["error"]),
        )
    console.print(steps_table)
    others = [row for row in item_rows if row["status"] != ItemStatus.TO_CHECK]
    if others:
        by_workers = any(row.get("worker") for row in others)  # a loop a fleet's workers did: who did each
        columns = [_("loop"), "#", _("key"), _("status"), _("error"), *([_("worker")] if by_workers else [])]
        items_table = Table(*columns, title=_("work items"))
        for row in others:
            cells = [
                row["loop"],
                str(row["position"] + 1),
                _cell(row["key"]),
                item_status_text(row["status"]),
                _cell(row["error"]),
            ]
            items_table.add_row(*cells, *([_cell(row.get("worker"))] if by_workers else []))
        console.print(items_table)
    if to_check:
        title = ngettext(
            "{n} item to check (maybe entered: not done again)",
            "{n} items to check (maybe entered: not done again)",
            len(to_check),
        ).format(n=len(to_check))
        check_table = Table(_("loop"), "#", _("key"), _("why"), title=title)
        for row in to_check:
            check_table.add_row(row["loop"], str(row["position"] + 1), _cell(row["key"]), _cell(row["error"]))
        console.print(check_table)
        console.print(to_check_advice(record.id), markup=False, highlight=False)
    return ExitCode.OK


def mark_item(
    store: RunStore,
    run_id: str,
    key: str,
    err: Say,
    *,
    done: bool,
    loop: str | None,
    by: str | None,
    comment: str = "",
) -> int:
    """`robo runs mark` (and the console's marks): a person's verdict on an item to check, with their comment,
    recorded in the store and the audit log."""
    import getpass

    record = find_run(store, run_id, err)
    if record is None:
        return ExitCode.ERROR
    if record.status == RunStatus.RUNNING:
        err(
            _("error: run {run_id} is running (process {pid} on {host}): mark it once it ends").format(
                run_id=record.id, pid=record.pid, host=record.host
            )
        )
        return ExitCode.ERROR
    rows = [
        row
        for row in store.run_items(record.id)
        if row["key"] == key and (loop is None or row["loop"] == loop)
    ]
    if not rows:
        waiting = [row["key"] for row in store.run_items(record.id) if row["status"] == ItemStatus.TO_CHECK]
        message = (
            _("error: run {run_id} has no item '{key}' in {loop}")
            if loop
            else _("error: run {run_id} has no item '{key}'")
        )
        err(
            message.format(run_id=record.id, key=key, loop=loop)
            + (
                "\n  " + _("hint: the items to check are: {keys}").format(keys=", ".join(waiting[:20]))
                if waiting
                else ""
            )
        )
        return ExitCode.ERROR
    if len(rows) > 1:
        loops = ", ".join(row["loop"] for row in rows)
        err(
            _("error: several loops have an item '{key}' ({loops})").format(key=key, loops=loops)
            + "\n  "
            + _("hint: say which with --loop")
        )
        return ExitCode.ERROR
    row = rows[0]
    audit = None
    if record.run_dir:
        try:  # verified before anything is marked: a log that fails is never appended to
            audit = AuditLog(
                Path(record.run_dir) / AUDIT_LOG_NAME, stored_head=record.last_hash, continuing=True
            )
        except ConfigurationError as exc:
            _say_error(err, exc)
            return ExitCode.ERROR
    event = ItemMarked(
        run_id=record.id,
        loop=row["loop"],
        key=key,
        mark=str(ItemMark.DONE if done else ItemMark.REDO),
        by=by or getpass.getuser(),
        previous_status=str(row["status"]),
        comment=comment.strip(),
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
        err(_("warning: the run's report could not be written again: {reason}").format(reason=exc))
    if done:
        said = _("item {key} of run {run_id} marked {mark} (it was {previous}): it will not be done again")
    else:
        said = _(
            "item {key} of run {run_id} marked {mark} (it was {previous}): the next 'robo runs retry {run_id}' "
            "does it again"
        )
    err(said.format(key=key, run_id=record.id, mark=event.mark, previous=event.previous_status))
    return ExitCode.OK


def to_check_advice(run_id: str) -> str:
    return _(
        "They may have been entered before they failed. Check each in the intranet, then:\n"
        "  robo runs mark {run_id} KEY --done    (it is entered)\n"
        "  robo runs mark {run_id} KEY --redo    (it is not: the next retry does it)\n"
        "or do them all again, knowing some may then be entered twice: robo runs retry {run_id} --force"
    ).format(run_id=run_id)


def print_items_to_check(store: RunStore, run_id: str, err: Say) -> None:
    """The retry summary's list of items to check, apart from the failed ones."""
    rows = [row for row in store.run_items(run_id) if row["status"] == ItemStatus.TO_CHECK]
    if not rows:
        return
    err(
        "\n"
        + ngettext(
            "{n} item to check (not done again):", "{n} items to check (not done again):", len(rows)
        ).format(n=len(rows))
    )
    for row in rows[:50]:
        err(f"  {row['key']}: {row['error'] or ''}")
    if len(rows) > 50:
        more = len(rows) - 50
        err(
            "  "
            + ngettext(
                "… and {n} more: robo runs show {run_id}", "… and {n} more: robo runs show {run_id}", more
            ).format(n=more, run_id=run_id)
        )
    err(to_check_advice(run_id))


def rewrite_report(store: RunStore, run_id: str, output: Path | None, out: Say, err: Say) -> int:
    """`robo runs report`: the run's HTML report written again."""
    record = find_run(store, run_id, err)
    if record is None:
        return ExitCode.ERROR
    try:
        path = write_report(store, record.id, output)
    except OSError as exc:
        err(_("error: the report could not be written: {reason}").format(reason=exc))
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
            err(_("error: '{target}' is neither an audit log file nor a known run id").format(target=target))
            return ExitCode.USAGE
        path = Path(record.run_dir) / AUDIT_LOG_NAME
        expected = record.last_hash
    if not path.is_file():
        err(_("error: the audit log {path} is missing").format(path=path))
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
        err(
            _("note: no run store found for run {run_id}: the log is checked against its seal only").format(
                run_id=run_id
            )
        )
        return None
    store = open_store(folder or logs, url, err)
    if store is None:
        raise _StoreUnavailable
    try:
        record = store.get_run(run_id)
    finally:
        store.close()
    if record is None or record.id != run_id:
        err(
            _("note: run {run_id} is not in {store}: the log is checked against its seal only").format(
                run_id=run_id, store=store.shown_url
            )
        )
        return None
    last_hash: str | None = record.last_hash
    return last_hash
