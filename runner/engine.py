"""Walks a workflow's steps and emits an event for everything that happens.

Step kinds: action, `for_each` (optionally in parallel lanes), `if`, `try`/`on_error`, `set`, `log`, `fail`.
The engine holds the run context (inputs, vars, secrets, env, run, saved results, loop items) as nested scopes:
a loop item gets a scope of its own, so what one item saves never leaks into the next. It knows no sink: events
go to whatever was subscribed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from robots import RobotContext, action_spec
from runner.diagnostics import Diagnostic
from runner.errors import ApplicationError, BusinessError, RoboError, StepTimeout
from runner.events import (
    Event,
    ItemFinished,
    ItemStarted,
    LogMessage,
    LoopStarted,
    RetryScheduled,
    StepFinished,
    StepStarted,
)
from runner.ledger import UNFINISHED, ItemGate
from runner.loader import Span
from runner.model import (
    ActionStep,
    FailStep,
    ForEachStep,
    IfStep,
    LogStep,
    RetryPolicy,
    SetStep,
    Step,
    TryStep,
    Workflow,
)
from runner.retry import call_with_retry
from runner.robot_pool import RobotPool
from runner.templating import TemplateError, as_expression_template, evaluate_condition, render_value

Scope = MutableMapping[str, Any]
DEFAULT_STEP_TIMEOUT = 600.0
WATCHDOG_GRACE = 10.0


class RunInterrupted(Exception):
    """The run was asked to stop (SIGINT/SIGTERM) and stopped between two steps."""


class StepFailure(Exception):
    """A step failed: the error, and which step (name, position, loop item) it came from."""

    def __init__(self, step: Step, error: RoboError, item: str | None = None) -> None:
        super().__init__(str(error))
        self.step = step
        self.error = error
        self.item = item

    @property
    def kind(self) -> str:
        return self.error.kind

    def diagnostic(self) -> Diagnostic:
        error = self.error
        code = "step-timeout" if isinstance(error, StepTimeout) else f"{error.kind}-error"
        where = f" (item {self.item})" if self.item is not None else ""
        return Diagnostic(
            self.step.span,
            code,
            f"step '{self.step.label}' failed{where}: {error.message}",
            hint=error.hint,
            cause=error.cause,
        )


@dataclass
class Lane:
    """One line of execution: lane 0 is the run itself; `parallel: N` loops add lanes 1…N."""

    index: int
    robots: RobotPool


@dataclass
class RunCounters:
    steps: int = 0
    steps_failed: int = 0
    items_done: int = 0
    items_failed: int = 0
    items_skipped: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, int]:
        return {
            "steps": self.steps,
            "steps_failed": self.steps_failed,
            "items_done": self.items_done,
            "items_failed": self.items_failed,
            "items_skipped": self.items_skipped,
            "retries": self.retries,
        }


def step_ref(path: Sequence[Any]) -> str:
    """`("steps", 2, "steps", 0)` → `steps[2].steps[0]`."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def item_key_of(item: Any) -> str:
    """A stable key for an item that declares none: a hash of its content."""
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def summarize(value: Any, limit: int = 2000) -> Any:
    """A bounded copy of a result for the audit log: long lists and texts are cut, with their size kept."""
    if isinstance(value, list) and len(value) > 5:
        return {"list_length": len(value), "first": [summarize(v, limit // 5) for v in value[:3]]}
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value)} characters)"
    if isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > limit:
            return {"keys": list(value)[:50], "size": len(text)}
    return value


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
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self._emit = emit
        self._make_context = make_context
        self.dry_run = dry_run
        self.item_gate = item_gate or ItemGate()
        self.stop_event = stop_event or threading.Event()
        self.counters = RunCounters()
        self.item_failures: list[StepFailure] = []
        self.base_scope: dict[str, Any] = dict(scope)
        self.base_scope.setdefault("run", {})
        self._lanes: list[Lane] = []

    # -- running -------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run every step; raises `StepFailure` for the step that stopped the run, `RunInterrupted` on a stop."""
        lane = self._new_lane(0)
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

    def _new_lane(self, index: int) -> Lane:
        lane = Lane(index, RobotPool(lambda: self._make_context(index), lane=index))
        self._lanes.append(lane)
        return lane

    def _render_vars(self, scope: Scope) -> None:
        rendered: dict[str, Any] = {}
        scope["vars"] = rendered
        for name, value in self.workflow.vars.items():
            try:
                rendered[name] = render_value(value, scope)
            except TemplateError as exc:
                raise RoboError(f"vars.{name}: {exc.message}", hint=exc.hint) from None

    def execute_steps(self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None) -> None:
        for step in steps:
            if self.stop_event.is_set():
                raise RunInterrupted()
            self.execute_step(step, scope, lane, item)

    def execute_step(self, step: Step, scope: Scope, lane: Lane, item: str | None) -> None:
        if step.when is not None:
            try:
                go = evaluate_condition(step.when, scope)
            except TemplateError as exc:
                raise StepFailure(step, _template_failure(exc, "when"), item) from None
            if not go:
                self._finished(step, "skipped", 0.0, item, lane)
                return
        if isinstance(step, ActionStep):
            self.execute_action(step, scope, lane, item)
        elif isinstance(step, ForEachStep):
            self.execute_loop(step, scope, lane, item)
        elif isinstance(step, IfStep):
            try:
                branch = step.then if evaluate_condition(step.condition, scope) else step.else_
            except TemplateError as exc:
                raise StepFailure(step, _template_failure(exc, "if"), item) from None
            self.execute_steps(branch, scope, lane, item)
        elif isinstance(step, TryStep):
            self.execute_try(step, scope, lane, item)
        else:
            self.execute_simple(step, scope, lane, item)

    def execute_simple(
        self, step: SetStep | LogStep | FailStep, scope: Scope, lane: Lane, item: str | None
    ) -> None:
        """`set`, `log` and `fail`: steps of their own in the records, like actions."""
        started = time.perf_counter()
        self._started(step, step_ref(step.path), {}, item, lane)
        try:
            if isinstance(step, SetStep):
                for name, value in step.values.items():
                    scope[name] = self._render(step, value, scope, item, f"set.{name}")
            elif isinstance(step, LogStep):
                message = str(self._render(step, step.message, scope, item, "log"))
                self.emit(
                    LogMessage(
                        run_id=self.run_id,
                        level=step.level,
                        message=message,
                        step=step_ref(step.path),
                        item=item,
                    )
                )
            else:
                message = str(self._render(step, step.message, scope, item, "fail"))
                raise StepFailure(step, BusinessError(message), item)
        except StepFailure as failure:
            self.counters.add("steps_failed")
            self._finished(
                step, "failed", time.perf_counter() - started, item, lane, error=_error_record(failure.error)
            )
            raise
        self._finished(step, "succeeded", time.perf_counter() - started, item, lane)

    def _render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        try:
            return render_value(value, scope)
        except TemplateError as exc:
            raise StepFailure(step, _template_failure(exc, where), item) from None

    # -- actions -------------------------------------------------------------------------------------------------

    def execute_action(self, step: ActionStep, scope: Scope, lane: Lane, item: str | None) -> None:
        spec = action_spec(step.robot, step.action)
        if spec is None:  # validation prevents this; kept for workflows run without validation
            raise StepFailure(step, RoboError(f"unknown action {step.robot}.{step.action}"), item)
        started = time.perf_counter()
        ref = step_ref(step.path)
        params: dict[str, Any] = {}
        try:
            rendered = render_value(step.params, scope)
            step_timeout = step.timeout or self.workflow.defaults.timeout
            own_timeout = spec.parameters.get("timeout")
            # Only where the action's timeout is a limit left to a default (None): not, e.g., how long to wait for.
            if step_timeout and own_timeout and own_timeout.default is None and "timeout" not in rendered:
                rendered["timeout"] = (
                    step_timeout  # the action waits that long itself, and says what it waited for
                )
            params = spec.convert(rendered)
        except TemplateError as exc:
            self._started(step, ref, {}, item, lane)
            return self._action_failed(step, _template_failure(exc, "parameters"), scope, lane, item, started)
        except ValidationError as exc:
            self._started(step, ref, {}, item, lane)
            return self._action_failed(
                step, _conversion_failure(spec.qualified_name, exc), scope, lane, item, started
            )
        self._started(step, ref, _loggable(params, spec.secret_parameters), item, lane)
        if self.dry_run and spec.side_effects:
            if step.save:
                scope[step.save] = None
            self._finished(
                step, "skipped", time.perf_counter() - started, item, lane, result="dry run: not called"
            )
            return None
        policy = step.retry or self.workflow.defaults.retry
        timeout = step.timeout or self.workflow.defaults.timeout or DEFAULT_STEP_TIMEOUT
        if "timeout" in spec.parameters:
            # The action enforces its own timeout with a precise message; the engine's is only a watchdog.
            own = params.get("timeout") or timeout
            timeout = max(timeout, float(own)) * 1.5 + WATCHDOG_GRACE

        attempts = [0]

        def attempt() -> Any:
            if self.stop_event.is_set():
                raise RunInterrupted()
            attempts[0] += 1
            if attempts[0] > 1 and step.recover:
                # e.g. log in again when the session expired, before trying the step once more
                self.execute_steps(step.recover, scope, lane, item)
            return lane.robots.call(step.robot, spec, params, timeout)

        try:
            result = call_with_retry(
                attempt,
                policy,
                on_retry=lambda n, delay, error: self._retrying(step, ref, n, policy, delay, error, item),
                sleep=self._interruptible_sleep,
            )
        except RoboError as error:
            return self._action_failed(step, error, scope, lane, item, started)
        if step.save:
            scope[step.save] = result
        self._finished(step, "succeeded", time.perf_counter() - started, item, lane, result=summarize(result))
        return None

    def _action_failed(
        self, step: ActionStep, error: RoboError, scope: Scope, lane: Lane, item: str | None, started: float
    ) -> None:
        self.counters.add("steps_failed")
        self._finished(step, "failed", time.perf_counter() - started, item, lane, error=_error_record(error))
        if step.on_error == "continue":
            self.emit(
                LogMessage(
                    run_id=self.run_id,
                    level="warning",
                    message=f"step '{step.label}' failed, continuing (on_error: continue): {error.message}",
                    step=step_ref(step.path),
                    item=item,
                )
            )
            return
        if isinstance(step.on_error, list):
            self._handle_error(step, step.on_error, StepFailure(step, error, item), scope, lane, item)
            return
        raise StepFailure(step, error, item)

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

    def execute_try(self, step: TryStep, scope: Scope, lane: Lane, item: str | None) -> None:
        try:
            self.execute_steps(step.body, scope, lane, item)
        except StepFailure as failure:
            if step.on_error == "fail":
                raise
            if step.on_error == "continue":
                self.emit(
                    LogMessage(
                        run_id=self.run_id,
                        level="warning",
                        message=f"'{failure.step.label}' failed, continuing after the try block: {failure.error.message}",
                        step=step_ref(step.path),
                        item=item,
                    )
                )
                return
            self._handle_error(step, step.on_error, failure, scope, lane, item)

    def _handle_error(
        self,
        step: Step,
        handler: list[Step],
        failure: StepFailure,
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

    def execute_loop(self, step: ForEachStep, scope: Scope, lane: Lane, item: str | None) -> None:
        items = self._render(step, step.items, scope, item, "for_each")
        if isinstance(items, dict):
            items = [{"key": k, "value": v} for k, v in items.items()]
        if not isinstance(items, list | tuple):
            raise StepFailure(
                step,
                BusinessError(
                    f"for_each needs a list, got {type(items).__name__}",
                    hint="give a list, or a saved result that is one (e.g. the rows read from a file)",
                ),
                item,
            )
        loop = step_ref(step.path)
        total = len(items)
        lanes = self._lanes_wanted(step, scope, item)
        self.emit(LoopStarted(run_id=self.run_id, loop=loop, name=step.label, total=total, parallel=lanes))
        outcomes: list[dict[str, Any] | None] = [None] * total
        if lanes > 1 and total > 1:
            self._run_parallel(step, list(items), scope, loop, lanes, outcomes)
        elif items:
            lane_scope: Scope = ChainMap({}, scope)
            self.execute_steps(step.setup, lane_scope, lane, item)
            for index, value in enumerate(items):
                if self.stop_event.is_set():
                    raise RunInterrupted()
                outcomes[index] = self._run_item(step, value, index, total, lane_scope, lane, loop)
        if step.save:
            scope[step.save] = [outcome for outcome in outcomes if outcome is not None]

    def _lanes_wanted(self, step: ForEachStep, scope: Scope, item: str | None) -> int:
        if isinstance(step.parallel, int):
            return step.parallel
        value = self._render(step, as_expression_template(step.parallel), scope, item, "parallel")
        try:
            lanes = int(value)
        except (TypeError, ValueError):
            raise StepFailure(
                step, BusinessError(f"parallel must be a whole number, got {value!r}"), item
            ) from None
        if not 1 <= lanes <= 32:
            raise StepFailure(step, BusinessError(f"parallel must be between 1 and 32, got {lanes}"), item)
        return lanes

    def _run_parallel(
        self,
        step: ForEachStep,
        items: list[Any],
        scope: Scope,
        loop: str,
        lanes: int,
        outcomes: list[dict[str, Any] | None],
    ) -> None:
        lanes_count = min(lanes, len(items))
        next_index = iter(range(len(items)))
        take_lock = threading.Lock()
        fatal: list[BaseException] = []

        def work(lane_number: int) -> None:
            lane = self._new_lane(lane_number)
            lane_scope: Scope = ChainMap({}, scope)
            try:
                self.execute_steps(step.setup, lane_scope, lane, None)
                while not fatal and not self.stop_event.is_set():
                    with take_lock:
                        index = next(next_index, None)
                    if index is None:
                        return
                    outcomes[index] = self._run_item(
                        step, items[index], index, len(items), lane_scope, lane, loop
                    )
            except BaseException as exc:  # carried to the main thread below
                fatal.append(exc)
            finally:
                lane.robots.close()

        threads = [
            threading.Thread(target=work, args=(n,), name=f"lane-{n}", daemon=True)
            for n in range(1, lanes_count + 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if fatal:
            raise fatal[0]
        if self.stop_event.is_set():
            raise RunInterrupted()

    def _run_item(
        self, step: ForEachStep, value: Any, index: int, total: int, scope: Scope, lane: Lane, loop: str
    ) -> dict[str, Any]:
        """Run one item (unless an earlier attempt of the run did it); its outcome: key, status, error, `collect`."""
        item_scope: Scope = ChainMap(
            {
                step.as_: value,
                "loop": {
                    "index": index,
                    "number": index + 1,
                    "total": total,
                    "first": index == 0,
                    "last": index == total - 1,
                },
            },
            scope,
        )
        if step.key is not None:
            key = str(self._render(step, as_expression_template(step.key), item_scope, None, "key"))
        else:
            key = item_key_of(value)
        previous = self.item_gate.previous(loop, key)
        if previous is not None and previous.status == "done":
            self.counters.add("items_skipped")
            self._item_finished(loop, key, index, "skipped", 0.0, lane, None, previous.outcome)
            return previous.outcome or self._outcome(step, key, "done", None, item_scope)
        self.emit(ItemStarted(run_id=self.run_id, loop=loop, key=key, index=index, lane=lane.index))
        started = time.perf_counter()
        policy = step.retry or RetryPolicy(attempts=1)
        final_scope: list[Scope] = [item_scope]
        attempts = [0]
        interrupted = previous is not None and previous.status in UNFINISHED

        def attempt() -> str:
            attempts[0] += 1
            lane.robots.notify("item_started", key)
            final_scope[0] = ChainMap({}, item_scope)
            try:
                if attempts[0] > 1 and step.recover:
                    self.execute_steps(step.recover, final_scope[0], lane, key)
                if (interrupted or attempts[0] > 1) and self._already_done(step, final_scope[0], lane, key):
                    lane.robots.notify("item_finished", key, True)
                    return "already_done"
                self.execute_steps(step.steps, final_scope[0], lane, key)
                lane.robots.notify("item_finished", key, True)
                return "done"
            except StepFailure as failure:
                lane.robots.notify("item_finished", key, False)
                if isinstance(failure.error, ApplicationError):
                    raise _ItemApplicationError(failure) from None
                raise

        try:
            how = call_with_retry(
                attempt,
                policy,
                on_retry=lambda n, delay, error: self._retrying(step, loop, n, policy, delay, error, key),
                sleep=self._interruptible_sleep,
            )
        except (_ItemApplicationError, StepFailure) as exc:
            failure = exc.failure if isinstance(exc, _ItemApplicationError) else exc
            status = "failed_business" if isinstance(failure.error, BusinessError) else "failed_application"
            self.counters.add("items_failed")
            outcome = self._outcome(step, key, status, failure.error.message, final_scope[0])
            message = failure.diagnostic().message
            self._item_finished(
                loop, key, index, status, time.perf_counter() - started, lane, message, outcome
            )
            with self.counters._lock:
                self.item_failures.append(failure)
            if step.on_error == "fail":
                raise failure from None
            return outcome
        self.counters.add("items_done")
        if how == "already_done":
            self.emit(
                LogMessage(
                    run_id=self.run_id,
                    level="info",
                    message=f"item {key} was already done before the interruption: not entered again",
                    item=key,
                )
            )
        outcome = self._outcome(step, key, "done", None, final_scope[0])
        self._item_finished(loop, key, index, "done", time.perf_counter() - started, lane, None, outcome)
        return outcome

    def _already_done(self, step: ForEachStep, scope: Scope, lane: Lane, key: str) -> bool:
        """Run the loop's `already_done` steps; the last one's result says whether the item needs doing."""
        if not step.already_done:
            return False
        marker = "__already_done__"
        checks = list(step.already_done)
        last = checks[-1]
        if isinstance(last, ActionStep) and not last.save:
            checks[-1] = last.model_copy(update={"save": marker})
        self.execute_steps(checks, scope, lane, key)
        target = checks[-1].save if isinstance(checks[-1], ActionStep) else None
        return bool(scope.get(target)) if target else False

    def _item_finished(
        self,
        loop: str,
        key: str,
        index: int,
        status: str,
        duration: float,
        lane: Lane,
        error: str | None,
        outcome: dict[str, Any] | None,
    ) -> None:
        self.emit(
            ItemFinished(
                run_id=self.run_id,
                loop=loop,
                key=key,
                index=index,
                status=status,
                duration=duration,
                lane=lane.index,
                error=error,
                outcome=outcome,
            )
        )

    def _outcome(
        self, step: ForEachStep, key: str, status: str, error: str | None, scope: Scope
    ) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        for name, template in (step.collect or {}).items():
            try:
                outcome[name] = render_value(template, scope)
            except TemplateError:
                outcome[name] = None  # what a failed item did not get to (e.g. its confirmation number)
        outcome.update(key=key, status=status, error=error)
        return outcome

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
        status: str,
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


class _ItemApplicationError(ApplicationError):
    """Carries an item's application failure through the item-level retry."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


def _template_failure(exc: TemplateError, where: str) -> BusinessError:
    return BusinessError(
        f"{where}: {exc.message}",
        hint=exc.hint,
        cause=[f"template {exc.template!r}"],
    )


def _conversion_failure(action: str, exc: ValidationError) -> BusinessError:
    problems = []
    for problem in exc.errors():
        where = ".".join(str(part) for part in problem["loc"])
        problems.append(f"parameter '{where}': {problem['msg']} (found {problem.get('input')!r})")
    return BusinessError(f"{action}: " + "; ".join(problems))


def _error_record(error: RoboError) -> dict[str, Any]:
    return {
        "kind": error.kind,
        "type": type(error).__name__,
        "message": error.message,
        "hint": error.hint,
        "cause": list(error.cause),
    }


def _compact(value: Any) -> Any:
    """Parameter groups (e.g. how an element is found) as the few fields the workflow gave."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in dataclasses.asdict(value).items() if v not in (None, False)}
    return value


def _loggable(params: Mapping[str, Any], secret_names: frozenset[str]) -> dict[str, Any]:
    return {
        name: ("***" if name in secret_names else summarize(_compact(value), 500))
        for name, value in params.items()
    }


__all__ = ["Engine", "ItemGate", "RunInterrupted", "StepFailure", "item_key_of", "step_ref"]
