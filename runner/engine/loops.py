"""`for_each`: items one after the other or in parallel lanes, each with its key, its retries and its record.

The engine holds a `LoopRunner` and hands it its loops; the runner asks the engine (its `LoopHost`) to run the
steps of each item. The keys of the items are checked before the first one starts (`item_keys.py`).
"""

from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import PurePath
from typing import Any, Protocol, TypeVar

from robots.kit import BusinessError, WorkflowBug, _
from runner.engine.item_keys import item_keys
from runner.engine.item_run import ItemRunner
from runner.engine.items import ItemGate
from runner.engine.state import (
    Lane,
    RunCounters,
    RunInterrupted,
    StepFailure,
    render_in_step,
    step_ref,
)
from runner.events import (
    Event,
    ItemStatus,
    LoopStarted,
)
from runner.language import ActionStep, ForEachStep, RetryPolicy, Scope, Step, Workflow
from runner.language.templating import RECORD_SOURCES, TemplateError, as_expression_template, render_value

T = TypeVar("T")
STOP_AFTER_SAME_BUG = 3
"""Items in a row that fail with the same mistake in the workflow before the run stops (the rest would too)."""


@dataclass(frozen=True)
class DistributedLoop:
    """A loop whose items other machines do (`distribute:`): what they need to do them as this run would."""

    step: ForEachStep
    loop: str  # its reference in the run (`steps[2]`)
    keys: list[str]
    items: list[Any]
    lanes: int  # how many workers take its items at once
    scope: Scope  # what its items see besides themselves (inputs, vars, saved results, run)


class Distributor(Protocol):
    """Has a loop's items done by other machines and waits for them (`runner.fleet.FleetDistributor`)."""

    def run_loop(self, loop: DistributedLoop, host: LoopHost) -> list[dict[str, Any] | None] | None:
        """Every item done (or failed) elsewhere, reported to the host as they finish; their outcomes in order.
        None when the loop is not for other machines (not asked, or no worker there): it runs here."""
        ...


class LoopHost(Protocol):
    """What the loop runner needs from the engine that holds it: the run's facts, and running steps in a lane."""

    workflow: Workflow
    run_id: str
    counters: RunCounters
    item_gate: ItemGate
    stop_event: threading.Event
    item_failures: list[StepFailure]
    distributor: Distributor | None
    dry_run: bool

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
        self._items = ItemRunner(host)

    def run(self, step: ForEachStep, scope: Scope, lane: Lane, item: str | None) -> None:
        """Run a loop: every item's key first, then its items one after the other or in parallel lanes."""
        items = self._render(step, step.items, scope, item, "for_each")
        if isinstance(items, dict):
            items = [{"key": k, "value": v} for k, v in items.items()]
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            raise StepFailure(
                step,
                BusinessError(
                    _("for_each needs a list, got {type}").format(type=type(items).__name__),
                    hint=_("give a list, or a saved result that is one (e.g. the rows read from a file)"),
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
            LoopStarted(
                run_id=self._host.run_id,
                loop=loop,
                name=step.label,
                total=total,
                parallel=lanes,
                keys=list(keys),
            )
        )
        outcomes: list[dict[str, Any] | None] = [None] * total
        streak = _BugStreak()
        distributed = self._distributed(step, items, keys, scope, item, loop, lanes)
        if distributed is not None:
            outcomes = distributed
        elif lanes > 1 and total > 1:
            self._run_parallel(step, items, keys, scope, loop, lanes, outcomes, streak)
        elif total:
            lane_scope = self.lane_scope(step, scope)
            self._host.execute_steps(step.setup, lane_scope, lane, item)
            for index, value in enumerate(islice(items, total)):
                if self._host.stop_event.is_set():
                    raise RunInterrupted()
                outcomes[index] = self._items.run(
                    step, value, index, total, lane_scope, lane, loop, keys[index]
                )
                self._note_item(step, streak, outcomes[index])
        if item is None and distributed is None and not self._host.dry_run:
            self._items.left_behind(step, loop, lane)
        if step.save:
            scope[step.save] = [outcome for outcome in outcomes if outcome is not None]

    def _distributed(
        self,
        step: ForEachStep,
        items: Iterable[Any],
        keys: list[str],
        scope: Scope,
        item: str | None,
        loop: str,
        lanes: int,
    ) -> list[dict[str, Any] | None] | None:
        """The outcomes of a loop other machines did, or None when it is to be done here."""
        distributor = self._host.distributor
        if distributor is None or item is not None or not keys:  # a loop inside an item stays with its item
            return None
        if not isinstance(items, list):
            items = list(islice(items, len(keys)))
        return distributor.run_loop(
            DistributedLoop(step, loop, keys, items[: len(keys)], lanes, scope), self._host
        )

    def lane_scope(self, step: ForEachStep, scope: Scope) -> Scope:
        """What a lane's setup and items see: the run's scope, with where the items come from."""
        return ChainMap(self._items_source(step, scope), scope)

    def run_item(
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
        """One item of a loop whose items are shared out (a fleet worker's): as `run` does each of its items."""
        return self._items.run(step, value, index, total, scope, lane, loop, key)

    def _render(self, step: Step, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        return render_in_step(step, value, scope, item, where, self._host.workflow.spans)

    def _items_source(self, step: ForEachStep, scope: Scope) -> dict[str, Any]:
        """`{RECORD_SOURCES: {loop variable: file name}}` when the items are what one step read from a file.

        Only for messages ("the columns of dossiers.csv are …"): empty whenever that is not certain.
        """
        saved = step.items_name()
        if saved is None:
            return {}
        readers = [
            candidate
            for candidate in self._host.workflow.walk()
            if isinstance(candidate, ActionStep) and candidate.save == saved
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
        hint = _("fix the workflow, then resume: {command}").format(
            command=f"robo run {self._host.workflow.file} --resume {self._host.run_id}"
        )
        message = _("the same error on {count} items in a row, the run stops: {error}")
        if last is None:
            raise StepFailure(
                step, WorkflowBug(message.format(count=STOP_AFTER_SAME_BUG, error=error), hint=hint)
            )
        bug = last.error
        span = bug.span if isinstance(bug, WorkflowBug) else None
        raise StepFailure(
            last.step,
            WorkflowBug(
                message.format(count=STOP_AFTER_SAME_BUG, error=bug.message),
                hint=hint,
                cause=bug.cause,
                span=span,
            ),
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
                step,
                WorkflowBug(
                    _("parallel must be a whole number, got {value}").format(value=repr(value)), span=span
                ),
                item,
            ) from None
        if not 1 <= lanes <= 32:
            raise StepFailure(
                step,
                WorkflowBug(
                    _("parallel must be between 1 and 32, got {lanes}").format(lanes=lanes), span=span
                ),
                item,
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
                    outcomes[index] = self._items.run(
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
