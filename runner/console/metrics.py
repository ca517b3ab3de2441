"""`/metrics` in the Prometheus text format: runs by workflow and status, items by status, run durations, each
schedule's last success, the schedule service's liveness and, on PostgreSQL, the fleet's workers by state, its jobs
by queue and status, and its stalled jobs. Read from the store at each scrape (a registry of its
own, so two consoles in one process never share counters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from runner.record import items, runs
from runner.schedule import fires

if TYPE_CHECKING:
    from runner.fleet import FleetStatus


def metrics_text(engine: Engine, services: list[dict[str, Any]], fleet: FleetStatus | None = None) -> bytes:
    """The metrics now; `services` as `runner.schedule.service_status` lists them (each with `alive`); `fleet`:
    how the fleet stands (None: no fleet gauges, a SQLite store)."""
    registry = CollectorRegistry()
    run_count = Gauge("robo_runs", "Runs in the store", ["workflow", "status"], registry=registry)
    item_count = Gauge("robo_items", "Work items in the store", ["status"], registry=registry)
    duration = Gauge(
        "robo_run_duration_seconds_sum", "Total duration of finished runs", ["workflow"], registry=registry
    )
    last_success = Gauge(
        "robo_schedule_last_success_timestamp_seconds",
        "When each schedule last fired a successful run",
        ["schedule"],
        registry=registry,
    )
    alive = Gauge("robo_schedule_service_up", "1 when a schedule service beat recently", registry=registry)
    with engine.connect() as connection:
        for workflow, status, count, total in connection.execute(
            select(runs.c.workflow, runs.c.status, func.count(), func.sum(runs.c.duration)).group_by(
                runs.c.workflow, runs.c.status
            )
        ):
            run_count.labels(workflow, status).set(count)
            duration.labels(workflow).inc(total or 0)
        for status, count in connection.execute(
            select(items.c.status, func.count()).group_by(items.c.status)
        ):
            item_count.labels(status).set(count)
        successes = select(fires.c.job_id, func.max(fires.c.finished_at)).where(fires.c.exit_code == 0)
        for job_id, finished in connection.execute(successes.group_by(fires.c.job_id)):
            if finished:
                last_success.labels(job_id).set(finished)
    alive.set(1 if any(row["alive"] for row in services) else 0)
    if fleet is not None:
        _fleet_gauges(registry, fleet)
    return generate_latest(registry)


def _fleet_gauges(registry: CollectorRegistry, fleet: FleetStatus) -> None:
    from runner.fleet import QUEUE_STATUSES, WorkerState

    workers = Gauge(
        "robo_fleet_workers", "The fleet's registered workers by state", ["state"], registry=registry
    )
    jobs = Gauge(
        "robo_fleet_jobs", "The fleet's jobs by queue and status", ["queue", "status"], registry=registry
    )
    stalled = Gauge(
        "robo_fleet_stalled_jobs", "Jobs of workers whose heartbeat stopped, to be retried", registry=registry
    )
    for state in WorkerState:
        workers.labels(str(state)).set(sum(1 for row in fleet.workers if row.worker.state == state))
    for queue in fleet.queues:
        for status in QUEUE_STATUSES:
            jobs.labels(queue.name, status).set(getattr(queue, status))
    stalled.set(len(fleet.stalled))
