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

from dataclasses import dataclass
from typing import Any, Protocol

from runner.events import Effect, effects_of, touching


class StoredItems(Protocol):
    """What the ledger reads of a run store (`runner.record.RunStore`), so the engine does not depend on it."""

    def run_items(self, run_id: str) -> list[dict[str, Any]]:
        """The run's item rows: `loop`, `key`, `status`, `outcome`, `effects`."""
        ...

    def as_stored(self, text: str) -> str:
        """A text as the store gives it back (to find an item by its loop and key)."""
        ...


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

    def __init__(self, store: StoredItems, run_id: str, *, force: bool = False) -> None:
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
