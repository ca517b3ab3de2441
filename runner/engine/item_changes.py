"""The changes an item's steps make to the outside world, recorded (for the ledger) as they start and end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from robots.kit import BusinessError
from runner.engine.state import Lane, step_ref
from runner.events import Effect, EffectState, Event, ItemEffect, touching
from runner.language import ActionStep


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


class ChangeRecorder:
    """Emits an `ItemEffect` for each item a changing action counts for, when it starts and when it ends."""

    def __init__(self, run_id: str, emit: Callable[[Event], None]) -> None:
        self._run_id = run_id
        self._emit = emit

    def started(self, step: ActionStep, lane: Lane) -> ItemChange | None:
        """Before an action that changes the outside world is called inside an item: recorded at once."""
        owners = [changes for changes in lane.open_items if changes.recording]
        if not owners or not lane.open_items[-1].recording:
            return None
        change = ItemChange(step_ref(step.path), step.label, f"{step.robot}.{step.action}", owners)
        self._record(change, EffectState.STARTED)
        return change

    def ended(self, change: ItemChange | None, error: BaseException | None) -> None:
        """The action returned (the change is made) or was refused (nothing changed); otherwise it may be made."""
        if change is None:
            return
        if error is None:
            self._record(change, EffectState.DONE)
        elif isinstance(error, BusinessError):
            self._record(change, EffectState.REFUSED)

    def _record(self, change: ItemChange, state: EffectState) -> None:
        effect = Effect(change.step, change.name, change.action, state)
        for changes in change.owners:
            changes.effects.append(effect)
            self._emit(
                ItemEffect(
                    run_id=self._run_id,
                    loop=changes.loop,
                    key=changes.key,
                    step=effect.step,
                    name=effect.name,
                    action=effect.action,
                    state=str(effect.state),
                )
            )
