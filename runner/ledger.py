"""Work items: what each `for_each` item of a run became, so a resumed run does only what is not done.

Every item has a key (the loop's `key` expression, or a hash of the item) and a status in the run store
(`ItemStatus`): `in_progress` (committed before its first step), then `done`, `failed_business`,
`failed_application`, `failed_workflow`, `to_check` or `skipped` (committed before the next item starts).

An item also records its effects: each step of it whose action changes the outside world in a way that doing it
again would duplicate (`ActionSpec.may_enter_twice`: a submit, a mail sent, a row appended, a file moved) is
committed to the store as `started` before the action is called, then as `done` (it returned) or `refused` (it
said the change was refused, so nothing changed). Those commits are not batched: a crash just after a submit
still leaves its trace.

The rules a resumed run (`robo run --resume`, `robo runs retry`) follows for each item:
- done: skipped, its saved outcome reused;
- touched (a change started or done, whatever the item's failed status): never redone blindly. With the loop's
  `already_done` steps it is checked first; without them it is `to_check` ("entered? check KEY …"), left as is
  until a person marks it (`robo runs mark RUN KEY --done|--redo`) or the resume is forced (`--force`);
- interrupted or failed before any change: done again, after the `already_done` check for one interrupted.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from runner.events import RunStatus

if TYPE_CHECKING:
    from runner.store import RunRecord, RunStore


class ItemStatus(StrEnum):
    """What became of a work item; the one list of item statuses (store, report, console, `robo runs`)."""

    PENDING = "pending"  # marked to be done again by a person (`robo runs mark KEY --redo`)
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED_BUSINESS = "failed_business"
    FAILED_APPLICATION = "failed_application"
    FAILED_WORKFLOW = "failed_workflow"  # stopped by a mistake in the workflow (a typo in a template)
    TO_CHECK = "to_check"  # failed after a change: maybe entered, so it is not done again blindly
    SKIPPED = "skipped"  # done by an earlier session of the run: its record stays as it was

    @property
    def failed(self) -> bool:
        return self.value.startswith("failed")


class ItemMark(StrEnum):
    """What a person found when checking an item (`robo runs mark RUN KEY --done|--redo`)."""

    DONE = "done"  # it is entered: never done again
    REDO = "redo"  # it is not: the next retry does it


UNFINISHED = frozenset({ItemStatus.IN_PROGRESS, ItemStatus.FAILED_APPLICATION, ItemStatus.FAILED_WORKFLOW})
"""Items a resumed run checks with `already_done` before doing them again."""
FAILED = frozenset(status for status in ItemStatus if status.failed)


def is_failed(status: str) -> bool:
    """Whether an item's recorded status is one of the failed ones (any text: stores outlive versions)."""
    return status in FAILED


class EffectState(StrEnum):
    """Where a changing step of an item is: committed before the action is called, and when it returns."""

    STARTED = "started"  # called; until it returns, the change may or may not be made
    DONE = "done"  # returned: the change is made
    REFUSED = "refused"  # the action said the change was refused (a business error): nothing changed


@dataclass(frozen=True)
class Effect:
    """A changing step of an item, as the ledger records it."""

    step: str  # its place in the workflow, e.g. steps[1].steps[3]
    name: str
    action: str  # robot.action
    state: EffectState

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "name": self.name, "action": self.action, "state": str(self.state)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Effect:
        return cls(
            step=str(data.get("step", "")),
            name=str(data.get("name", "")),
            action=str(data.get("action", "")),
            state=EffectState(str(data.get("state", EffectState.STARTED))),
        )


def touching(effects: Iterable[Effect]) -> list[Effect]:
    """The changing steps that may have changed something: the last state of each step, unless refused."""
    last: dict[str, Effect] = {}
    for effect in effects:
        last.pop(effect.step, None)  # keep the order of the latest record of each step
        last[effect.step] = effect
    return [effect for effect in last.values() if effect.state is not EffectState.REFUSED]


def effects_of(rows: Sequence[Mapping[str, Any]] | None) -> list[Effect]:
    return [Effect.from_dict(row) for row in rows or ()]


def to_check_message(key: str, effect: Effect | None) -> str:
    """What a person reads about an item that may have been entered before it failed."""
    if effect is None:
        what = "a step that changes things"
    else:
        what = f"'{effect.name}'" + (f" ({effect.action})" if effect.name != effect.action else "")
    return (
        f"entered? check {key} in the intranet: it stopped after {what} had started a change,"
        " so it is not done again blindly"
    )


def to_check_hint(run_id: str, key: str) -> str:
    return (
        f"check it, then: robo runs mark {run_id} {key} --done (it is entered) or --redo (it is not); "
        f"or add 'already_done' steps to the loop, to check it automatically"
    )


CREATE_TIME_TOLERANCE = 1.0  # seconds: a create time is computed from clock ticks since boot


@dataclass(frozen=True)
class PreviousItem:
    status: str
    outcome: dict[str, Any] | None
    effects: tuple[Effect, ...] = ()

    @property
    def touched(self) -> list[Effect]:
        """The changes an earlier session of the run started or made for the item."""
        return touching(self.effects)


class ItemGate:
    """What an earlier attempt of the run did with an item; a fresh run knows nothing."""

    force = False  # redo items to check without asking (`--force`)

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return None


class WorkItemLedger(ItemGate):
    """The items a run recorded so far, read once when the run is resumed."""

    def __init__(self, store: RunStore, run_id: str, *, force: bool = False) -> None:
        self.force = force
        self._as_stored = store.as_stored
        self._items = {
            (row["loop"], row["key"]): PreviousItem(
                row["status"], row.get("outcome"), tuple(effects_of(row.get("effects")))
            )
            for row in store.run_items(run_id)
        }

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return self._items.get((self._as_stored(loop), self._as_stored(key)))

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self._items.values():
            totals[item.status] = totals.get(item.status, 0) + 1
        return totals


def process_alive(
    pid: int | None, host: str | None, created: float | None = None, *, started_by: float | None = None
) -> bool | None:
    """Whether a run's process still exists (None when it ran on another machine and cannot be told).

    `created` is the process's create time as it recorded it: a process with the same pid but another create
    time is not the run's (the pid was given to a new process after the run's died). Where only the moment the
    process was started is known (`started_by`), a process created after it is not the one.
    """
    import psutil

    if not pid:
        return False
    if host and host != socket.gethostname():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if started_by is not None and process.create_time() > started_by + CREATE_TIME_TOLERANCE:
            return False
        return created is None or abs(process.create_time() - created) < CREATE_TIME_TOLERANCE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # it exists but belongs to someone else: we cannot look further


def process_create_time(pid: int | None = None) -> float | None:
    """The create time of a process (this one by default), as `process_alive` compares it."""
    import psutil

    try:
        return psutil.Process(pid or os.getpid()).create_time()
    except psutil.Error:
        return None


def effective_status(record: RunRecord) -> str:
    """A run recorded as running whose process is gone crashed (killed, machine stopped, pid reused)."""
    if (
        record.status == RunStatus.RUNNING
        and process_alive(record.pid, record.host, record.proc_started) is False
    ):
        return RunStatus.CRASHED
    return record.status
