"""Walks a workflow's steps and emits an event for everything that happens.

Each step kind runs itself (its class's `run`) through what the engine offers every kind (`StepRunner`: render,
condition, report, record, run steps, handle a failure); the engine's own are the action step and `for_each`
(run by the `LoopRunner` of `loops.py`, optionally in parallel lanes).
The engine holds the run context (inputs, vars, secrets, env, run, saved results, loop items) as nested scopes:
a loop item gets a scope of its own, so what one item saves never leaks into the next. It knows no sink: events
go to whatever was subscribed.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from pydantic import ValidationError

from robots import action_spec
from robots.kit import AccessRefused, BusinessError, RoboError, RobotContext, Span, WorkflowBug, _
from runner.engine.dry_run import DryRunSkips, dry_run_result
from runner.engine.item_changes import ChangeRecorder
from runner.engine.items import ItemGate
from runner.engine.loops import Distributor, LoopRunner
from runner.engine.parameters import as_plain_data, unencodable_failure
from runner.engine.retry import call_with_retry, step_policy
from runner.engine.robot_pool import Cancellation, RobotPool
from runner.engine.state import (
    Lane,
    RunCounters,
    RunInterrupted,
    StepFailure,
    conversion_failure,
    error_record,
    loggable_params,
    render_in_step,
    step_ref,
    summarize,
    template_failure,
)
from runner.engine.texts import TextsFromData, leads_outside
from runner.engine.timeouts import give_action_timeout, watchdog_limit
from runner.events import (
    Event,
    LogMessage,
    RetryScheduled,
    StepFinished,
    StepStarted,
    StepStatus,
)
from runner.language import ActionStep, FailedStep, ForEachStep, RetryPolicy, Scope, Step, Workflow
from runner.language.templating import (
    SECRET_WATCH,
    SecretWatch,
    TemplateError,
    evaluate_condition,
    render_value,
)

T = TypeVar("T")


class Engine:
    """Executes one workflow once. Create a new engine for each run."""

    def __init__(
        self,
        workflow: Workflow,
        *,
        run_id: str,
        scope: Mapping[str, Any],
        emit: Callable[[Event], None],
        make_context: Callable[[int], RobotContext],
        dry_run: bool = False,
        item_gate: ItemGate | None = None,
        stop_event: threading.Event | None = None,
        cancellation: Cancellation | None = None,
        distributor: Distributor | None = None,
    ) -> None:
        self.workflow = workflow
        self.distributor = distributor  # loops with `distribute:` go to a fleet's workers through it
        self.run_id = run_id
        self._emit = emit
        self._make_context = make_context
        self.dry_run = dry_run
        self.item_gate = item_gate or ItemGate()
        self.stop_event = stop_event or threading.Event()
        self.cancellation = cancellation or Cancellation()  # abandons the steps in progress (a second Ctrl+C)
        self.counters = RunCounters()
        self.item_failures: list[StepFailure] = []
        self.base_scope: dict[str, Any] = dict(scope)
        self.base_scope.setdefault("run", {})
        self._lanes: list[Lane] = []
        self._dry_run_skips = DryRunSkips()
        self._changes = ChangeRecorder(run_id, self.emit)
        self._loops = LoopRunner(self)

    # -- running -------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run every step; raises `StepFailure` for the step that stopped the run, `RunInterrupted` on a stop."""
        lane = self.new_lane(0)
        scope: Scope = ChainMap({}, self.base_scope)
        try:
            self._render_vars(scope)
            self.execute_steps(self.workflow.steps, scope, lane, item=None)
        finally:
            self.close()

    def close(self) -> list[str]:
        problems: list[str] = []
        for lane in self._lanes:
            problems.extend(lane.robots.close())
        self._lanes.clear()
        for problem in problems:
            self.emit(LogMessage(run_id=self.run_id, level="warning", message=problem))
        return problems

    def emit(self, event: Event) -> None:
        self._emit(event)

    def new_lane(self, index: int) -> Lane:
        """A lane of its own, with its robots: lane 0 for the run, one per lane of a parallel loop."""
        lane = Lane(
            index, RobotPool(lambda: self._make_context(index), lane=index, cancellation=self.cancellation)
        )
        self._lanes.append(lane)
        return lane

    def _render_vars(self, scope: Scope) -> None:
        rendered: dict[str, Any] = {}
        scope["vars"] = rendered
        for name, value in self.workflow.vars.items():
            try:
                rendered[name] = render_value(value, scope)
            except TemplateError as exc:
                if not exc.workflow_bug:
                    raise BusinessError(f"vars.{name}: {exc.message}", hint=exc.hint) from None
                span = self.workflow.spans.value(("vars", name)) if self.workflow.spans else None
                raise WorkflowBug(f"vars.{name}: {exc.message}", hint=exc.hint, span=span) from None

    def execute_steps(self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None) -> None:
        for step in steps:
            if self.stop_event.is_set():
                raise RunInterrupted()
            self.execute_step(step, scope, lane, item)

    def execute_step(self, step: Step, scope: Scope, lane: Lane, item: str | None) -> None:
        if step.when is not None:
            if not self.condition(step, step.when, scope, item, "when"):
                self._finished(step, StepStatus.SKIPPED, 0.0, item, lane)
                return
        step.run(self, scope, lane, item)

    # -- what every step kind's `run` uses (`StepRunner`) ---------------------------------------------------------

    def render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        return self._render(step, value, scope, item, where)

    def condition(self, step: Step, expression: str, scope: Scope, item: str | None, where: str) -> bool:
        try:
            return evaluate_condition(expression, scope)
        except TemplateError as exc:
            raise StepFailure(step, self._template_failure(exc, where, step), item) from None

    def check_encodable(self, step: Step, what: str, values: Mapping[str, Any], item: str | None) -> None:
        problem = unencodable_failure(what, values)
        if problem is not None:
            raise StepFailure(step, problem, item)

    def report(self, step: Step, level: str, message: str, item: str | None) -> None:
        self.emit(
            LogMessage(run_id=self.run_id, level=level, message=message, step=step_ref(step.path), item=item)
        )

    def raise_business_error(self, step: Step, message: str, item: str | None) -> NoReturn:
        raise StepFailure(step, BusinessError(message), item)

    @contextlib.contextmanager
    def recorded(self, step: Step, lane: Lane, item: str | None) -> Iterator[None]:
        """A step without a robot (`set`, `log`…) in the records like an action: started, then finished."""
        started = time.perf_counter()
        self._started(step, step_ref(step.path), {}, item, lane)
        try:
            yield
        except StepFailure as failure:
            self.counters.add("steps_failed")
            self._finished(
                step,
                StepStatus.FAILED,
                time.perf_counter() - started,
                item,
                lane,
                error=error_record(failure.error),
            )
            raise
        self._finished(step, StepStatus.SUCCEEDED, time.perf_counter() - started, item, lane)

    def execute_steps_handling(
        self,
        steps: Sequence[Step],
        scope: Scope,
        lane: Lane,
        item: str | None,
        handled: Callable[[FailedStep], bool],
    ) -> None:
        try:
            self.execute_steps(steps, scope, lane, item)
        except StepFailure as failure:
            if not handled(failure):
                raise

    def _render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        return render_in_step(step, value, scope, item, where, self.workflow.spans)

    def _template_failure(self, exc: TemplateError, where: str, step: Step) -> RoboError:
        return template_failure(exc, where, step, self.workflow.spans)

    # -- actions -------------------------------------------------------------------------------------------------

    def execute_action(self, step: ActionStep, scope: Scope, lane: Lane, item: str | None) -> None:
        spec = action_spec(step.robot, step.action)
        if spec is None:  # validation prevents this; kept for workflows run without validation
            raise StepFailure(
                step,
                RoboError(_("unknown action {action}").format(action=f"{step.robot}.{step.action}")),
                item,
            )
        started = time.perf_counter()
        ref = step_ref(step.path)
        params: dict[str, Any] = {}
        step_timeout = step.timeout or self.workflow.defaults.timeout
        try:
            rendered = as_plain_data(render_value(step.params, scope))
            give_action_timeout(spec, rendered, step_timeout)
            params = spec.convert(rendered)
        except TemplateError as exc:
            self._started(step, ref, {}, item, lane)
            return self._action_failed(
                step, self._template_failure(exc, "parameters", step), scope, lane, item, started
            )
        except ValidationError as exc:
            self._started(step, ref, {}, item, lane)
            return self._action_failed(
                step, conversion_failure(spec.qualified_name, exc), scope, lane, item, started
            )
        watch = self._secret_watch()
        for name in spec.secret_parameters:  # a password given to a robot is a secret, wherever it came from
            if watch is not None and name in params:
                watch.taint(params[name])
        self._started(step, ref, loggable_params(params, spec.secret_parameters, self._mask()), item, lane)
        problem = unencodable_failure(spec.qualified_name, params)
        if problem is None and not step.allow_outside:
            problem = leads_outside(step, spec, rendered, self._paths)
        if problem is not None:
            return self._action_failed(step, problem, scope, lane, item, started)
        if self.dry_run:
            reason = self._dry_run_skips.reason(step, spec, lane.index, item)
            if reason is not None:
                if step.save:
                    scope[step.save] = dry_run_result(step, spec)
                self._finished(
                    step, StepStatus.SKIPPED, time.perf_counter() - started, item, lane, result=reason
                )
                return None
        policy = step_policy(step.retry, spec.may_enter_twice, self.workflow.defaults.retry)
        watchdog = watchdog_limit(spec, params, step_timeout)

        attempts = [0]
        # what a robot checks itself when it finds a path inside a structured parameter (a form's file field)
        data_values = frozenset[str]() if step.allow_outside else TextsFromData(step.params, rendered)

        def attempt() -> Any:
            if self.stop_event.is_set():
                raise RunInterrupted()
            attempts[0] += 1
            if attempts[0] > 1 and step.recover:
                # e.g. log in again when the session expired, before trying the step once more
                self.recover(step.recover, scope, lane, item)
            return lane.robots.call(step.robot, spec, params, watchdog, data_values=data_values)

        change = self._changes.started(step, lane) if spec.may_enter_twice else None  # the ledger's
        try:
            result = self.retried(attempt, policy, step, ref, item)
        except RoboError as error:
            self._changes.ended(change, error)
            return self._action_failed(step, error, scope, lane, item, started)
        self._changes.ended(change, None)
        if step.save:
            scope[step.save] = result
        self._finished(
            step,
            StepStatus.SUCCEEDED,
            time.perf_counter() - started,
            item,
            lane,
            result=summarize(result, mask=self._mask()),
        )
        return None

    def _secret_watch(self) -> SecretWatch | None:
        watch: SecretWatch | None = self.base_scope.get(SECRET_WATCH)
        return watch

    def _mask(self) -> Callable[[Any], Any] | None:
        """What masks the secrets of a text before the records cut it (a cut could keep half a secret)."""
        watch = self._secret_watch()
        return None if watch is None else watch.data

    @functools.cached_property
    def _paths(self) -> RobotContext:
        """A robot context, for the folders a path built from data may lead to (the same for every lane)."""
        return self._make_context(0)

    def _action_failed(
        self, step: ActionStep, error: RoboError, scope: Scope, lane: Lane, item: str | None, started: float
    ) -> None:
        self.counters.add("steps_failed")
        self._finished(
            step, StepStatus.FAILED, time.perf_counter() - started, item, lane, error=error_record(error)
        )
        if step.on_error == "continue":
            self.emit(
                LogMessage(
                    run_id=self.run_id,
                    level="warning",
                    message=_("step '{step}' failed, continuing (on_error: continue): {error}").format(
                        step=step.label, error=error.message
                    ),
                    step=step_ref(step.path),
                    item=item,
                )
            )
            return
        if isinstance(step.on_error, list):
            self.handle_error(step, step.on_error, StepFailure(step, error, item), scope, lane, item)
            return
        raise StepFailure(step, error, item)

    def retried(
        self, attempt: Callable[[], T], policy: RetryPolicy, step: Step, ref: str, item: str | None
    ) -> T:
        """`attempt()`, retried per `policy` with a `RetryScheduled` event before each retry; a stop ends the wait."""
        return call_with_retry(
            attempt,
            policy,
            on_retry=lambda n, delay, error: self._retrying(step, ref, n, policy, delay, error, item),
            sleep=self._interruptible_sleep,
        )

    def recover(self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None) -> None:
        """Run `recover` steps; a refusal there (a login refused) would meet every item: it stops the run."""
        try:
            self.execute_steps(steps, scope, lane, item)
        except StepFailure as failure:
            error = failure.error
            if isinstance(error, BusinessError) and not isinstance(error, AccessRefused):
                refused = AccessRefused(
                    _("recovering was refused, the run stops: {error}").format(error=error.message),
                    hint=error.hint or _("recover steps prepare every item: fix what they need, then resume"),
                    cause=error.cause,
                )
                raise StepFailure(failure.step, refused, failure.item) from None
            raise

    def _retrying(
        self,
        step: Step,
        ref: str,
        attempt: int,
        policy: RetryPolicy,
        delay: float,
        error: BaseException,
        item: str | None,
    ) -> None:
        self.counters.add("retries")
        self.emit(
            RetryScheduled(
                run_id=self.run_id,
                step=ref,
                name=step.label,
                attempt=attempt,
                of=policy.attempts,
                delay=round(delay, 3),
                error=str(error),
                item=item,
            )
        )

    def _interruptible_sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise RunInterrupted()

    # -- structure -----------------------------------------------------------------------------------------------

    def execute_loop(self, step: ForEachStep, scope: Scope, lane: Lane, item: str | None) -> None:
        self._loops.run(step, scope, lane, item)

    @property
    def loops(self) -> LoopRunner:
        """The runner of the workflow's loops (a fleet worker runs a shared loop's items through it)."""
        return self._loops

    def handle_error(
        self,
        step: Step,
        handler: list[Step],
        failure: FailedStep,
        scope: Scope,
        lane: Lane,
        item: str | None,
    ) -> None:
        error_scope: Scope = ChainMap(
            {
                "error": {
                    "message": failure.error.message,
                    "kind": failure.error.kind,
                    "step": failure.step.label,
                    "line": failure.step.span.line,
                }
            },
            scope,
        )
        self.execute_steps(handler, error_scope, lane, item)

    # -- events --------------------------------------------------------------------------------------------------

    def _started(self, step: Step, ref: str, params: dict[str, Any], item: str | None, lane: Lane) -> None:
        self.counters.add("steps")
        span: Span = step.span
        self.emit(
            StepStarted(
                run_id=self.run_id,
                step=ref,
                name=step.label,
                action=f"{step.robot}.{step.action}" if isinstance(step, ActionStep) else step.kind,
                file=span.file,
                line=span.line,
                col=span.col,
                item=item,
                lane=lane.index,
                params=params,
            )
        )

    def _finished(
        self,
        step: Step,
        status: StepStatus,
        duration: float,
        item: str | None,
        lane: Lane,
        result: Any = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        self.emit(
            StepFinished(
                run_id=self.run_id,
                step=step_ref(step.path),
                name=step.label,
                status=status,
                duration=round(duration, 6),
                item=item,
                lane=lane.index,
                result=result,
                error=error,
            )
        )


__all__ = ["Engine"]
