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
- interrupted or failed before any change: done again, after the `already_done` check for one interrupted;
- interrupted, and no longer among the loop's items once the resumed loop has gone through them (a mail the
  earlier session moved out of the folder the loop reads, just before it was killed): `to_check`, since nothing
  can tell how far it went (`ItemGate.left_behind`, for a loop outside any item, over the loops inside it too);
  an item to check that a later session no longer has stays to check, and that session says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from runner.events import Effect, ItemStatus, effects_of, touching

LEFT_OPEN = frozenset({ItemStatus.IN_PROGRESS, ItemStatus.TO_CHECK})
"""The statuses of an item that a session which no longer has it must still report: nothing finished it."""


class StoredItems(Protocol):
    """What the ledger reads of a run store (`runner.record.RunStore`), so the engine does not depend on it."""

    def run_items(self, run_id: str) -> list[dict[str, Any]]:
        """The run's item rows: `loop`, `key`, `status`, `outcome`, `effects`."""
        ...

    def as_stored(self, text: str) -> str:
        """A text as the store gives it back (to find an item by its loop and key)."""
        ...

    def entered_items(self, workflow_file: str, *, excluding: str) -> list[dict[str, Any]]:
        """Items other runs of the workflow started a change for: `run_id`, `loop`, `key`, `outcome`, `effects`."""
        ...


@dataclass(frozen=True)
class PreviousItem:
    status: str
    outcome: dict[str, Any] | None
    effects: tuple[Effect, ...] = ()
    position: int = field(default=0, compare=False)
    """Where the item was in its loop's list (kept when it is left to check after the list lost it)."""
    error: str | None = field(default=None, compare=False)

    @property
    def touched(self) -> list[Effect]:
        """The changes an earlier session of the run started or made for the item."""
        return touching(self.effects)


@dataclass(frozen=True)
class EarlierEntry:
    """An item another run of the same workflow started a change for (it may be entered already)."""

    run_id: str
    outcome: dict[str, Any] | None
    effect: Effect  # the last change that run started for it


class ItemGate:
    """What an earlier attempt of the run did with an item; a fresh run knows nothing."""

    force = False  # redo items to check, and items other runs entered, without asking (`--force`)

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        return None

    def entered_before(self, loop: str, key: str) -> EarlierEntry | None:
        """Whether another run of the workflow started a change for the item (the latest such run)."""
        return None

    def left_behind(self, loop: str) -> list[tuple[str, str, PreviousItem]]:
        """Once a loop outside any item has gone through its items: those an earlier session left in progress or
        to check that this session did not go through (no longer in its list), with those left so in loops inside
        them, as (loop, key, item)."""
        return []


class EarlierRuns(ItemGate):
    """The items other runs of the same workflow file entered, read once when a run starts.

    A plain new run over the same spreadsheet must not enter its rows again: an item another run started a
    change for is checked by the loop's `already_done` steps first, or left to check without them.
    """

    def __init__(self, store: StoredItems, workflow_file: str, run_id: str, *, force: bool = False) -> None:
        self.force = force
        self._as_stored = store.as_stored
        self._entered: dict[tuple[str, str], EarlierEntry] = {}
        for row in store.entered_items(workflow_file, excluding=run_id):
            place = (row["loop"], row["key"])
            if place not in self._entered:  # the latest run first
                effect = touching(effects_of(row.get("effects")))[-1]
                self._entered[place] = EarlierEntry(str(row["run_id"]), row.get("outcome"), effect)

    def entered_before(self, loop: str, key: str) -> EarlierEntry | None:
        return self._entered.get((self._as_stored(loop), self._as_stored(key)))


class WorkItemLedger(EarlierRuns):
    """The items a run recorded so far, read once when the run is resumed (and those other runs entered)."""

    def __init__(self, store: StoredItems, workflow_file: str, run_id: str, *, force: bool = False) -> None:
        super().__init__(store, workflow_file, run_id, force=force)
        self._items = {
            (row["loop"], row["key"]): PreviousItem(
                row["status"],
                row.get("outcome"),
                tuple(effects_of(row.get("effects"))),
                int(row.get("position") or 0),
                row.get("error"),
            )
            for row in store.run_items(run_id)
        }
        self._visited: set[tuple[str, str]] = set()

    def previous(self, loop: str, key: str) -> PreviousItem | None:
        place = (self._as_stored(loop), self._as_stored(key))
        self._visited.add(place)  # this session has the item: never left behind (a loop may run twice)
        return self._items.get(place)

    def left_behind(self, loop: str) -> list[tuple[str, str, PreviousItem]]:
        stored = self._as_stored(loop)
        open_rows = [
            (place, key, item)
            for (place, key), item in self._items.items()
            if item.status in LEFT_OPEN and (place, key) not in self._visited
        ]
        behind = [(place, key, item) for place, key, item in open_rows if place == stored]
        if not behind:
            return []
        # An item of a loop inside is left behind with its parent only: one whose parent this session had (found
        # done, or left to check, without going inside) stays as it was.
        parents = [f"{key}/" for _place, key, _item in behind]
        had = [f"{key}/" for place, key in self._visited if place == stored]
        behind += [
            (place, key, item)
            for place, key, item in open_rows
            if place.startswith(f"{stored}.")
            and any(key.startswith(parent) for parent in parents)
            and not any(key.startswith(prefix) for prefix in had)
        ]
        self._visited.update((place, key) for place, key, _item in behind)
        return behind

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self._items.values():
            totals[item.status] = totals.get(item.status, 0) + 1
        return totals
