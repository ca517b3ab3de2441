"""`for_each`: items one after the other or in parallel lanes, each with its key, its retries and its record.

A mixin of `Engine`: the loop needs the engine's step walking, events and counters, and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import ChainMap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runner._step_parts import (
    Lane,
    RunCounters,
    RunInterrupted,
    Scope,
    StepFailure,
    is_streamed,
    item_key_of,
    step_ref,
)
from runner.errors import ApplicationError, BusinessError
from runner.events import Event, ItemFinished, ItemStarted, LogMessage, LoopStarted
from runner.ledger import UNFINISHED, ItemGate
from runner.model import ActionStep, ForEachStep, RetryPolicy, Step
from runner.retry import call_with_retry
from runner.templating import TemplateError, as_expression_template, render_value


class LoopSteps:
    """The `for_each` step of the engine."""

    run_id: str
    counters: RunCounters
    item_gate: ItemGate
    stop_event: threading.Event
    item_failures: list[StepFailure]

    if TYPE_CHECKING:  # provided by Engine

        def emit(self, event: Event) -> None: ...

        def execute_steps(
            self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None
        ) -> None: ...

        def _new_lane(self, index: int) -> Lane: ...

        def _render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any: ...

        def _retrying(
            self,
            step: Step,
            ref: str,
            attempt: int,
            policy: RetryPolicy,
            delay: float,
            error: BaseException,
            item: str | None,
        ) -> None: ...

        def _interruptible_sleep(self, seconds: float) -> None: ...

    def execute_loop(self, step: ForEachStep, scope: Scope, lane: Lane, item: str | None) -> None:
        items = self._render(step, step.items, scope, item, "for_each")
        if isinstance(items, dict):
            items = [{"key": k, "value": v} for k, v in items.items()]
        if not isinstance(items, list | tuple) and not is_streamed(items):
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


class _ItemApplicationError(ApplicationError):
    """Carries an item's application failure through the item-level retry."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure
