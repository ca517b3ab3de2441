"""`for_each`: items one after the other or in parallel lanes, each with its key, its retries and its record.

The engine holds a `LoopRunner` and hands it its loops; the runner asks the engine (its `LoopHost`) to run the
steps of each item. The keys of the items are checked before the first one starts (`item_keys.py`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import PurePath
from typing import Any, Protocol, TypeVar

from robots.kit import AccessRefused, ApplicationError, BusinessError, RoboError, WorkflowBug, _
from runner.engine.item_changes import ItemChanges
from runner.engine.item_keys import item_keys, item_names
from runner.engine.items import EarlierEntry, ItemGate, PreviousItem
from runner.engine.state import (
    Lane,
    RunCounters,
    RunInterrupted,
    StepFailure,
    render_in_step,
    step_ref,
)
from runner.events import (
    UNFINISHED,
    Effect,
    Event,
    ItemFinished,
    ItemStarted,
    ItemStatus,
    LogMessage,
    LoopStarted,
    to_check_hint,
    to_check_message,
)
from runner.language import ActionStep, ForEachStep, RetryPolicy, Scope, Step, Workflow
from runner.language.templating import RECORD_SOURCES, TemplateError, as_expression_template, render_value

T = TypeVar("T")
_SAVED_NAME = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*")
STOP_AFTER_SAME_BUG = 3
"""Items in a row that fail with the same mistake in the workflow before the run stops (the rest would too)."""


class LoopHost(Protocol):
    """What the loop runner needs from the engine that holds it: the run's facts, and running steps in a lane."""

    workflow: Workflow
    run_id: str
    counters: RunCounters
    item_gate: ItemGate
    stop_event: threading.Event
    item_failures: list[StepFailure]

    def emit(self, event: Event) -> None: ...

    def execute_steps(self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None) -> None: ...

    def new_lane(self, index: int) -> Lane: ...

    def recover(self, steps: Sequence[Step], scope: Scope, lane: Lane, item: str | None) -> None: ...

    def retried(
        self, attempt: Callable[[], T], policy: RetryPolicy, step: Step, ref: str, item: str | None
    ) -> T: ...


