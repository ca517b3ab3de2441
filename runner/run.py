"""One run from start to end: validate, resolve inputs and secrets, open the run's records, execute, report.

`run_workflow` is what `robo run` calls. It never lets a Python traceback out for a problem of the workflow,
its inputs or its environment: those come back as a `RunOutcome` whose `diagnostic` says where and what.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets as random_tokens
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots import RobotContext
from robots.base import SharedResources, remove_leftovers
from runner.audit import AUDIT_LOG_NAME, AuditLog
from runner.diagnostics import Diagnostic
from runner.engine import Engine, RunInterrupted, StepFailure
from runner.errors import ConfigurationError, RoboError, WorkflowError
from runner.events import ArtifactSaved, Event, EventSink, LogMessage, RunFinished, RunStarted, StepStarted
from runner.inputs import resolve_inputs
from runner.ledger import WorkItemLedger
from runner.loader import Span
from runner.model import Workflow
from runner.secrets import Redactor, resolve_secrets
from runner.store import RunRecord, RunStore, RunStoreSink, default_store_url
from runner.templating import slug
from runner.validate import ValidationResult, validate_file

EXIT_CODES = {"succeeded": 0, "failed": 1, "completed_with_errors": 3, "interrupted": 130}


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
    # Resume the run of this workflow file and inputs that crashed or was interrupted, if there is one.
    resume_unfinished: bool = False
    wait: bool = False  # wait for the runs that fill the workflow's concurrency, rather than refuse to start
    say: Callable[[str], None] | None = None  # what a person should know before the run starts


@dataclass
class RunOutcome:
    status: str
    run_id: str | None = None
    run_dir: Path | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + random_tokens.token_hex(3)


class _Dispatcher:
    """Redacts every event once, then hands it to each sink in order (audit log first)."""

    def __init__(self, sinks: list[EventSink], redactor: Redactor) -> None:
        self.sinks = sinks
        self.redactor = redactor
        self._lock = threading.Lock()
        self.current_step: dict[int, StepStarted] = {}  # per lane: what an artifact saved now belongs to

    def __call__(self, event: Event) -> None:
        if self.redactor:
            event = _redacted(event, self.redactor)
        with self._lock:
            if isinstance(event, StepStarted):
                self.current_step[event.lane] = event
            for sink in self.sinks:
                sink.handle(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def _redacted(event: Event, redactor: Redactor) -> Event:
    import dataclasses

    changes = {}
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        cleaned = redactor.data(value)
        if cleaned != value:
            changes[item.name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event


def run_workflow(path: str | Path, options: RunOptions) -> RunOutcome:
    """Validate and run one workflow file; every outcome, good or bad, is returned, never raised."""
    validation = validate_file(path)
    if not validation.ok or validation.workflow is None:
        return RunOutcome(
            "invalid", diagnostics=validation.errors, sources={validation.path: validation.source_lines}
        )
    workflow = validation.workflow
    workflow_dir = Path(path).resolve().parent
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    try:
        previous = None
        if options.resume:
            options, previous = _resuming(store, options, validation)
        inputs = resolve_inputs(workflow, options.inputs, Path.cwd(), workflow_dir)
        if previous is None and options.resume_unfinished and not options.dry_run:
            previous = _unfinished_run(store, validation, inputs)
            if previous is not None:
                options, previous = _resuming(
                    store, dataclasses.replace(options, resume=previous.id), validation
                )
                stopped_at = store.last_activity(previous.id)
                _say(options, f"resuming run {previous.id}, {_stopped_when(previous, stopped_at)}")
        secret_values = resolve_secrets(
            workflow.secrets, search_dirs=[workflow_dir, Path.cwd()], environ=options.environ
        )
        options = _claim(store, options, validation, workflow, inputs, previous)
    except RunRefused as exc:
        return RunOutcome("invalid", diagnostics=[_top_diagnostic(validation, "already-running", exc)])
    except RoboError as exc:
        return RunOutcome("invalid", diagnostics=[_top_diagnostic(validation, "configuration-error", exc)])
    finally:
        store.close()
    run_id = options.run_id or ""
    folders = _leftover_folders(workflow_dir, inputs, previous)
    if previous is not None:
        remove_leftovers(run_id, folders)
    written = _WrittenFolders()
    options = dataclasses.replace(options, extra_sinks=[*options.extra_sinks, written])
    try:
        return _execute(validation, workflow, workflow_dir, inputs, secret_values, options)
    except BaseException:
        _release(options, run_id)  # so that a process that lives on does not hold the workflow's slot
        raise
    finally:
        remove_leftovers(run_id, folders | written.folders)


def _release(options: RunOptions, run_id: str) -> None:
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    try:
        store.release_slot(run_id, os.getpid())
    except Exception as exc:  # the store may be what failed: the slot frees itself when this process ends
        sys.stderr.write(f"warning: run {run_id} could not give back its place: {exc}\n")
    finally:
        store.close()


class RunRefused(ConfigurationError):
    """The run cannot start now: another process runs it, or fills the workflow's concurrency."""


