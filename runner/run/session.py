"""One run from start to end: validate, resolve inputs and secrets, open the run's records, execute, report.

`run_workflow` is what `robo run` calls. It never lets a Python traceback out for a problem of the workflow,
its inputs or its environment: those come back as a `RunOutcome` whose `diagnostic` says where and what.
Which run it is (new or resumed, claimed in the store) is `claims.py`; signals during the run, `signals.py`; the
folders its temporary files may be left in, `folders.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from robots.kit import RoboError, SharedResources, Span, _, format_duration, remove_leftovers
from runner.engine import (
    Cancellation,
    EarlierRuns,
    Engine,
    Redactor,
    RunInterrupted,
    StepCancelled,
    StepFailure,
    WorkItemLedger,
    resolve_inputs,
    resolve_secrets,
)
from runner.events import (
    EventSink,
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
    validate_file,
)
from runner.language.templating import SECRET_WATCH, folder_slug
from runner.record import (
    AUDIT_LOG_NAME,
    AuditLog,
    RunStore,
    RunStoreSink,
    default_store_url,
    load_audit_key,
)
from runner.run.claims import RunRefused, claim, release, resuming, say, stopped_when, unfinished_run
from runner.run.display import virtual_display
from runner.run.folders import WrittenFolders, leftover_folders
from runner.run.options import NOT_STARTED, RunOptions, RunOutcome, StartedRun, new_run_id
from runner.run.recording import EventDispatcher, RobotContexts, input_paths, run_redactor, run_settings
from runner.run.signals import stop_on_signals


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
            options, previous = resuming(store, options, validation)
        inputs = resolve_inputs(workflow, options.inputs, Path.cwd(), workflow_dir)
        if previous is None and options.resume_unfinished and not options.dry_run:
            previous = unfinished_run(store, validation, inputs)
            if previous is not None:
                options, previous = resuming(
                    store, dataclasses.replace(options, resume=previous.id), validation
                )
                stopped_at = store.last_activity(previous.id)
                say(
                    options,
                    _("resuming run {run_id}, {stopped}").format(
                        run_id=previous.id, stopped=stopped_when(previous, stopped_at)
                    ),
                )
        secret_values = resolve_secrets(
            workflow.secrets, search_dirs=[workflow_dir, Path.cwd()], environ=options.environ
        )
        load_audit_key(create=True)  # a key that cannot be made or is readable by others stops the run here
        options = claim(store, options, validation, workflow, inputs, previous)
        if previous is not None and previous.run_dir:
            options = dataclasses.replace(options, run_dir=Path(previous.run_dir))
    except RunRefused as exc:
        return RunOutcome(NOT_STARTED, diagnostics=[_top_diagnostic(validation, "already-running", exc)])
    except RoboError as exc:
        return RunOutcome(NOT_STARTED, diagnostics=[_top_diagnostic(validation, "configuration-error", exc)])
    finally:
        store.close()
    run_id = options.run_id or ""
    folders = leftover_folders(workflow_dir, inputs, previous)
    if previous is not None:
        remove_leftovers(run_id, folders)
    written = WrittenFolders()
    options = dataclasses.replace(options, extra_sinks=[*options.extra_sinks, written])
    try:
        with virtual_display(workflow.display == "virtual"):
            return _execute(validation, workflow, workflow_dir, inputs, secret_values, options)
    except BaseException:
        release(options, run_id)  # so that a process that lives on does not hold the workflow's slot
        raise
    finally:
        remove_leftovers(run_id, folders | written.folders)


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
    redactor = run_redactor(secret_values, environ, [workflow_dir, Path.cwd()], options.store_url)
    store = RunStore(options.store_url or default_store_url(options.logs_dir))
    audit = AuditLog(run_dir / AUDIT_LOG_NAME, continuing=bool(options.resume))
    sinks: list[EventSink] = [
        audit,
        RunStoreSink(store, run_dir, lambda: audit.last_hash),
        *options.extra_sinks,
    ]
    dispatch = EventDispatcher(sinks, redactor)
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
    shared = SharedResources()
    make_context = RobotContexts(
        run_id=run_id,
        workflow=workflow,
        workflow_dir=workflow_dir,
        artifacts_dir=artifacts_dir,
        settings=run_settings(workflow, options.settings),
        redactor=redactor,
        shared=shared,
        input_paths=input_paths(workflow, inputs),
        records_dirs=(options.logs_dir.resolve(), run_dir),
        dispatch=dispatch,
    )

    stop_event = options.stop if options.stop is not None else threading.Event()
    cancellation = Cancellation()
    workflow_file = str(Path(validation.path).resolve())
    started_run = StartedRun(
        store_url=options.store_url or default_store_url(options.logs_dir),
        run_id=run_id,
        workflow_file=workflow_file,
        workflow_dir=str(workflow_dir),
        source="\n".join(validation.source_lines or []) + "\n",
    )
    engine = Engine(
        workflow,
        run_id=run_id,
        scope=scope,
        emit=dispatch,
        make_context=make_context,
        dry_run=options.dry_run,
        stop_event=stop_event,
        cancellation=cancellation,
        distributor=(
            options.distributor(started_run) if options.distributor and not options.dry_run else None
        ),
        item_gate=(
            WorkItemLedger(store, workflow_file, run_id, force=options.force)
            if options.resume
            else EarlierRuns(store, workflow_file, run_id, force=options.force)
        ),
    )
    time_limit = workflow.defaults.run_timeout
    timer = threading.Timer(time_limit, stop_event.set) if time_limit else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    diagnostics: list[Diagnostic] = []
    status = RunStatus.CRASHED  # until the run is known to have ended otherwise: a status is never optimistic
    resume_hint = _("resume it with: {command}").format(
        command=f"robo run {validation.path} --resume {run_id}"
    )

    def note(message: str) -> None:
        dispatch(LogMessage(run_id=run_id, level="warning", message=message))

    dispatch(
        RunStarted(
            run_id=run_id,
            workflow=workflow.name,
            workflow_file=workflow_file,
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
        signals.enter_context(stop_on_signals(stop_event, cancellation, note, enabled=options.handle_signals))
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
                    _(
                        "the run was stopped at once (a second interrupt) during step '{step}': the item in"
                        " progress is left unfinished and is checked when the run resumes"
                    ).format(step=step.name)
                    if step
                    else _(
                        "the run was stopped at once (a second interrupt): the item in progress is left"
                        " unfinished and is checked when the run resumes"
                    ),
                    hint=resume_hint,
                )
            ]
        elif timer is not None and not timer.is_alive():
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "run-timeout",
                    _("the run went past its time limit of {limit} and was stopped between two steps").format(
                        limit=format_duration(time_limit or 0)
                    ),
                    hint=resume_hint,
                )
            ]
        else:
            diagnostics = [
                Diagnostic(
                    Span(validation.path, 1, 1),
                    "interrupted",
                    _("the run was asked to stop and stopped after its current step"),
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
    where = tuple(
        _("raised at {file}:{line} in {function}").format(
            file=Path(f.filename).name, line=f.lineno, function=f.name
        )
        for f in reversed(frames)
    )
    text = redact(str(exc))  # before it is cut: a cut could keep half a secret
    error = f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__
    return Diagnostic(
        _step_span(validation, step),
        "internal-error",
        (
            _("the run crashed on an unexpected error during step '{step}': {error}").format(
                step=step.name, error=error
            )
            if step
            else _("the run crashed on an unexpected error: {error}").format(error=error)
        ),
        hint=_(
            "{resume} (the item in progress is checked first); if it crashes again at the same place,"
            " this step or its data provokes the error"
        ).format(resume=resume_hint),
        cause=where,
    )


def _write_report(store: RunStore, run_id: str) -> Path | None:
    """The run's HTML report; a report that cannot be written is said on stderr and changes nothing else."""
    from runner.review import write_report

    try:
        return write_report(store, run_id)
    except Exception as exc:
        sys.stderr.write(
            _("warning: the run's report could not be written: {error}").format(
                error=f"{type(exc).__name__}: {exc}"
            )
            + "\n"
        )
        return None


def _redact_diagnostic(diagnostic: Diagnostic, redactor: Redactor) -> Diagnostic:
    """A diagnostic as it is shown: secrets masked, broken text (lone surrogates) made printable."""
    return dataclasses.replace(
        diagnostic,
        message=clean_data(redactor.text(diagnostic.message)),
        hint=clean_data(redactor.text(diagnostic.hint)) if diagnostic.hint else None,
        cause=tuple(clean_data(redactor.text(c)) for c in diagnostic.cause),
    )
