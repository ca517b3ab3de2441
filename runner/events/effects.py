"""What an item did to the world (a submit, a sent e-mail), and what is left to check when it is not known."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
    from robots.kit import _  # here: `robo --help` imports this package and no robot

    if effect is None:
        return _(
            "entered? check {key} in the intranet: it stopped after a step that changes things had started a"
            " change, so it is not done again blindly"
        ).format(key=key)
    if effect.name != effect.action:
        return _(
            "entered? check {key} in the intranet: it stopped after '{step}' ({action}) had started a change,"
            " so it is not done again blindly"
        ).format(key=key, step=effect.name, action=effect.action)
    return _(
        "entered? check {key} in the intranet: it stopped after '{step}' had started a change, so it is not"
        " done again blindly"
    ).format(key=key, step=effect.name)


def left_behind_message(key: str, effect: Effect | None) -> str:
    """What a person reads about an item an earlier session left in progress and the resumed loop no longer has."""
    from robots.kit import _

    if effect is None:
        return _(
            "check {key}: the run was interrupted while doing it, and it is no longer among the loop's items (it"
            " may have been finished, or moved away, just before), so it is not done again"
        ).format(key=key)
    return _(
        "check {key}: the run was interrupted while doing it, after '{step}' had started a change, and it is no"
        " longer among the loop's items (it may have been finished, or moved away, just before), so it is not"
        " done again"
    ).format(key=key, step=effect.name)


def left_behind_hint(run_id: str, key: str) -> str:
    from robots.kit import _

    return _(
        "check it where it would be entered, then: robo runs mark {run_id} {key} --done; no longer in the list,"
        " it is not done again by this run (a later run does it if it comes back)"
    ).format(run_id=run_id, key=key)


def to_check_hint(run_id: str, key: str) -> str:
    from robots.kit import _

    return _(
        "check it, then: robo runs mark {run_id} {key} --done (it is entered) or --redo (it is not); "
        "or add 'already_done' steps to the loop, to check it automatically"
    ).format(run_id=run_id, key=key)
