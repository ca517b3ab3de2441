"""A worker's lane on a run's shared loop: the loop's workflow run by an engine of the worker's own, its `setup`
once (logged in once per job), then each item it claims, recorded through the item's lease.

The workflow is the text the run shared (every worker runs the version the run started), its secrets the worker's
own (its environment, keyring and secret files), what the items see besides themselves the run's (inputs, vars,
saved results). The worker's steps go to the run store under the run (the report and the console show each item's
steps and who did it) and to an audit log of its own, `<logs>/<workflow>/<run>/worker-<name>/audit.jsonl`, with its
screenshots beside it. An item's changes are recorded through its lease before they are made: a worker that lost
its lease (frozen past it, another worker took the item over) is refused there, and enters nothing.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from robots.kit import ApplicationError, ConfigurationError, RoboError, SharedResources, _
from runner.engine import Engine, ItemGate, PreviousItem, StepFailure, resolve_secrets, step_ref
from runner.events import (
    ENDED,
    Effect,
    EffectState,
    Event,
    ItemEffect,
    ItemFinished,
    ItemStarted,
    ItemStatus,
    RunFinished,
    RunStarted,
)
from runner.fleet.worker import DoItem, ItemResult
from runner.language import ForEachStep, Workflow, load_workflow_text, template_environment, validate_document
from runner.language.templating import SECRET_WATCH, folder_slug
from runner.record import (
    AUDIT_LOG_NAME,
    AuditLog,
    ItemLease,
    ItemLeases,
    RunStore,
    RunStoreSink,
    SharedLoop,
    SharedLoops,
    from_payload,
)
from runner.run import EventDispatcher, RobotContexts, input_paths, run_redactor, run_settings

WORKER_FOLDER = "worker-{name}"  # a worker's folder inside the run's


class EngineLanes:
    """Opens a worker's lanes (`OpenLane`) on the shared loops of the runs of one run store."""

    def __init__(
        self,
        store_url: str,
        logs_dir: Path,
        *,
        environ: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.store_url = store_url
        self.logs_dir = logs_dir
        self.environ = environ
        self.settings = settings or {}

    @contextmanager
    def __call__(self, run_id: str, loop: str, worker: str) -> Iterator[DoItem]:
        with ExitStack() as stack:
            store = stack.enter_context(RunStore(self.store_url))
            shared_loops = SharedLoops(store)
            try:
                shared = shared_loops.get(run_id, loop)
                workflow, step = _loop_of(shared)
                workflow_dir = Path(shared.workflow_dir)
                if not workflow_dir.is_dir():
                    workflow_dir = (
                        Path.cwd()
                    )  # this machine has not the run's folder: its files are looked for here
                environ = dict(os.environ if self.environ is None else self.environ)
                secret_values = resolve_secrets(
                    workflow.secrets, search_dirs=[workflow_dir, Path.cwd()], environ=environ
                )
                redactor = run_redactor(secret_values, environ, [workflow_dir, Path.cwd()], self.store_url)
                folder = (
                    self.logs_dir.resolve()
                    / folder_slug(workflow.name)
                    / run_id
                    / WORKER_FOLDER.format(name=folder_slug(worker))
                )
                artifacts = folder / "artifacts"
                artifacts.mkdir(parents=True, exist_ok=True)
                recorder = LeasedRecords(store, folder, ItemLeases(store))
                audit = AuditLog(folder / AUDIT_LOG_NAME, continuing=(folder / AUDIT_LOG_NAME).exists())
                dispatch = EventDispatcher([audit, recorder], redactor)
                stack.callback(dispatch.close)
                context = {name: from_payload(value) for name, value in shared.context.items()}
                run_facts = {
                    **dict(context.get("run") or {}),
                    "dir": str(folder),
                    "artifacts": str(artifacts),
                }
                scope: dict[str, Any] = {
                    **context,
                    SECRET_WATCH: redactor,
                    "secrets": secret_values,
                    "env": template_environment(environ),
                    "run": run_facts,
                }
                resources = SharedResources()
                stack.callback(resources.close)
                gate = LeaseGate()
                engine = Engine(
                    workflow,
                    run_id=run_id,
                    scope=scope,
                    emit=dispatch,
                    make_context=RobotContexts(
                        run_id=run_id,
                        workflow=workflow,
                        workflow_dir=workflow_dir,
                        artifacts_dir=artifacts,
                        settings=run_settings(workflow, self.settings),
                        redactor=redactor,
                        shared=resources,
                        input_paths=input_paths(workflow, context.get("inputs") or {}),
                        records_dirs=(self.logs_dir.resolve(), folder),
                        dispatch=dispatch,
                    ),
                    item_gate=gate,
                )
                stack.callback(engine.close)
            except RoboError as exc:  # the workflow, its secrets or the worker's folder: no lane would open
                shared_loops.stop(run_id, loop, worker, exc)
                raise
            lane = engine.new_lane(1)
            lane_scope = engine.loops.lane_scope(step, ChainMap({}, engine.base_scope))
            try:
                engine.execute_steps(step.setup, lane_scope, lane, None)
            except StepFailure as failure:
                shared_loops.stop(run_id, loop, worker, failure.error)  # every lane's setup would fail alike
                raise

            def do_item(lease: ItemLease) -> ItemResult:
                gate.lease = recorder.lease = lease
                recorder.finished = None
                try:
                    engine.loops.run_item(
                        step,
                        from_payload(lease.payload),
                        lease.position,
                        shared.total,
                        lane_scope,
                        lane,
                        loop,
                        lease.key,
                    )
                except StepFailure as failure:  # a refused login, `on_error: fail`: the whole loop stops
                    shared_loops.stop(run_id, loop, worker, failure.error)
                    if recorder.finished is None:
                        raise
                return recorder.result()

            yield do_item


class LeaseGate(ItemGate):
    """What the item the worker is doing was before: what its lease says (another worker may have begun it)."""

    lease: ItemLease | None = None

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return self.lease.previous if self.lease is not None and self.lease.key == key else None


class LeasedRecords(RunStoreSink):
    """The run store's records of a worker's items: its steps under the run, as a run's own; the item's begin,
    changes and end through its lease (its changes refused once the lease is lost, before they are made)."""

    def __init__(self, store: RunStore, folder: Path, leases: ItemLeases) -> None:
        super().__init__(store, folder)
        self.leases = leases
        self.lease: ItemLease | None = None
        self.finished: ItemFinished | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted | RunFinished):
            return  # the run's own, recorded by the run
        if isinstance(event, ItemStarted):
            self.flush()  # begun through its lease when claimed (`work_on_items`)
        elif isinstance(event, ItemEffect):
            if self.lease is not None:
                effect = Effect(event.step, event.name, event.action, EffectState(event.state))
                self.leases.record_effect(self.lease, effect)
        elif isinstance(event, ItemFinished):
            self.flush()
            self.finished = event  # written with the lease's token when the item returns (`work_on_items`)
        else:
            super().handle(event)

    def result(self) -> ItemResult:
        """What the item became, as the engine said it."""
        event = self.finished
        if event is None:
            raise ApplicationError(_("the item ended without saying what it became"))
        status = event.status if event.status in ENDED else ItemStatus.DONE  # skipped: done by an earlier run
        return ItemResult(status, outcome=event.outcome, error=event.error, duration=event.duration)


def _loop_of(shared: SharedLoop) -> tuple[Workflow, ForEachStep]:
    """The shared workflow text, validated again here, and its loop."""
    validation = validate_document(load_workflow_text(shared.source, shared.workflow_file))
    if not validation.ok or validation.workflow is None:
        first = validation.errors[0] if validation.errors else None
        raise ConfigurationError(
            _("the workflow of run {run_id} does not validate on this worker: {error}").format(
                run_id=shared.run_id, error=first.message if first else "?"
            ),
            hint=_("give the workers the same version of Rob'O as the machine that started the run"),
        )
    workflow = validation.workflow
    for step in workflow.walk():
        if isinstance(step, ForEachStep) and step_ref(step.path) == shared.loop:
            return workflow, step
    raise ConfigurationError(
        _("the workflow of run {run_id} has no loop {loop}").format(run_id=shared.run_id, loop=shared.loop)
    )
