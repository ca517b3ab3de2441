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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots import RobotContext
from robots.kit import ConfigurationError, RoboError, SharedResources, Span, remove_leftovers
from runner.engine import (
    Cancellation,
    Engine,
    Redactor,
    RunInterrupted,
    StepCancelled,
    StepFailure,
    WorkItemLedger,
    resolve_inputs,
    resolve_secrets,
    secrets_by_source,
)
from runner.events import (
    EXIT_CODES,
    ArtifactSaved,
    Event,
    EventSink,
    ExitCode,
    ItemStatus,
    LogMessage,
    RunFinished,
    RunStarted,
    RunStatus,
    StepStarted,
    clean_data,
)
from runner.language import (
    Diagnostic,
    ValidationResult,
    Workflow,
    WorkflowError,
    template_environment,
    url_password,
    validate_file,
)
from runner.language.templating import SECRET_WATCH, folder_slug
from runner.record import (
    AUDIT_LOG_NAME,
    AuditLog,
    AuditState,
    AuditVerdict,
    RunRecord,
    RunStore,
    RunStoreSink,
    default_store_url,
    load_audit_key,
    release_slot,
    verify_audit_log,
)
from runner.review import effective_status, process_create_time, still_running


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


class _Dispatcher:
    """Makes every event recordable once (secrets masked, broken text readable), then hands it to each sink in
    order (audit log first)."""

    def __init__(self, sinks: list[EventSink], redactor: Redactor) -> None:
        self.sinks = sinks
        self.redactor = redactor
        self._lock = threading.Lock()
        self.current_step: dict[int, StepStarted] = {}  # per lane: what an artifact saved now belongs to

    def __call__(self, event: Event) -> None:
        event = _recordable(event, self.redactor)
        with self._lock:
            if isinstance(event, StepStarted):
                self.current_step[event.lane] = event
            for sink in self.sinks:
                sink.handle(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def _recordable(event: Event, redactor: Redactor) -> Event:
    """The event as every sink records it: secrets masked, and text that no file, database or console can take
    (a lone surrogate from broken data) written as U+FFFD, the same in each."""
    changes = {}
    for name in event.__dataclass_fields__:
        value = getattr(event, name)
        if value is None or isinstance(value, int | float):
            continue
        cleaned = clean_data(redactor.data(value) if redactor else value)
        if cleaned is not value and cleaned != value:
            changes[name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event


def run_workflow(path: str | Path, options: RunOptions) -> RunOutcome:
    """Validate and run one workflow file; every outcome, good or bad, is returned, never raised."""
    validation = validate_file(path)
    if not validation.ok or validation.workflow is None:
        return RunOutcome(
            NOT_STARTED, diagnostics=validation.errors, sources={validation.path: validation.source_lines}
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
        load_audit_key(create=True)  # a key that cannot be made or is readable by others stops the run here
        options = _claim(store, options, validation, workflow, inputs, previous)
        if previous is not None and previous.run_dir:
            options = dataclasses.replace(options, run_dir=Path(previous.run_dir))
    except RunRefused as exc:
        return RunOutcome(NOT_STARTED, diagnostics=[_top_diagnostic(validation, "already-running", exc)])
    except RoboError as exc:
        return RunOutcome(NOT_STARTED, diagnostics=[_top_diagnostic(validation, "configuration-error", exc)])
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
        release_slot(store, run_id, os.getpid())
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
    record = store.get_run(options.resume or "")
    if record is None:
        raise ConfigurationError(f"there is no run '{options.resume}' to resume", hint="see 'robo runs list'")
    if Path(record.workflow_file).resolve() != Path(validation.path).resolve():
        raise ConfigurationError(
            f"run {record.id} is a run of {record.workflow_file}, not of {validation.path}",
            hint=f"robo run {record.workflow_file} --resume {record.id}",
        )
    status = effective_status(record)
    if status == RunStatus.RUNNING:
        raise RunRefused(_held_message(record, record.id))
    if status == RunStatus.SUCCEEDED:
        raise ConfigurationError(f"run {record.id} already succeeded: there is nothing left to do")
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
        else AuditVerdict(AuditState.TAMPERED, 0, problem="the log is missing (deleted)")
    )
    if verdict.state not in (AuditState.INTACT, AuditState.UNKEYED):
        raise ConfigurationError(
            f"run {record.id} cannot be resumed: its audit log {path} fails verification, and a log that fails"
            f" is never appended to: {verdict}",
            hint=f"the log is kept as it is, as evidence (robo audit verify {record.id}); start a new run with --new",
        )


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
    from runner.record import comparable

    given = comparable(clean_data(inputs))
    workflow_file = str(Path(validation.path).resolve())
    for record in store.list_runs(workflow_file=workflow_file, dry_run=False, limit=20):
        if comparable(record.inputs) != given:
            continue
        if effective_status(record) in RESUMABLE:
            return record
        if effective_status(record) != RunStatus.RUNNING:
            return None  # a later run of the same inputs went to its end: the older one is not picked up
    return None


RESUMABLE = frozenset({RunStatus.CRASHED, RunStatus.INTERRUPTED})


def _stopped_when(record: RunRecord, stopped_at: str | None) -> str:
    done = record.items.get(ItemStatus.DONE, 0)
    when = _local_time(record.finished_at or stopped_at or record.session_started_at or record.started_at)
    if record.status == RunStatus.INTERRUPTED:
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
    from runner.language import UNLIMITED
    from runner.record import RunClaimant, claim_run

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
    span = getattr(exc, "span", None) or Span(validation.path, 1, 1)  # a workflow bug knows its line
    return Diagnostic(span, code, exc.message, hint=exc.hint, cause=exc.cause)


def _execute(
    validation: ValidationResult,
    workflow: Workflow,
    workflow_dir: Path,
    inputs: dict[str, Any],
    secret_values: dict[str, str],
    options: RunOptions,
) -> RunOutcome:
    run_id = options.run_id or new_run_id()
    run_dir = options.run_dir or options.logs_dir.resolve() / folder_slug(workflow.name) / run_id
    artifacts_dir = run_dir / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    environ = dict(os.environ if options.environ is None else options.environ)
    redactor = Redactor(secret_values.values())
    for value in [
        *secrets_by_source(environ, [workflow_dir, Path.cwd()]),
        url_password(options.store_url or "") or "",
    ]:
        redactor.add(value)
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    audit = AuditLog(run_dir / AUDIT_LOG_NAME, continuing=bool(options.resume))
    sinks: list[EventSink] = [
        audit,
        RunStoreSink(store, run_dir, lambda: audit.last_hash),
        *options.extra_sinks,
    ]
    dispatch = _Dispatcher(sinks, redactor)
    started_at = dt.datetime.now().astimezone()
    scope: dict[str, Any] = {
        SECRET_WATCH: redactor,
        "inputs": inputs,
        "secrets": secret_values,
        "env": template_environment(environ),
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
    input_paths = tuple(
        Path(inputs[name])
        for name, spec in workflow.inputs.items()
        if spec.type in ("file", "folder") and isinstance(inputs.get(name), str) and inputs[name]
    )

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
            input_paths=input_paths,
            records_dirs=(options.logs_dir.resolve(), run_dir),
        )

    stop_event = threading.Event()
    cancellation = Cancellation()
    engine = Engine(
        workflow,
        run_id=run_id,
        scope=scope,
        emit=dispatch,
        make_context=make_context,
        dry_run=options.dry_run,
        stop_event=stop_event,
        cancellation=cancellation,
        item_gate=WorkItemLedger(store, run_id, force=options.force) if options.resume else None,
    )
    time_limit = workflow.defaults.run_timeout
    timer = threading.Timer(time_limit, stop_event.set) if time_limit else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    diagnostics: list[Diagnostic] = []
    status = RunStatus.CRASHED  # until the run is known to have ended otherwise: a status is never optimistic
    resume_hint = f"resume it with: robo run {validation.path} --resume {run_id}"

    def note(message: str) -> None:
        dispatch(LogMessage(run_id=run_id, level="warning", message=message))

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
    signals = ExitStack()  # left only once the run's end is recorded: a signal then changes nothing
    stopped_kind: str | None = None  # the kind of the error that stopped the run, if one did
    try:
        signals.enter_context(
            _stop_on_signals(stop_event, cancellation, note, enabled=options.handle_signals)
        )
        engine.run()
        status = RunStatus.COMPLETED_WITH_ERRORS if engine.item_failures else RunStatus.SUCCEEDED
        diagnostics = [failure.diagnostic() for failure in engine.item_failures]
    except StepFailure as failure:
        status = RunStatus.FAILED
        diagnostics = [failure.diagnostic()]
        stopped_kind = failure.error.kind
    except (RunInterrupted, StepCancelled, KeyboardInterrupt):
        status = RunStatus.INTERRUPTED
        if cancellation.is_set():
            step = dispatch.current_step.get(0)
            diagnostics = [
                Diagnostic(
                    _step_span(validation, step),
                    "interrupted",
                    "the run was stopped at once (a second interrupt)"
                    + (f" during step '{step.name}'" if step else "")
                    + ": the item in progress is left unfinished and is checked when the run resumes",
                    hint=resume_hint,
                )
            ]
        elif timer is not None and not timer.is_alive():
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "run-timeout",
                    f"the run went past its time limit of {time_limit:g} s and was stopped between two steps",
                    hint=resume_hint,
                )
            ]
        else:
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "interrupted",
                    "the run was asked to stop and stopped after its current step",
                    hint=resume_hint,
                )
            ]
    except WorkflowError as exc:
        status = RunStatus.FAILED
        diagnostics = exc.diagnostics
    except RoboError as exc:
        status = RunStatus.FAILED
        diagnostics = [_top_diagnostic(validation, f"{exc.kind}-error", exc)]
    except BaseException as exc:  # MemoryError, RecursionError, a bug: the run crashed, and says so
        status = RunStatus.CRASHED
        diagnostics = [
            _crash_diagnostic(validation, dispatch.current_step.get(0), exc, resume_hint, redactor.text)
        ]
    finally:
        if timer is not None:
            timer.cancel()
        try:
            for problem in shared.close():
                dispatch(LogMessage(run_id=run_id, level="warning", message=problem))
        except Exception as exc:  # closing is best effort; the run's end is recorded whatever happens
            diagnostics.append(_crash_diagnostic(validation, None, exc, resume_hint, redactor.text))
        duration = time.perf_counter() - started
        error_text = "\n".join(redactor.text(d.message) for d in diagnostics[:20]) or None
        dispatch(
            RunFinished(
                run_id=run_id,
                status=status.value,
                duration=round(duration, 3),
                error=error_text,
                error_kind=stopped_kind,
                counts=engine.counters.as_dict(),
            )
        )
        dispatch.close()
        report = _write_report(store, run_id)
        store.close()
        signals.close()
    redacted = [_redact_diagnostic(d, redactor) for d in diagnostics]
    return RunOutcome(
        status.value,
        run_id,
        run_dir,
        redacted,
        {validation.path: validation.source_lines},
        engine.counters.as_dict(),
        duration,
        report,
    )


