"""The event sink that keeps the run store in step with a run.

What resume needs is committed before the action it is about: an item's effects (its steps that change the
outside world) each as soon as it starts and ends, and the end of an item that recorded one before anything else
happens. The rest is gathered and written in one transaction when the next item starts (and at the end): the step
rows, and the end of an item that changed nothing (a crash before the next item starts leaves it `in_progress`, so
a resumed run does it again, which changes nothing either). So a cheap item costs the store one transaction.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from runner.events import (
    ArtifactSaved,
    Effect,
    EffectState,
    Event,
    ItemEffect,
    ItemFinished,
    ItemStarted,
    ItemStatus,
    RunFinished,
    RunStarted,
    StepFinished,
)
from runner.record.store import ItemValues, RunStore


class RunStoreSink:
    """Keeps the run store in step with a run's events; step rows are batched up to item boundaries."""

    def __init__(self, store: RunStore, run_dir: Path, last_hash: Any = None) -> None:
        self.store = store
        self.run_dir = run_dir
        self._pending_steps: list[dict[str, Any]] = []
        self._pending_items: list[ItemValues] = []  # ends of items that changed nothing
        self._touched: set[tuple[str, str, str]] = set()  # items of this session that recorded an effect
        self._lock = threading.Lock()
        self._last_hash = last_hash  # a callable giving the audit log's current last hash

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.store.record_run_started(event, self.run_dir)
        elif isinstance(event, StepFinished):
            with self._lock:
                self._pending_steps.append(
                    {
                        "run_id": event.run_id,
                        "step": event.step,
                        "name": event.name,
                        "item": event.item,
                        "lane": event.lane,
                        "status": event.status,
                        "finished_at": event.at,
                        "duration": event.duration,
                        "error": (event.error or {}).get("message"),
                    }
                )
        elif isinstance(event, ItemStarted):
            self._write(
                ItemValues(
                    event.run_id,
                    event.loop,
                    event.key,
                    {"position": event.index, "status": ItemStatus.IN_PROGRESS, "started_at": event.at},
                )
            )
        elif isinstance(event, ItemEffect):
            # Not batched: what makes a crash just after a submit safe is that this is committed before the
            # next step starts.
            with self._lock:
                self._touched.add((event.run_id, event.loop, event.key))
            self.store.record_effect(
                event.run_id,
                event.loop,
                event.key,
                Effect(event.step, event.name, event.action, EffectState(event.state)),
            )
        elif isinstance(event, ItemFinished):
            if event.status == ItemStatus.SKIPPED or event.worker is not None:
                return  # done by an earlier attempt, or by a fleet worker that recorded it: kept as it is
            finished = ItemValues(
                event.run_id,
                event.loop,
                event.key,
                {
                    "position": event.index,
                    "status": event.status,
                    "finished_at": event.at,
                    "duration": event.duration,
                    "error": event.error,
                    "outcome": event.outcome,
                },
            )
            with self._lock:
                changed = (event.run_id, event.loop, event.key) in self._touched
                self._touched.discard((event.run_id, event.loop, event.key))
                if not changed:
                    self._pending_items.append(finished)
            if changed:  # its end must be known before anything else happens, or it would be checked again
                self._write(finished)
        elif isinstance(event, RunFinished):
            self.flush()
            last = self._last_hash() if callable(self._last_hash) else None
            self.store.record_run_finished(event, last)
        elif isinstance(event, ArtifactSaved):
            pass

    def flush(self) -> None:
        self._write(None)

    def _write(self, item: ItemValues | None) -> None:
        """What is pending, then `item`, in one transaction."""
        with self._lock:
            pending, self._pending_steps = self._pending_steps, []
            finished, self._pending_items = self._pending_items, []
            self.store.write_batch(pending, [*finished, item] if item is not None else finished)

    def close(self) -> None:
        self.flush()