class LoopRunner:
    """Runs the `for_each` steps of the engine that holds it."""

    def __init__(self, host: LoopHost) -> None:
        self._host = host
        self._warned: set[str] = set()  # loops that said their items other runs entered are done again
        self._warned_lock = threading.Lock()

    def run(self, step: ForEachStep, scope: Scope, lane: Lane, item: str | None) -> None:
        """Run a loop: every item's key first, then its items one after the other or in parallel lanes."""
        items = self._render(step, step.items, scope, item, "for_each")
        if isinstance(items, dict):
            items = [{"key": k, "value": v} for k, v in items.items()]
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            raise StepFailure(
                step,
                BusinessError(
                    f"for_each needs a list, got {type(items).__name__}",
                    hint="give a list, or a saved result that is one (e.g. the rows read from a file)",
                ),
                item,
            )
        if isinstance(items, Iterator):  # read only once: kept, since the keys are read in a first pass
            items = list(items)
        loop = step_ref(step.path)
        lanes = self._lanes_wanted(step, scope, item)
        # Every key before anything starts (no browser opened by `setup`): a duplicate, empty or
        # unreadable key stops the loop here, not after half of the items were entered.
        sources = self._items_source(step, scope) if step.key is not None else {}
        keys = item_keys(step, items, scope, item, sources=sources, spans=self._host.workflow.spans)
        if item is not None:  # a loop inside another loop's item: its records are that item's own
            keys = [f"{item}/{key}" for key in keys]
        total = len(keys)
        self._host.emit(
            LoopStarted(run_id=self._host.run_id, loop=loop, name=step.label, total=total, parallel=lanes)
        )
        outcomes: list[dict[str, Any] | None] = [None] * total
        streak = _BugStreak()
        if lanes > 1 and total > 1:
            self._run_parallel(step, items, keys, scope, loop, lanes, outcomes, streak)
        elif total:
            lane_scope: Scope = ChainMap(self._items_source(step, scope), scope)
            self._host.execute_steps(step.setup, lane_scope, lane, item)
            for index, value in enumerate(islice(items, total)):
                if self._host.stop_event.is_set():
                    raise RunInterrupted()
                outcomes[index] = self._run_item(
                    step, value, index, total, lane_scope, lane, loop, keys[index]
                )
                self._note_item(step, streak, outcomes[index])
        if step.save:
            scope[step.save] = [outcome for outcome in outcomes if outcome is not None]

    def _render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        return render_in_step(step, value, scope, item, where, self._host.workflow.spans)

    def _items_source(self, step: ForEachStep, scope: Scope) -> dict[str, Any]:
        """`{RECORD_SOURCES: {loop variable: file name}}` when the items are what one step read from a file.

        Only for messages ("the columns of dossiers.csv are …"): empty whenever that is not certain.
        """
        saved = _SAVED_NAME.fullmatch(step.items) if isinstance(step.items, str) else None
        if saved is None:
            return {}
        readers = [
            candidate
            for candidate in self._host.workflow.walk()
            if isinstance(candidate, ActionStep) and candidate.save == saved.group(1)
        ]
        if len(readers) != 1 or not isinstance(readers[0].params.get("path"), str):
            return {}
        try:
            path = render_value(readers[0].params["path"], scope)
        except TemplateError:
            return {}
        return {RECORD_SOURCES: {step.as_: PurePath(str(path)).name}}

    def _note_item(self, step: ForEachStep, streak: _BugStreak, outcome: dict[str, Any] | None) -> None:
        """Stop the loop when items fail one after the other with the same mistake in the workflow."""
        if outcome is None:
            return
        error = outcome.get("error") if outcome.get("status") == ItemStatus.FAILED_WORKFLOW else None
        if not streak.add(error):
            return
        with self._host.counters._lock:
            last = next((f for f in reversed(self._host.item_failures) if f.error.message == error), None)
        hint = (
            f"fix the workflow, then resume: robo run {self._host.workflow.file} --resume {self._host.run_id}"
        )
        message = f"the same error on {STOP_AFTER_SAME_BUG} items in a row, the run stops"
        if last is None:
            raise StepFailure(step, WorkflowBug(f"{message}: {error}", hint=hint))
        bug = last.error
        span = bug.span if isinstance(bug, WorkflowBug) else None
        raise StepFailure(
            last.step, WorkflowBug(f"{message}: {bug.message}", hint=hint, cause=bug.cause, span=span)
        )

    def _lanes_wanted(self, step: ForEachStep, scope: Scope, item: str | None) -> int:
        if isinstance(step.parallel, int):
            return step.parallel
        value = self._render(step, as_expression_template(step.parallel), scope, item, "parallel")
        span = (
            self._host.workflow.spans.value((*step.path, "parallel")) if self._host.workflow.spans else None
        )
        try:
            lanes = int(value)
        except (TypeError, ValueError):
            raise StepFailure(
                step, WorkflowBug(f"parallel must be a whole number, got {value!r}", span=span), item
            ) from None
        if not 1 <= lanes <= 32:
            raise StepFailure(
                step, WorkflowBug(f"parallel must be between 1 and 32, got {lanes}", span=span), item
            )
        return lanes

    def _run_parallel(
        self,
        step: ForEachStep,
        items: Iterable[Any],
        keys: list[str],
        scope: Scope,
        loop: str,
        lanes: int,
        outcomes: list[dict[str, Any] | None],
        streak: _BugStreak,
    ) -> None:
        total = len(keys)
        lanes_count = min(lanes, total)
        next_item = enumerate(islice(items, total))
        take_lock = threading.Lock()
        fatal: list[BaseException] = []

        # The other lanes run their setup (their login) once the first lane's succeeded: a refusal is met once.
        first_setup = threading.Event()

        def work(lane_number: int) -> None:
            lane = self._host.new_lane(lane_number)
            lane_scope: Scope = ChainMap(self._items_source(step, scope), scope)
            try:
                if lane_number > 1:
                    first_setup.wait()
                    if fatal:
                        return
                try:
                    self._host.execute_steps(step.setup, lane_scope, lane, None)
                finally:
                    first_setup.set()
                while not fatal and not self._host.stop_event.is_set():
                    with take_lock:
                        taken = next(next_item, None)
                    if taken is None:
                        return
                    index, value = taken
                    outcomes[index] = self._run_item(
                        step, value, index, total, lane_scope, lane, loop, keys[index]
                    )
                    with take_lock:
                        self._note_item(step, streak, outcomes[index])
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
        if self._host.stop_event.is_set():
            raise RunInterrupted()

    def _run_item(
        self,
        step: ForEachStep,
        value: Any,
        index: int,
        total: int,
        scope: Scope,
        lane: Lane,
        loop: str,
        key: str,
    ) -> dict[str, Any]:
        """Run one item (unless an earlier attempt of the run did it); its outcome: key, status, error, `collect`.

        An item that may have been entered (a change it started, in this session or an earlier one) is never
        done again blindly: its `already_done` steps check it first; without them it is left `to_check`.
        """
        item_scope: Scope = ChainMap(item_names(step, value, index, total), scope)
        previous = self._host.item_gate.previous(loop, key)
        if previous is not None and previous.status == ItemStatus.DONE:
            self._host.counters.add("items_skipped")
            self._item_finished(loop, key, index, ItemStatus.SKIPPED, 0.0, lane, None, previous.outcome)
            return previous.outcome or self._outcome(step, key, ItemStatus.DONE, None, item_scope)
        touched_before = previous.touched if previous is not None else []
        if touched_before and not step.already_done and not self._host.item_gate.force:
            return self._left_to_check(step, key, index, lane, loop, item_scope, touched_before[-1], previous)
        earlier = self._entered_before(step, loop, key) if not touched_before else None
        self._host.emit(
            ItemStarted(run_id=self._host.run_id, loop=loop, key=key, index=index, lane=lane.index)
        )
        if touched_before and not step.already_done:
            self._host.emit(
                LogMessage(
                    run_id=self._host.run_id,
                    level="warning",
                    message=f"item {key} may already be entered ('{touched_before[-1].name}' started a change"
                    " before): done again, as --force asks",
                    item=key,
                )
            )
        started = time.perf_counter()
        policy = step.retry or RetryPolicy(attempts=1)
        final_scope: list[Scope] = [item_scope]
        attempts = [0]
        check_first = earlier is not None or (
            previous is not None and (previous.status in UNFINISHED or bool(touched_before))
        )
        changes = ItemChanges(loop, key, list(previous.effects) if touched_before and previous else [])
        blind = not step.already_done  # nothing can tell whether a change this item made went through

        def attempt() -> bool:
            """Do the item; whether it was found done already (by its `already_done` steps) instead."""
            attempts[0] += 1
            lane.robots.notify("item_started", key)
            final_scope[0] = ChainMap({}, item_scope)
            try:
                changes.recording = False  # recovering and checking restore or read: they enter nothing
                try:
                    if attempts[0] > 1 and step.recover:
                        self._host.recover(step.recover, final_scope[0], lane, key)
                    if (check_first or attempts[0] > 1) and self._already_done(
                        step, final_scope[0], lane, key
                    ):
                        lane.robots.notify("item_finished", key, True)
                        return True
                finally:
                    changes.recording = True
                self._host.execute_steps(step.steps, final_scope[0], lane, key)
                lane.robots.notify("item_finished", key, True)
                return False
            except StepFailure as failure:
                lane.robots.notify("item_finished", key, False)
                retry_is_blind = blind and bool(changes.touched())
                if isinstance(failure.error, ApplicationError) and not retry_is_blind:
                    raise _ItemApplicationError(failure) from None
                raise

        lane.open_items.append(changes)
        try:
            done_before = self._host.retried(attempt, policy, step, loop, key)
        except (_ItemApplicationError, StepFailure) as exc:
            failure = exc.failure if isinstance(exc, _ItemApplicationError) else exc
            touched = changes.touched()
            message = failure.diagnostic().message
            if touched and blind:
                status = ItemStatus.TO_CHECK
                message = f"{to_check_message(key, touched[-1])} (it failed then: {message})"
                self._host.counters.add("items_to_check")
            else:
                status = failed_status(failure.error)
                self._host.counters.add("items_failed")
            outcome = self._outcome(step, key, status, failure.error.message, final_scope[0])
            self._item_finished(
                loop, key, index, status, time.perf_counter() - started, lane, message, outcome
            )
            with self._host.counters._lock:
                self._host.item_failures.append(failure)
            if step.on_error == "fail" or isinstance(failure.error, AccessRefused):
                raise failure from None  # a refused login would be refused for every item: the run stops
            return outcome
        finally:
            lane.open_items.remove(changes)
        if done_before and earlier is not None and attempts[0] == 1:
            self._host.counters.add("items_skipped")
            self._host.emit(
                LogMessage(
                    run_id=self._host.run_id,
                    level="info",
                    message=_("item {key} was entered by run {run_id}: not entered again").format(
                        key=key, run_id=earlier.run_id
                    ),
                    item=key,
                )
            )
            outcome = {
                **self._outcome(step, key, ItemStatus.DONE, None, final_scope[0]),
                **(earlier.outcome or {}),
            }
            outcome["status"] = str(ItemStatus.DONE)
            self._item_finished(
                loop, key, index, ItemStatus.SKIPPED, time.perf_counter() - started, lane, None, outcome
            )
            return outcome
        self._host.counters.add("items_done")
        if done_before:
            self._host.emit(
                LogMessage(
                    run_id=self._host.run_id,
                    level="info",
                    message=f"item {key} was already done before the interruption: not entered again",
                    item=key,
                )
            )
        outcome = self._outcome(step, key, ItemStatus.DONE, None, final_scope[0])
        self._item_finished(
            loop, key, index, ItemStatus.DONE, time.perf_counter() - started, lane, None, outcome
        )
        return outcome

    def _left_to_check(
        self,
        step: ForEachStep,
        key: str,
        index: int,
        lane: Lane,
        loop: str,
        scope: Scope,
        effect: Effect,
        previous: PreviousItem | None,
    ) -> dict[str, Any]:
        """An item an earlier session may have entered, and nothing can check: left for a person to check."""
        message = to_check_message(key, effect)
        self._host.counters.add("items_to_check")
        outcome = (previous.outcome if previous else None) or self._outcome(
            step, key, ItemStatus.TO_CHECK, message, scope
        )
        self._item_finished(loop, key, index, ItemStatus.TO_CHECK, 0.0, lane, message, outcome)
        with self._host.counters._lock:
            self._host.item_failures.append(
                StepFailure(step, BusinessError(message, hint=to_check_hint(self._host.run_id, key)), key)
            )
        return outcome

    def _entered_before(self, step: ForEachStep, loop: str, key: str) -> EarlierEntry | None:
        """Another run of the workflow entered the item: with `already_done` steps, they check it first.

        Without them nothing can tell whether it is still to do (a copy into each run's own folder is, a form sent
        to the intranet is not), so it is done as before, and the loop says once that this happens.
        """
        gate = self._host.item_gate
        earlier = gate.entered_before(loop, key) if not gate.force else None
        if earlier is None or step.already_done:
            return earlier
        with self._warned_lock:
            if loop in self._warned:
                return None
            self._warned.add(loop)
        self._host.emit(
            LogMessage(
                run_id=self._host.run_id,
                level="warning",
                message=_(
                    "{loop}: item {key} was entered by run {run_id}, and the loop has no 'already_done' steps to"
                    " check whether such items are still to do: they are done again"
                ).format(loop=step.name or loop, key=key, run_id=earlier.run_id),
                item=key,
            )
        )
        return None

    def _already_done(self, step: ForEachStep, scope: Scope, lane: Lane, key: str) -> bool:
        """Run the loop's `already_done` steps; the last one's result says whether the item needs doing."""
        if not step.already_done:
            return False
        marker = "__already_done__"
        checks = list(step.already_done)
        last = checks[-1]
        if isinstance(last, ActionStep) and not last.save:
            checks[-1] = last.model_copy(update={"save": marker})
        self._host.execute_steps(checks, scope, lane, key)
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
        self._host.emit(
            ItemFinished(
                run_id=self._host.run_id,
                loop=loop,
                key=key,
                index=index,
                status=str(status),
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
        outcome.update(key=key, status=str(status), error=error)  # plain data, as events carry
        return outcome


class _ItemApplicationError(ApplicationError):
    """Carries an item's application failure through the item-level retry."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


def failed_status(error: RoboError) -> ItemStatus:
    """The status of an item that failed with `error`."""
    if isinstance(error, WorkflowBug):
        return ItemStatus.FAILED_WORKFLOW
    return ItemStatus.FAILED_BUSINESS if isinstance(error, BusinessError) else ItemStatus.FAILED_APPLICATION


class _BugStreak:
    """How many items in a row ended with the same mistake in the workflow."""

    def __init__(self) -> None:
        self._last: str | None = None
        self._count = 0

    def add(self, error: str | None) -> bool:
        """Count an item's outcome (`error` is None unless it failed with a workflow bug); True at the limit."""
        if error is None or error != self._last:
            self._last, self._count = error, 0
        if error is None:
            return False
        self._count += 1
        return self._count >= STOP_AFTER_SAME_BUG
