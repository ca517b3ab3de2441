"""`for_each`: items one after the other or in parallel lanes, each with its key, its retries and its record.

A mixin of `Engine`: the loop needs the engine's step walking, events and counters, and nothing else.

Before the first item (and before `setup` opens a browser), the key of every item is computed: a key that is
empty, or shared by two items, would make a resumed run skip or redo an item, so the loop does not start
(unless `key_duplicates: number` makes repeated keys distinct: `D1`, `D1#2`, `D1#3`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from robots.kit import AccessRefused, ApplicationError, BusinessError, RoboError, WorkflowBug
from runner.engine.items import ItemGate, PreviousItem
from runner.engine.retry import call_with_retry
from runner.engine.state import Lane, RunCounters, RunInterrupted, Scope, StepFailure, item_key_of, step_ref
from runner.events import (
    UNFINISHED,
    Effect,
    EffectState,
    Event,
    ItemEffect,
    ItemFinished,
    ItemStarted,
    ItemStatus,
    LogMessage,
    LoopStarted,
    to_check_hint,
    to_check_message,
    touching,
)
from runner.language import ActionStep, ForEachStep, RetryPolicy, Step, Workflow
from runner.language.templating import RECORD_SOURCES, TemplateError, as_expression_template, render_value

_SAVED_NAME = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*")
STOP_AFTER_SAME_BUG = 3
"""Items in a row that fail with the same mistake in the workflow before the run stops (the rest would too)."""


class LoopSteps:
    """The `for_each` step of the engine."""

    workflow: Workflow
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
        keys = self._item_keys(step, items, scope, item)
        if item is not None:  # a loop inside another loop's item: its records are that item's own
            keys = [f"{item}/{key}" for key in keys]
        total = len(keys)
        self.emit(LoopStarted(run_id=self.run_id, loop=loop, name=step.label, total=total, parallel=lanes))
        outcomes: list[dict[str, Any] | None] = [None] * total
        streak = _BugStreak()
        if lanes > 1 and total > 1:
            self._run_parallel(step, items, keys, scope, loop, lanes, outcomes, streak)
        elif total:
            lane_scope: Scope = ChainMap(self._items_source(step, scope), scope)
            self.execute_steps(step.setup, lane_scope, lane, item)
            for index, value in enumerate(islice(items, total)):
                if self.stop_event.is_set():
                    raise RunInterrupted()
                outcomes[index] = self._run_item(
                    step, value, index, total, lane_scope, lane, loop, keys[index]
                )
                self._note_item(step, streak, outcomes[index])
        if step.save:
            scope[step.save] = [outcome for outcome in outcomes if outcome is not None]

    def _item_keys(
        self, step: ForEachStep, items: Iterable[Any], scope: Scope, item: str | None
    ) -> list[str]:
        """The key of every item, read in one pass that keeps only the keys; checked unique and not empty."""
        total = len(items) if isinstance(items, Sized) else None
        sources = self._items_source(step, scope) if step.key is not None else {}
        keys: list[str] = []
        empty: list[int] = []
        for index, value in enumerate(items):
            if step.key is None:
                keys.append(item_key_of(value))
                continue
            item_scope: Scope = ChainMap(_item_names(step, value, index, total), sources, scope)
            try:
                rendered = self._render(step, as_expression_template(step.key), item_scope, item, "key")
            except StepFailure as failure:
                failure.error.message += f" (the key of item {index + 1}: nothing was done)"
                raise
            key = "" if rendered is None else str(rendered)
            if not key.strip():
                empty.append(index)
            keys.append(key)
        if empty:
            raise StepFailure(step, _empty_keys(empty), item)
        repeated = _repeats(keys)
        if repeated and step.key_duplicates == "number":
            for key, where in repeated.items():
                for occurrence, index in enumerate(where[1:], start=2):
                    keys[index] = f"{key}#{occurrence}"
            repeated = _repeats(keys)  # a numbered key may be one that the data already holds
        if repeated:
            raise StepFailure(step, _duplicate_keys(repeated, keyed=step.key is not None), item)
        return keys

    def _items_source(self, step: ForEachStep, scope: Scope) -> dict[str, Any]:
        """`{RECORD_SOURCES: {loop variable: file name}}` when the items are what one step read from a file.

        Only for messages ("the columns of dossiers.csv are …"): empty whenever that is not certain.
        """
        saved = _SAVED_NAME.fullmatch(step.items) if isinstance(step.items, str) else None
        if saved is None:
            return {}
        readers = [
            candidate
            for candidate in self.workflow.walk()
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
        with self.counters._lock:
            last = next((f for f in reversed(self.item_failures) if f.error.message == error), None)
        hint = f"fix the workflow, then resume: robo run {self.workflow.file} --resume {self.run_id}"
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
        span = self.workflow.spans.value((*step.path, "parallel")) if self.workflow.spans else None
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
            lane = self._new_lane(lane_number)
            lane_scope: Scope = ChainMap(self._items_source(step, scope), scope)
            try:
                if lane_number > 1:
                    first_setup.wait()
                    if fatal:
                        return
                try:
                    self.execute_steps(step.setup, lane_scope, lane, None)
                finally:
                    first_setup.set()
                while not fatal and not self.stop_event.is_set():
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
        if self.stop_event.is_set():
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
        item_scope: Scope = ChainMap(_item_names(step, value, index, total), scope)
        previous = self.item_gate.previous(loop, key)
        if previous is not None and previous.status == ItemStatus.DONE:
            self.counters.add("items_skipped")
            self._item_finished(loop, key, index, ItemStatus.SKIPPED, 0.0, lane, None, previous.outcome)
            return previous.outcome or self._outcome(step, key, ItemStatus.DONE, None, item_scope)
        touched_before = previous.touched if previous is not None else []
        if touched_before and not step.already_done and not self.item_gate.force:
            return self._left_to_check(step, key, index, lane, loop, item_scope, touched_before[-1], previous)
        self.emit(ItemStarted(run_id=self.run_id, loop=loop, key=key, index=index, lane=lane.index))
        if touched_before and not step.already_done:
            self.emit(
                LogMessage(
                    run_id=self.run_id,
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
        check_first = previous is not None and (previous.status in UNFINISHED or bool(touched_before))
        changes = ItemChanges(loop, key, list(previous.effects) if touched_before and previous else [])
        blind = not step.already_done  # nothing can tell whether a change this item made went through

        def attempt() -> str:
            attempts[0] += 1
            lane.robots.notify("item_started", key)
            final_scope[0] = ChainMap({}, item_scope)
            try:
                changes.recording = False  # recovering and checking restore or read: they enter nothing
                try:
                    if attempts[0] > 1 and step.recover:
                        self._recover(step.recover, final_scope[0], lane, key)
                    if (check_first or attempts[0] > 1) and self._already_done(
                        step, final_scope[0], lane, key
                    ):
                        lane.robots.notify("item_finished", key, True)
                        return "already_done"
                finally:
                    changes.recording = True
                self.execute_steps(step.steps, final_scope[0], lane, key)
                lane.robots.notify("item_finished", key, True)
                return "done"
            except StepFailure as failure:
                lane.robots.notify("item_finished", key, False)
                retry_is_blind = blind and bool(changes.touched())
                if isinstance(failure.error, ApplicationError) and not retry_is_blind:
                    raise _ItemApplicationError(failure) from None
                raise

        lane.open_items.append(changes)
        try:
            how = call_with_retry(
                attempt,
                policy,
                on_retry=lambda n, delay, error: self._retrying(step, loop, n, policy, delay, error, key),
                sleep=self._interruptible_sleep,
            )
        except (_ItemApplicationError, StepFailure) as exc:
            failure = exc.failure if isinstance(exc, _ItemApplicationError) else exc
            touched = changes.touched()
            message = failure.diagnostic().message
            if touched and blind:
                status = ItemStatus.TO_CHECK
                message = f"{to_check_message(key, touched[-1])} (it failed then: {message})"
                self.counters.add("items_to_check")
            else:
                status = failed_status(failure.error)
                self.counters.add("items_failed")
            outcome = self._outcome(step, key, status, failure.error.message, final_scope[0])
            self._item_finished(
                loop, key, index, status, time.perf_counter() - started, lane, message, outcome
            )
            with self.counters._lock:
                self.item_failures.append(failure)
            if step.on_error == "fail" or isinstance(failure.error, AccessRefused):
                raise failure from None  # a refused login would be refused for every item: the run stops
            return outcome
        finally:
            lane.open_items.remove(changes)
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
        outcome = self._outcome(step, key, ItemStatus.DONE, None, final_scope[0])
        self._item_finished(
            loop, key, index, ItemStatus.DONE, time.perf_counter() - started, lane, None, outcome
        )
        return outcome

    def _recover(self, steps: Sequence[Step], scope: Scope, lane: Lane, key: str | None) -> None:
        """Run `recover` steps; a refusal there (a login refused) would meet every item: it stops the run."""
        try:
            self.execute_steps(steps, scope, lane, key)
        except StepFailure as failure:
            error = failure.error
            if isinstance(error, BusinessError) and not isinstance(error, AccessRefused):
                refused = AccessRefused(
                    f"recovering was refused, the run stops: {error.message}",
                    hint=error.hint or "recover steps prepare every item: fix what they need, then resume",
                    cause=error.cause,
                )
                raise StepFailure(failure.step, refused, failure.item) from None
            raise

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
        self.counters.add("items_to_check")
        outcome = (previous.outcome if previous else None) or self._outcome(
            step, key, ItemStatus.TO_CHECK, message, scope
        )
        self._item_finished(loop, key, index, ItemStatus.TO_CHECK, 0.0, lane, message, outcome)
        with self.counters._lock:
            self.item_failures.append(
                StepFailure(step, BusinessError(message, hint=to_check_hint(self.run_id, key)), key)
            )
        return outcome

    # -- changes: the effects of an item's steps, recorded by the ledger -----------------------------------------

    def _change_started(self, step: ActionStep, lane: Lane) -> ItemChange | None:
        """Before an action that changes the outside world is called inside an item: recorded at once."""
        owners = [changes for changes in lane.open_items if changes.recording]
        if not owners or not lane.open_items[-1].recording:
            return None
        change = ItemChange(step_ref(step.path), step.label, f"{step.robot}.{step.action}", owners)
        self._record_change(change, EffectState.STARTED)
        return change

    def _change_ended(self, change: ItemChange | None, error: BaseException | None) -> None:
        """The action returned (the change is made) or was refused (nothing changed); otherwise it may be made."""
        if change is None:
            return
        if error is None:
            self._record_change(change, EffectState.DONE)
        elif isinstance(error, BusinessError):
            self._record_change(change, EffectState.REFUSED)

    def _record_change(self, change: ItemChange, state: EffectState) -> None:
        effect = Effect(change.step, change.name, change.action, state)
        for changes in change.owners:
            changes.effects.append(effect)
            self.emit(
                ItemEffect(
                    run_id=self.run_id,
                    loop=changes.loop,
                    key=changes.key,
                    step=effect.step,
                    name=effect.name,
                    action=effect.action,
                    state=str(effect.state),
                )
            )

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


def _item_names(step: ForEachStep, value: Any, index: int, total: int | None) -> dict[str, Any]:
    """What a loop's item adds to the names its templates see: the item itself, and `loop` (where it stands)."""
    return {
        step.as_: value,
        "loop": {
            "index": index,
            "number": index + 1,
            "total": total,
            "first": index == 0,
            "last": None if total is None else index == total - 1,
        },
    }


