"""The schedules of a folder of workflows: each file validated, each `schedule:` entry made a `ScheduleSpec`.

A schedule's id is `<file name without .yaml>/<its name>` (or its number, from 1, when it has no name), e.g.
`saisie_dossiers/matin`: it names the job in APScheduler's store, the lock of its fires and its pause state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots.kit import Span, _
from runner.language import (
    Diagnostic,
    ScheduleEntry,
    ScheduleTrigger,
    ValidationResult,
    Workflow,
    parse_time_of_day,
    read_closed_days,
    validate_file,
)
from runner.language.templating import slug
from runner.schedule.settings import SKIP_GRACE


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule of one workflow, ready for APScheduler."""

    job_id: str
    workflow: str
    workflow_file: str
    entry: ScheduleEntry
    trigger: ScheduleTrigger
    notify: dict[str, Any] | None
    fingerprint: str

    @property
    def misfire_grace_time(self) -> float | None:
        if self.entry.grace is not None:
            return self.entry.grace
        return None if self.entry.misfire == "run_once_late" else SKIP_GRACE

    @property
    def job_kwargs(self) -> dict[str, Any]:
        """What the job store keeps with the job: enough to start a run of this version of the schedule."""
        return {
            "job_id": self.job_id,
            "workflow": self.workflow,
            "workflow_file": self.workflow_file,
            "inputs": self.entry.model_dump(mode="json")["inputs"],
            "timezone": self.entry.timezone,
            "notify": self.notify,
            "grace": self.misfire_grace_time,
            "fingerprint": self.fingerprint,
        }


@dataclass
class LoadedFile:
    """A workflow file as last read: its schedules when it was valid, its errors when it was not."""

    path: Path
    signature: tuple[Any, ...]
    specs: list[ScheduleSpec] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    workflow: str | None = None

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def changed(self) -> bool:
        """Whether the file, or a closed-days file it uses, changed since it was read."""
        paths = [Path(part[0]) for part in self.signature]
        return file_signature(paths[0], paths[1:]) != self.signature


def workflow_files(folder: Path) -> list[Path]:
    """The workflow files of a folder, as `robo validate FOLDER` finds them (hidden files left out)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.glob("*.y*ml") if path.is_file() and not path.name.startswith("."))


def file_signature(path: Path, extra: list[Path] | None = None) -> tuple[Any, ...]:
    """What changes when a file (or a closed-days file it uses) is edited.

    The content's digest is part of it: an edit within the file system's clock resolution is seen too.
    Take it *before* reading a file, so that a file still being written when it was read is read again.
    """
    parts: list[Any] = []
    for item in [path, *(extra or [])]:
        try:
            stat = item.stat()
            digest = hashlib.sha256(item.read_bytes()).hexdigest()
            parts.append((str(item), stat.st_mtime_ns, stat.st_size, digest))
        except OSError:
            parts.append((str(item), None, None, None))
    return tuple(parts)


def load_schedules(path: Path) -> LoadedFile:
    """Validate a workflow file and build its schedules; every problem becomes a diagnostic."""
    before = file_signature(path.resolve())  # before reading: a file half written now is read again later
    result = validate_file(path)  # as given, so that messages show the path the user wrote
    path = path.resolve()
    loaded = LoadedFile(path, before, sources={result.path: result.source_lines})
    loaded.diagnostics = list(result.errors)
    workflow = result.workflow
    if workflow is None or not result.ok:
        return loaded
    loaded.workflow = workflow.name
    seen: dict[str, int] = {}
    for index, entry in enumerate(workflow.schedule):
        job_id = f"{path.stem}/{(slug(entry.name) if entry.name else None) or index + 1}"  # never empty
        if job_id in seen:
            loaded.diagnostics.append(
                Diagnostic(
                    _span(result, ("schedule", index, "name")),
                    "duplicate-id",
                    _("two schedules of this workflow are named '{name}'").format(name=entry.name),
                    hint=_("give each schedule its own name"),
                )
            )
            continue
        seen[job_id] = index
        closed: frozenset[dt.date] = frozenset()
        if entry.closed_days_file is not None:
            closed_path = (path.parent / entry.closed_days_file).resolve()
            loaded.signature += file_signature(closed_path)  # before reading it, as above
            closed = _closed_days(result, index, closed_path, loaded)
        try:
            loaded.specs.append(_spec(job_id, workflow, path, entry, closed))
        except (ValueError, OverflowError) as exc:  # a date out of range, say: the validator let it through
            loaded.diagnostics.append(
                Diagnostic(
                    _span(result, ("schedule", index)),
                    "bad-schedule",
                    _("cannot be scheduled: {error}").format(error=exc),
                )
            )
    if not loaded.ok:
        loaded.specs = []
    return loaded


def _spec(
    job_id: str, workflow: Workflow, path: Path, entry: ScheduleEntry, closed: frozenset[dt.date]
) -> ScheduleSpec:
    window = None
    if entry.between is not None:
        start, end = (parse_time_of_day(text) for text in entry.between)
        assert start is not None and end is not None  # checked by the validator
        window = (start, end)
    trigger = ScheduleTrigger(
        timezone=entry.timezone,
        cron=entry.cron,
        every=entry.every,
        at=entry.at,
        skip=entry.skip,
        closed_days=closed,
        between=window,
        working_days_only=entry.working_days_only,
        jitter=entry.jitter,
        seed=job_id,
    )
    notify = workflow.notify.model_dump(mode="json") if workflow.notify is not None else None
    described = {
        "entry": entry.model_dump(mode="json"),
        "closed": sorted(day.isoformat() for day in closed),
        "notify": notify,
        "file": str(path),
        "workflow": workflow.name,
    }
    fingerprint = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
    return ScheduleSpec(job_id, workflow.name, str(path), entry, trigger, notify, fingerprint)


def _closed_days(
    result: ValidationResult, index: int, closed_path: Path, loaded: LoadedFile
) -> frozenset[dt.date]:
    try:
        days, problems = read_closed_days(closed_path)
    except (OSError, UnicodeDecodeError) as exc:
        message = (
            _("the closed days file {path} does not exist").format(path=closed_path)
            if isinstance(exc, FileNotFoundError)
            else _("the closed days file {path} cannot be read ({error})").format(path=closed_path, error=exc)
        )
        loaded.diagnostics.append(
            Diagnostic(
                _span(result, ("schedule", index, "closed_days_file")),
                "bad-schedule",
                message,
                hint=_(
                    "a relative path starts from the workflow's folder; write one date (YYYY-MM-DD) per line"
                ),
            )
        )
        return frozenset()
    for line, column, message in problems:
        loaded.diagnostics.append(Diagnostic(Span(str(closed_path), line, column), "bad-date", message))
    return days


def _span(result: ValidationResult, path: tuple[Any, ...]) -> Span:
    if result.document is None:
        return Span(result.path, 1, 1)
    return result.document.spans.value(path)


def one_line(diagnostic: Diagnostic) -> str:
    """A diagnostic on one line, as a log keeps it: `file:line:col: error[code]: message (hint: …)`."""
    text = f"{diagnostic.span}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"
    if diagnostic.hint:
        text = _("{diagnostic} (hint: {hint})").format(diagnostic=text, hint=diagnostic.hint)
    return text.replace("\n", " ")