def _say(options: RunOptions, text: str) -> None:
    if options.say is not None:
        options.say(text)


def _resuming(
    store: RunStore, options: RunOptions, validation: ValidationResult
) -> tuple[RunOptions, RunRecord]:
    """The options of a resumed run (the same id, records and inputs as the run it continues) and its record."""
    from runner.ledger import effective_status

    record = store.get_run(options.resume or "")
    if record is None:
        raise ConfigurationError(f"there is no run '{options.resume}' to resume", hint="see 'robo runs list'")
    if Path(record.workflow_file).resolve() != Path(validation.path).resolve():
        raise ConfigurationError(
            f"run {record.id} is a run of {record.workflow_file}, not of {validation.path}",
            hint=f"robo run {record.workflow_file} --resume {record.id}",
        )
    status = effective_status(record)
    if status == "running":
        raise RunRefused(_held_message(record, record.id))
    if status == "succeeded":
        raise ConfigurationError(f"run {record.id} already succeeded: there is nothing left to do")
    inputs = {**record.inputs, **options.inputs}
    return dataclasses.replace(options, run_id=record.id, resume=record.id, inputs=inputs), record


def _held_message(holder: RunRecord, run_id: str) -> str:
    where = f"pid {holder.pid} on {holder.host}"
    if holder.id != run_id:
        return f"run {holder.id} of this workflow is already going ({where})"
    if holder.sessions > 1:
        return f"run {run_id} is being resumed by {where}"
    return f"run {run_id} is still running ({where})"


def _unfinished_run(
    store: RunStore, validation: ValidationResult, inputs: dict[str, Any]
) -> RunRecord | None:
    """The last run of this workflow file with these inputs that stopped before its end (crashed or interrupted)."""
    from runner.ledger import effective_status
    from runner.store import comparable

    given = comparable(inputs)
    workflow_file = str(Path(validation.path).resolve())
    for record in store.list_runs(workflow_file=workflow_file, dry_run=False, limit=20):
        if comparable(record.inputs) != given:
            continue
        if effective_status(record) in RESUMABLE:
            return record
        if effective_status(record) != "running":
            return None  # a later run of the same inputs went to its end: the older one is not picked up
    return None


RESUMABLE = frozenset({"crashed", "interrupted"})


def _stopped_when(record: RunRecord, stopped_at: str | None) -> str:
    done = record.items.get("done", 0)
    when = _local_time(record.finished_at or stopped_at or record.session_started_at or record.started_at)
    if record.status == "interrupted":
        return f"interrupted at {when} ({done} items done)"
    return f"interrupted at {when} by a crash ({done} items done); to start a new run instead, add --new"


def _local_time(moment: str | None) -> str:
    try:
        return dt.datetime.fromisoformat(moment or "").astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return moment or "an unknown time"


def _claim(
    store: RunStore,
    options: RunOptions,
    validation: ValidationResult,
    workflow: Workflow,
    inputs: dict[str, Any],
    previous: RunRecord | None,
) -> RunOptions:
    """Make the run ours in the store (refused when another process holds it); the options with its id."""
    from runner.ledger import process_create_time
    from runner.model import UNLIMITED
    from runner.store import RunClaimant

    workflow_file = str(Path(validation.path).resolve())
    limit = 0 if options.dry_run or workflow.concurrency == UNLIMITED else int(workflow.concurrency)
    claimant = RunClaimant(
        run_id=previous.id if previous is not None else options.run_id or new_run_id(),
        workflow=workflow.name,
        workflow_file=workflow_file,
        inputs=inputs,
        pid=os.getpid(),
        host=socket.gethostname(),
        proc_started=process_create_time(),
        slots=tuple(f"{workflow_file}#{slot}" for slot in range(1, limit + 1)),
        resuming=previous,
        dry_run=options.dry_run,
    )
    waiting_for = None
    while True:
        claim = store.claim_run(claimant)
        if claim.taken:
            return dataclasses.replace(options, run_id=claimant.run_id)
        holder = claim.holder
        message = _held_message(holder, claimant.run_id) if holder else "the run is held by another process"
        if claim.conflict != "workflow" or not options.wait:
            hint = (
                "wait for it to end, or add --wait to start when it has; 'concurrency:' in the workflow "
                "allows more runs at once"
                if claim.conflict == "workflow"
                else "see 'robo runs list'"
            )
            raise RunRefused(message, hint=hint)
        if holder is not None and holder.id != waiting_for:
            waiting_for = holder.id
            _say(options, f"waiting: {message}")
        time.sleep(CLAIM_POLL)