def _step_span(validation: ValidationResult, step: StepStarted | None) -> Span:
    """Where a step is in the workflow file; the file's top when no step was running."""
    return Span(step.file, step.line, step.col) if step else Span(validation.path, 1, 1)


def _crash_diagnostic(
    validation: ValidationResult,
    step: StepStarted | None,
    exc: BaseException,
    resume_hint: str,
    redact: Callable[[str], str],
) -> Diagnostic:
    """An unexpected error as a problem of the run: what, and where in Rob'O's code it came from."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)[-2:]
    where = tuple(f"raised at {Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames))
    text = redact(str(exc))  # before it is cut: a cut could keep half a secret
    return Diagnostic(
        _step_span(validation, step),
        "internal-error",
        "the run crashed on an unexpected error"
        + (f" during step '{step.name}'" if step else "")
        + f": {type(exc).__name__}"
        + (f": {text[:500]}" if text else ""),
        hint=f"{resume_hint} (the item in progress is checked first); if it crashes again at the same place,"
        " this step or its data provokes the error",
        cause=where,
    )


def _write_report(store: RunStore, run_id: str) -> Path | None:
    """The run's HTML report; a report that cannot be written is said on stderr and changes nothing else."""
    from runner.review import write_report

    try:
        return write_report(store, run_id)
    except Exception as exc:
        sys.stderr.write(f"warning: the run's report could not be written: {type(exc).__name__}: {exc}\n")
        return None


