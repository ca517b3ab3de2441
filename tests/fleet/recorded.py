"""A run whose loop was done by a fleet's workers, recorded through the item ledger as `robo worker` records it
(claim, begin, finish under each worker's lease), on any run store: for the pages that show who did each item."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import insert

from runner.events import ItemStatus
from runner.record import ItemLeases, RunStore, runs

LOOP = "steps[0]"


def record_fleet_run(store: RunStore, run_id: str, run_dir: Path, done_by: Mapping[str, str]) -> None:
    """A finished run of one loop whose items (keys of `done_by`, in order) were each done by the worker named."""
    run_dir.mkdir(parents=True, exist_ok=True)
    moment = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    with store.begin() as connection:
        connection.execute(
            insert(runs),
            [
                {"id": run_id, "workflow": "Saisie des dossiers (flotte)", "workflow_file": "saisie_flotte.yaml",
                 "status": "succeeded", "started_at": moment, "finished_at": moment, "duration": 12.0,
                 "counts": {"items_done": len(done_by)}, "inputs": {}, "run_dir": str(run_dir), "sessions": 1}
            ],
        )  # fmt: skip
    ledger = ItemLeases(store)
    keys = list(done_by)
    ledger.enqueue(run_id, LOOP, [(key, position, {"ref": key}) for position, key in enumerate(keys)])
    for key in keys:
        (lease,) = ledger.claim(run_id, LOOP, done_by[key], 1, 60)
        assert lease.key == key
        ledger.begin(lease)
        ledger.finish(lease, ItemStatus.DONE, outcome={"numero": f"DOS-{key}"}, duration=1.5)
