"""A fleet of bot machines sharing runs and work items on PostgreSQL: the tables of its database (`robo db
upgrade`), Procrastinate's jobs that carry work to the workers. The guarantee that each item is done once lives
in the run store's item leases (`runner.record.ItemLeases`), not here."""

from runner.fleet.databases import UpgradedPart, upgrade_databases
from runner.fleet.dispatch import LoopDispatch
from runner.fleet.distributor import FleetDistributor, fleet_distributor, has_fleet
from runner.fleet.job_schema import JobSchemaUpgrade, installed_version, upgrade_job_schema
from runner.fleet.jobs import job_app, libpq_url
from runner.fleet.lanes import EngineLanes
from runner.fleet.registry import (
    SILENT_AFTER_HEARTBEATS,
    FleetWorkers,
    Registration,
    WorkerNameTaken,
    WorkerRecord,
    WorkerState,
    default_worker_name,
    worker_state_text,
)
from runner.fleet.scheduled import RUN_TASK, FleetLauncher, run_fire, workflow_queue
from runner.fleet.status import (
    QUEUE_STATUSES,
    FleetNeedsPostgres,
    FleetStatus,
    LoopProgress,
    QueueDepth,
    StalledJob,
    WorkerStatus,
    fleet_status,
    needs_postgres,
)
from runner.fleet.worker import (
    ITEMS_TASK,
    DoItem,
    Heartbeat,
    ItemResult,
    Lane,
    OpenLane,
    WorkReport,
    fleet_app,
    retry_stalled_jobs,
    run_worker,
    work_on_items,
)

__all__ = [
    "ITEMS_TASK",
    "QUEUE_STATUSES",
    "RUN_TASK",
    "SILENT_AFTER_HEARTBEATS",
    "DoItem",
    "EngineLanes",
    "FleetDistributor",
    "FleetLauncher",
    "FleetNeedsPostgres",
    "FleetStatus",
    "FleetWorkers",
    "Heartbeat",
    "ItemResult",
    "JobSchemaUpgrade",
    "Lane",
    "LoopDispatch",
    "LoopProgress",
    "OpenLane",
    "QueueDepth",
    "Registration",
    "StalledJob",
    "UpgradedPart",
    "WorkReport",
    "WorkerNameTaken",
    "WorkerRecord",
    "WorkerState",
    "WorkerStatus",
    "default_worker_name",
    "fleet_app",
    "fleet_distributor",
    "fleet_status",
    "has_fleet",
    "installed_version",
    "job_app",
    "libpq_url",
    "needs_postgres",
    "retry_stalled_jobs",
    "run_fire",
    "run_worker",
    "upgrade_databases",
    "upgrade_job_schema",
    "work_on_items",
    "worker_state_text",
    "workflow_queue",
]
