"""The event sink that keeps the run store in step with a run.

Step rows are written in batches at item boundaries, so the store costs little per step, while item statuses are
committed before the next item starts, and an item's effects (its steps that change the outside world) each as
soon as it starts and ends.
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
from runner.record.store import RunStore


class RunStoreSink:
    """Keeps the run store in step with a run's events; step rows are batched up to item boundaries."""

    def __init__(self, store: RunStore, run_dir: Path, last_hash: Any = None) -> None:
        self.store = store
        self.run_dir = run_dir
        self._pending_steps: list[dict[str, Any]] = []
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
            self.flush()
            self.store.upsert_item(
                event.run_id,
                event.loop,
                event.key,
                position=event.index,
                status=ItemStatus.IN_PROGRESS,
                started_at=event.at,
            )
        elif isinstance(event, ItemEffect):
            # Not batched: what makes a crash just after a submit safe is that this is committed before the
            # next step starts.
            self.store.record_effect(
                event.run_id,
                event.loop,
                event.key,
                Effect(event.step, event.name, event.action, EffectState(event.state)),
            )
        elif isinstance(event, ItemFinished):
            self.flush()
            if event.status == ItemStatus.SKIPPED or event.worker is not None:
                return  # done by an earlier attempt, or by a fleet worker that recorded it: kept as it is
            self.store.upsert_item(
                event.run_id,
                event.loop,
                event.key,
                position=event.index,
                status=event.status,
                finished_at=event.at,
                duration=event.duration,
                error=event.error,
                outcome=event.outcome,
            )
        elif isinstance(event, RunFinished):
            self.flush()
            last = self._last_hash() if callable(self._last_hash) else None
            self.store.record_run_finished(event, last)
        elif isinstance(event, ArtifactSaved):
            pass

    def flush(self) -> None:
        with self._lock:
            pending, self._pending_steps = self._pending_steps, []
        self.store.write_steps(pending)

    def close(self) -> None:
        self.flush()