class _ItemApplicationError(ApplicationError):
    """Carries an item's application failure through the item-level retry."""

    def __init__(self, failure: StepFailure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


@dataclass
class ItemChanges:
    """The effects of one item in this session (with those of earlier sessions), while its steps run."""

    loop: str
    key: str
    effects: list[Effect] = field(default_factory=list)
    recording: bool = True  # off while `recover` and `already_done` steps run

    def touched(self) -> list[Effect]:
        return touching(self.effects)


@dataclass
class ItemChange:
    """A changing step being run, and the open items (innermost last) it counts for."""

    step: str
    name: str
    action: str
    owners: list[ItemChanges]


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


def _repeats(keys: Sequence[str]) -> dict[str, list[int]]:
    """The keys found more than once, with the positions of each (only those are kept: 100 000 keys are many)."""
    seen: set[str] = set()
    repeated: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if key in seen:
            repeated.setdefault(key, []).append(index)
        else:
            seen.add(key)
    if repeated:
        for index, key in enumerate(keys):
            where = repeated.get(key)
            if where is not None and index < where[0]:
                where.insert(0, index)  # the first occurrence, found on a second pass
    return repeated


def _positions(indexes: Sequence[int], limit: int = 10) -> str:
    """`items 1, 2 and 5` (counting from 1), cut after `limit`."""
    numbers = [str(index + 1) for index in indexes[:limit]]
    more = len(indexes) - limit
    if more > 0:
        return f"items {', '.join(numbers)} and {more} more"
    if len(numbers) == 1:
        return f"item {numbers[0]}"
    return f"items {', '.join(numbers[:-1])} and {numbers[-1]}"


_ITEM_NUMBERS = "items count from 1 in the order they are read (item 1 is the first row of data)"


def _empty_keys(indexes: Sequence[int]) -> BusinessError:
    return BusinessError(
        f"the loop's key is empty for {_positions(indexes)}: nothing was done",
        hint="every item needs a key, so that a resumed run knows what it already did: fill in the "
        f"missing values in the data, or choose another key; {_ITEM_NUMBERS}",
    )


def _duplicate_keys(repeated: Mapping[str, Sequence[int]], *, keyed: bool) -> BusinessError:
    shown = list(repeated.items())[:5]
    if keyed:
        parts = [f"'{key}' is the key of {_positions(where)}" for key, where in shown]
        what = "the loop's key is not unique"
        fix = "make each item's key unique (correct the data, or choose a key that is, e.g. two fields)"
    else:
        parts = [f"{_positions(where)} are identical" for _, where in shown]
        what = "the loop has no key and some items are identical"
        fix = "give the loop a `key` that tells the items apart"
    more = len(repeated) - len(shown)
    return BusinessError(
        f"{what}: {'; '.join(parts)}{f'; and {more} more keys' if more > 0 else ''}: nothing was done",
        hint=f"{fix}, or add `key_duplicates: number` to the for_each to do each of them under a numbered "
        f"key (D1, D1#2, D1#3); {_ITEM_NUMBERS}",
    )
