"""A run's work items read once from the run store, in bounded memory: what the report needs of all of them.

A 100 000-item run's rows, loaded whole, take more memory than the report may (≈ 1.4 kB a row): they are read
in batches and only these are kept: the counts by status, the outcome columns, which positions each loop
started (one byte each), the rows the report shows (items to check and failed ones first, then the others in
order, up to `limit`) with their anchors in the page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from runner.events import ItemStatus, is_failed
from runner.record import RunStore, items

BATCH = 1_000
MAX_OUTCOME_COLUMNS = 6


@dataclass
class ItemDigest:
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    outcome_columns: list[str] = field(default_factory=list)
    started: dict[str, bytearray] = field(default_factory=dict)  # by loop: 1 at each position started
    to_check: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    failed_beyond: int = 0  # failed items not kept (beyond `limit`): counted, not shown
    # some item was done by a fleet's worker (its `worker` column): the report says who did each
    by_workers: bool = False

    @property
    def shown(self) -> list[dict[str, Any]]:
        """The rows the report shows: items to check, then failed ones, then the others, in order."""
        return self.to_check + self.failed + self.others

    def was_started(self, loop: str, position: int) -> bool:
        positions = self.started.get(loop)
        return positions is not None and position < len(positions) and positions[position] == 1


def _mark_started(started: dict[str, bytearray], loop: str, position: int) -> None:
    positions = started.setdefault(loop, bytearray())
    if position >= len(positions):
        positions.extend(bytes(position + 1 - len(positions)))
    positions[position] = 1


def digest_items(store: RunStore, run_id: str, limit: int) -> ItemDigest:
    """The run's items as the report needs them, in one pass over its rows (see the module's docstring)."""
    digest = ItemDigest()
    query = select(items).where(items.c.run_id == run_id).order_by(items.c.loop, items.c.position)
    with store.engine.connect() as connection:
        result = connection.execution_options(yield_per=BATCH).execute(query)
        for mapping in result.mappings():
            digest.total += 1
            status = str(mapping["status"])
            digest.counts[status] += 1
            _mark_started(digest.started, str(mapping["loop"]), int(mapping["position"]))
            if mapping["worker"]:
                digest.by_workers = True
            for name in mapping["outcome"] or {}:
                if name not in ("key", "status", "error") and name not in digest.outcome_columns:
                    if len(digest.outcome_columns) < MAX_OUTCOME_COLUMNS:
                        digest.outcome_columns.append(name)
            kept = len(digest.to_check) + len(digest.failed)
            if status == ItemStatus.TO_CHECK or is_failed(status):
                if kept >= limit:
                    digest.failed_beyond += 1
                    continue
                row = dict(mapping)
                (digest.to_check if status == ItemStatus.TO_CHECK else digest.failed).append(row)
                if digest.others and kept + 1 + len(digest.others) > limit:
                    digest.others.pop()  # a failed row takes the place of the last other one
            elif kept + len(digest.others) < limit:
                digest.others.append(dict(mapping))
    for number, row in enumerate(digest.shown, start=1):
        row["anchor"] = f"item-{number}"
    return digest


__all__ = ["ItemDigest", "digest_items"]