CLAIM_POLL = 1.0  # seconds between two tries of a run waiting for its turn


class _WrittenFolders:
    """An event sink noting the folders a run saved files to, where its temporary files may be left."""

    def __init__(self) -> None:
        self.folders: set[Path] = set()

    def handle(self, event: Event) -> None:
        if isinstance(event, ArtifactSaved):
            self.folders.add(Path(event.path).parent)

    def close(self) -> None:
        pass


def _leftover_folders(workflow_dir: Path, inputs: Mapping[str, Any], previous: RunRecord | None) -> set[Path]:
    """Where a run's temporary files may be: beside its workflow, its inputs, and what it wrote before."""
    folders = {workflow_dir}
    for value in inputs.values():
        if isinstance(value, str | Path) and str(value).strip():
            path = Path(value)
            if path.is_absolute() and path.is_file():
                folders.add(path.parent)
            elif path.is_absolute() and path.is_dir():
                folders.add(path)
    if previous is not None and previous.run_dir:
        folders.update(_saved_folders(Path(previous.run_dir) / AUDIT_LOG_NAME))
    return folders


def _saved_folders(audit_log: Path) -> set[Path]:
    """The folders of the files an earlier session of the run saved, from its audit log."""
    import json

    folders: set[Path] = set()
    try:
        with audit_log.open(encoding="utf-8") as lines:
            for line in lines:
                if '"artifact_saved"' in line:
                    try:
                        folders.add(Path(json.loads(line)["path"]).parent)
                    except (ValueError, KeyError, TypeError):
                        continue
    except OSError:
        pass
    return folders


def _top_diagnostic(validation: ValidationResult, code: str, exc: RoboError) -> Diagnostic:
    return Diagnostic(Span(validation.path, 1, 1), code, exc.message, hint=exc.hint, cause=exc.cause)


