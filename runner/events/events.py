"""What happens during a run, as frozen, serialisable facts: one dataclass per kind of fact.

The engine emits events; sinks (console, audit log, run store) receive them. Events carry plain data only
(strings, numbers, lists, mappings), so they can be written to JSON or sent to another process as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with each lone surrogate (text no encoding can write, e.g. from a broken JSON escape) as U+FFFD."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


def clean_data(value: Any) -> Any:
    """`value` with `clean_text` applied to every string in it; the same object when there was nothing to clean."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        cleaned: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            new_key, new_item = clean_data(key), clean_data(item)
            changed = changed or new_key is not key or new_item is not item
            cleaned[new_key] = new_item
        return cleaned if changed else value
    if isinstance(value, list | tuple):
        items = [clean_data(item) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return (items if isinstance(value, list) else tuple(items)) if changed else value
    return value


def unencodable_place(value: Any, place: str) -> str | None:
    """Where in `value` (named from `place`, e.g. `data.rows[2].nom`) text holds a lone surrogate, if anywhere."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return place
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = unencodable_place(key, f"{place} (a key)") or unencodable_place(item, f"{place}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unencodable_place(item, f"{place}[{index}]")
            if found:
                return found
    return None


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str
    at: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        # Shallow: the values are plain data already, and a deep copy of every event is a measurable part of
        # the engine's cost per step.
        data: dict[str, Any] = {"event": self.kind}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
            data[item.name] = dataclasses.asdict(value) if is_instance else value
        return data


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    workflow: str
    workflow_file: str
    inputs: dict[str, Any]
    dry_run: bool = False
    resumed_from: str | None = None
    pid: int = 0
    host: str = ""


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    status: str  # a RunStatus value, as plain text (events carry plain data only)
    duration: float
    error: str | None = None
    error_kind: str | None = None  # the kind of what stopped the run: workflow, business, application…
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step: str  # the step's path in the workflow, e.g. "steps[2].steps[0]"
    name: str
    action: str | None
    file: str
    line: int
    col: int
    item: str | None = None
    lane: int = 0
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    kind: ClassVar[str] = "step_finished"
    step: str
    name: str
    status: str  # a StepStatus value: succeeded | failed | skipped
    duration: float
    item: str | None = None
    lane: int = 0
    result: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ItemStarted(Event):
    kind: ClassVar[str] = "item_started"
    loop: str
    key: str
    index: int
    lane: int = 0


@dataclass(frozen=True, kw_only=True)
class ItemFinished(Event):
    kind: ClassVar[str] = "item_finished"
    loop: str
    key: str
    index: int
    status: str  # an ItemStatus: done | failed_business | failed_application | to_check | skipped
    duration: float
    lane: int = 0
    error: str | None = None
    outcome: dict[str, Any] | None = None
    worker: str | None = (
        None  # the fleet worker that did it (it recorded the item itself), None on this machine
    )


@dataclass(frozen=True, kw_only=True)
class ItemEffect(Event):
    """A step of an item that changes the outside world started, or ended (the ledger commits it at once)."""

    kind: ClassVar[str] = "item_effect"
    loop: str
    key: str
    step: str
    name: str
    action: str
    state: str  # an EffectState: started | done | refused


@dataclass(frozen=True, kw_only=True)
class ItemMarked(Event):
    """A person said what became of an item to check: entered (`done`) or to be done again (`redo`)."""

    kind: ClassVar[str] = "item_marked"
    loop: str
    key: str
    mark: str  # an ItemMark: done | redo
    by: str
    previous_status: str
    comment: str = ""  # what the person found (e.g. "entered on the 12th, number 4521")


@dataclass(frozen=True, kw_only=True)
class LoopStarted(Event):
    kind: ClassVar[str] = "loop_started"
    loop: str
    name: str
    total: int
    parallel: int = 1
    # the items' keys, in order: the report lists those the run never started
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class RetryScheduled(Event):
    kind: ClassVar[str] = "retry_scheduled"
    step: str
    name: str
    attempt: int
    of: int
    delay: float
    error: str
    item: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogMessage(Event):
    kind: ClassVar[str] = "log"
    level: str
    message: str
    step: str | None = None
    item: str | None = None


@dataclass(frozen=True, kw_only=True)
class ArtifactSaved(Event):
    kind: ClassVar[str] = "artifact_saved"
    path: str
    artifact: str  # screenshot | html | trace | download | output | file
    description: str = ""
    sha256: str | None = None
    step: str | None = None
    item: str | None = None


class EventSink(Protocol):
    """Anything that receives events: the console, the audit log, the run store."""

    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...