def _redact_diagnostic(diagnostic: Diagnostic, redactor: Redactor) -> Diagnostic:
    """A diagnostic as it is shown: secrets masked, broken text (lone surrogates) made printable."""
    return dataclasses.replace(
        diagnostic,
        message=clean_data(redactor.text(diagnostic.message)),
        hint=clean_data(redactor.text(diagnostic.hint)) if diagnostic.hint else None,
        cause=tuple(clean_data(redactor.text(c)) for c in diagnostic.cause),
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
def _stop_on_signals(
    stop_event: threading.Event, cancellation: Cancellation, note: Callable[[str], None], *, enabled: bool
) -> Iterator[None]:
    """SIGINT or SIGTERM asks the run to stop after its current step; a second SIGINT cancels that step at once.

    The Python handlers do nothing: the signal's number also goes to a wake-up socket, which a watcher thread
    reads and acts on. Acting inside a handler would run in the middle of whatever the main thread was doing:
    an exception raised there unwinds the run from any point, and setting an event there can deadlock with a
    wait on that event.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _noted_elsewhere) for signum in (signal.SIGINT, signal.SIGTERM)}
    watcher = threading.Thread(
        target=_watch_signals, args=(reader, stop_event, cancellation, note), name="signals", daemon=True
    )
    watcher.start()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        try:
            writer.send(b"\0")  # not a signal: the watcher's cue to end
        except OSError:
            pass
        watcher.join(5)
        reader.close()
        writer.close()


def _noted_elsewhere(_signum: int, _frame: Any) -> None:
    """The handler of SIGINT and SIGTERM during a run: the wake-up socket carries the signal to the watcher."""


def _watch_signals(
    reader: socket.socket,
    stop_event: threading.Event,
    cancellation: Cancellation,
    note: Callable[[str], None],
) -> None:
    received = 0
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        for signum in data:
            if signum == 0:
                return
            received += 1
            message = None
            if received == 1:
                stop_event.set()
                message = (
                    f"{signal.Signals(signum).name} received: the run stops after its current step"
                    " (interrupt again, e.g. Ctrl+C, to stop at once)"
                )
            elif signum == signal.SIGINT and not cancellation.is_set():
                stop_event.set()
                cancellation.cancel()
                message = "second interrupt: the current step is abandoned; its item is checked when the run resumes"
            if message:
                try:
                    note(message)
                except Exception:  # a sink that cannot take the note must not stop the watching
                    pass
        if not data:
            return


Callback = Callable[[Event], None]