def _execute(
    validation: ValidationResult,
    workflow: Workflow,
    workflow_dir: Path,
    inputs: dict[str, Any],
    secret_values: dict[str, str],
    options: RunOptions,
) -> RunOutcome:
    run_id = options.run_id or new_run_id()
    run_dir = options.logs_dir.resolve() / slug(workflow.name or "workflow") / run_id
    artifacts_dir = run_dir / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor(secret_values.values())
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    audit = AuditLog(run_dir / AUDIT_LOG_NAME)
    sinks: list[EventSink] = [
        audit,
        RunStoreSink(store, run_dir, lambda: audit.last_hash),
        *options.extra_sinks,
    ]
    dispatch = _Dispatcher(sinks, redactor)
    started_at = dt.datetime.now().astimezone()
    environ = dict(os.environ if options.environ is None else options.environ)
    scope: dict[str, Any] = {
        "inputs": inputs,
        "secrets": secret_values,
        "env": environ,
        "run": {
            "id": run_id,
            "workflow": workflow.name,
            "started_at": started_at.isoformat(timespec="seconds"),
            "dir": str(run_dir),
            "artifacts": str(artifacts_dir),
        },
    }
    settings = {"browser": workflow.browser.model_dump(), **dict(options.settings)}
    if "browser" in options.settings:
        settings["browser"] = {**workflow.browser.model_dump(), **dict(options.settings["browser"])}

    shared = SharedResources()

    def make_context(lane: int) -> RobotContext:
        def record_artifact(artifact_path: Path, kind: str, description: str) -> None:
            step = dispatch.current_step.get(lane)
            dispatch(
                ArtifactSaved(
                    run_id=run_id,
                    path=str(artifact_path),
                    artifact=kind,
                    description=description,
                    sha256=_sha256(artifact_path),
                    step=step.step if step else None,
                    item=step.item if step else None,
                )
            )

        def log(message: str) -> None:
            dispatch(LogMessage(run_id=run_id, level="info", message=message))

        return RobotContext(
            run_id=run_id,
            workflow_name=workflow.name,
            workflow_dir=workflow_dir,
            artifacts_dir=artifacts_dir,
            settings=settings,
            lane=lane,
            record_artifact=record_artifact,
            log=log,
            redact=redactor.text,
            shared=shared,
        )

    stop_event = threading.Event()
    engine = Engine(
        workflow,
        run_id=run_id,
        scope=scope,
        emit=dispatch,
        make_context=make_context,
        dry_run=options.dry_run,
        stop_event=stop_event,
        item_gate=WorkItemLedger(store, run_id) if options.resume else None,
    )
    time_limit = workflow.defaults.run_timeout
    timer = threading.Timer(time_limit, stop_event.set) if time_limit else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    diagnostics: list[Diagnostic] = []
    status = "succeeded"
    dispatch(
        RunStarted(
            run_id=run_id,
            workflow=workflow.name,
            workflow_file=str(Path(validation.path).resolve()),
            inputs=inputs,
            dry_run=options.dry_run,
            resumed_from=options.resume,
            pid=os.getpid(),
            host=socket.gethostname(),
        )
    )
    try:
        with _stop_on_signals(stop_event, enabled=options.handle_signals):
            engine.run()
        if engine.item_failures:
            status = "completed_with_errors"
            diagnostics = [failure.diagnostic() for failure in engine.item_failures]
    except StepFailure as failure:
        status = "failed"
        diagnostics = [failure.diagnostic()]
    except RunInterrupted:
        status = "interrupted"
        if timer is not None and not timer.is_alive():
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "run-timeout",
                    f"the run went past its time limit of {time_limit:g} s and was stopped between two steps",
                    hint=f"resume it with: robo run {validation.path} --resume {run_id}",
                )
            ]
        else:
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "interrupted",
                    "the run was asked to stop and stopped after its current step",
                    hint=f"resume it with: robo run {validation.path} --resume {run_id}",
                )
            ]
    except WorkflowError as exc:
        status = "failed"
        diagnostics = exc.diagnostics
    except RoboError as exc:
        status = "failed"
        diagnostics = [_top_diagnostic(validation, f"{exc.kind}-error", exc)]
    finally:
        if timer is not None:
            timer.cancel()
        for problem in shared.close():
            dispatch(LogMessage(run_id=run_id, level="warning", message=problem))
        duration = time.perf_counter() - started
        error_text = "\n".join(redactor.text(d.message) for d in diagnostics[:20]) or None
        dispatch(
            RunFinished(
                run_id=run_id,
                status=status,
                duration=round(duration, 3),
                error=error_text,
                counts=engine.counters.as_dict(),
            )
        )
        dispatch.close()
        report = _write_report(store, run_id)
        store.close()
    redacted = [_redact_diagnostic(d, redactor) for d in diagnostics]
    return RunOutcome(
        status,
        run_id,
        run_dir,
        redacted,
        {validation.path: validation.source_lines},
        engine.counters.as_dict(),
        duration,
        report,
    )


def _write_report(store: RunStore, run_id: str) -> Path | None:
    """The run's HTML report; a report that cannot be written is said on stderr and changes nothing else."""
    from runner.report import write_report

    try:
        return write_report(store, run_id)
    except Exception as exc:
        sys.stderr.write(f"warning: the run's report could not be written: {type(exc).__name__}: {exc}\n")
        return None


def _redact_diagnostic(diagnostic: Diagnostic, redactor: Redactor) -> Diagnostic:
    import dataclasses

    if not redactor:
        return diagnostic
    return dataclasses.replace(
        diagnostic,
        message=redactor.text(diagnostic.message),
        hint=redactor.text(diagnostic.hint) if diagnostic.hint else None,
        cause=tuple(redactor.text(c) for c in diagnostic.cause),
    )


def _sha256(path: Path) -> str | None:
    import hashlib

    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


@contextmanager
def _stop_on_signals(stop_event: threading.Event, *, enabled: bool) -> Iterator[None]:
    """SIGINT/SIGTERM ask the run to stop after the current step (a second SIGINT stops at once)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}

    def request_stop(signum: int, _frame: Any) -> None:
        if stop_event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop_event.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, request_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


Callback = Callable[[Event], None]
