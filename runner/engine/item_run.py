"""One item of a `for_each`: its attempts and retries, its `already_done` check, and what it became.

An item that may have been entered (a change it started, in this session, an earlier one, or another run of
the same workflow) is never done again blindly: the loop's `already_done` steps check it first; without them an
item this run touched is left `to_check`, and one another run entered is done as before, said once per loop.
"""

from __future__ import annotations

import threading
import time
from collections import ChainMap
from typing import TYPE_CHECKING, Any

from robots.kit import ApplicationError, BusinessError, RoboError, WorkflowBug, _
from runner.engine.item_changes import ItemChanges
from runner.engine.item_keys import item_names
from runner.engine.items import EarlierEntry, PreviousItem
from runner.engine.state import Lane, StepFailure
from runner.events import (
    UNFINISHED,
    Effect,
    ItemFinished,
    ItemStarted,
    ItemStatus,
    LogMessage,
    left_behind_hint,
    left_behind_message,
    to_check_hint,
    to_check_message,
)
from runner.language import ActionStep, ForEachStep, RetryPolicy, Scope
from runner.language.templating import TemplateError, render_value

if TYPE_CHECKING:
    from runner.engine.loops import LoopHost


class ItemRunner:
    """Runs the items of the loops of the engine that holds it, one at a time per lane."""

    def __init__(self, host: LoopHost) -> None:
        self._host = host
        self._warned: set[str] = set()  # loops that said their items other runs entered are done again
        self._warned_lock = threading.Lock()

    def run(
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
            self._say(
                "warning",
                _(
                    "item {key} may already be entered ('{step}' started a change before): done again, as"
                    " --force asks"
                ).format(key=key, step=touched_before[-1].name),
                key,
            )
        started = time.perf_counter()
        policy = step.retry or RetryPolicy(attempts=1)
        final_scope: list[Scope] = [item_scope]
        attempts = [0]
        check_first = earlier is not None or (
            previous is not None
            and (previous.status in {*UNFINISHED, ItemStatus.TO_CHECK} or bool(touched_before))
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
                message = _("{to_check} (it failed then: {error})").format(
                    to_check=to_check_message(key, touched[-1]), error=message
                )
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
            if step.on_error == "fail" or failure.error.stops_run:
                raise failure from None  # a refused login would be refused for every item: the run stops
            return outcome
        finally:
            lane.open_items.remove(changes)
        if done_before and earlier is not None and attempts[0] == 1:
            self._host.counters.add("items_skipped")
            self._say(
                "info",
                _("item {key} was entered by run {run_id}: not entered again").format(
                    key=key, run_id=earlier.run_id
                ),
                key,
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
            self._say(
                "info",
                _("item {key} was already done before the interruption: not entered again").format(key=key),
                key,
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
        outcome = (previous.outcome if previous else None) or self._outcome(
            step, key, ItemStatus.TO_CHECK, message, scope
        )
        hint = to_check_hint(self._host.run_id, key)
        self._to_check(step, loop, key, index, lane, BusinessError(message, hint=hint), outcome)
        return outcome

    def left_behind(self, step: ForEachStep, loop: str, lane: Lane) -> None:
        """Once a loop outside any item has gone through its items: those an earlier session left in progress, or
        to check, that it no longer has (in it or in loops inside it) are to check, and this session says so."""
        for place, key, previous in self._host.item_gate.left_behind(loop):
            touched = previous.touched
            message = left_behind_message(key, touched[-1] if touched else None)
            if previous.status == ItemStatus.TO_CHECK and previous.error:
                message = previous.error  # what made it to check stays what a person reads
            outcome = {
                **(previous.outcome or {}),
                "key": key,
                "status": str(ItemStatus.TO_CHECK),
                "error": message,
            }
            error = BusinessError(message, hint=left_behind_hint(self._host.run_id, key))
            self._to_check(step, place, key, previous.position, lane, error, outcome)

    def _to_check(
        self,
        step: ForEachStep,
        loop: str,
        key: str,
        index: int,
        lane: Lane,
        error: BusinessError,
        outcome: dict[str, Any],
    ) -> None:
        """Record the item as left for a person to check, counted among the run's items to check and failures."""
        self._host.counters.add("items_to_check")
        self._item_finished(loop, key, index, ItemStatus.TO_CHECK, 0.0, lane, error.message, outcome)
        with self._host.counters._lock:
            self._host.item_failures.append(StepFailure(step, error, key))

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
        self._say(
            "warning",
            _(
                "{loop}: item {key} was entered by run {run_id}, and the loop has no 'already_done' steps to"
                " check whether such items are still to do: they are done again"
            ).format(loop=step.name or loop, key=key, run_id=earlier.run_id),
            key,
        )
        return None

    def _say(self, level: str, message: str, key: str) -> None:
        """A line about the item for the people watching (console) and the audit log."""
        self._host.emit(LogMessage(run_id=self._host.run_id, level=level, message=message, item=key))

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
