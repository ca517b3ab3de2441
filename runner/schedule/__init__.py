"""The schedule service: workflows of a folder fired on their schedules, runs launched and locked, notifications, its commands."""

from runner.schedule.commands import (
    Catalogue,
    list_schedules,
    print_schedules,
    print_status,
    run_now,
    service_status,
    set_paused,
)
from runner.schedule.database import MIGRATIONS as SCHEDULE_MIGRATIONS
from runner.schedule.database import ScheduleDatabase, fire_key, fires, parse_fire_key
from runner.schedule.jobs import load_schedules, workflow_files
from runner.schedule.launch import (
    FireJob,
    FireLauncher,
    FireOutcome,
    Launcher,
    LauncherFactory,
    fire_label,
)
from runner.schedule.notify import (
    NotifyTargets,
    RunSummary,
    SmtpSettings,
    body_text,
    notification_event,
    send_notifications,
)
from runner.schedule.service import ScheduleService, setup_logging
from runner.schedule.settings import ACTIVE as ACTIVE_FIRES
from runner.schedule.settings import LOCK_TTL, REFRESH, FireStatus, ServiceState

__all__ = [
    "ACTIVE_FIRES",
    "LOCK_TTL",
    "REFRESH",
    "SCHEDULE_MIGRATIONS",
    "Catalogue",
    "FireJob",
    "FireLauncher",
    "FireOutcome",
    "FireStatus",
    "Launcher",
    "LauncherFactory",
    "NotifyTargets",
    "RunSummary",
    "ScheduleDatabase",
    "ScheduleService",
    "ServiceState",
    "SmtpSettings",
    "body_text",
    "fire_key",
    "fire_label",
    "fires",
    "list_schedules",
    "load_schedules",
    "notification_event",
    "parse_fire_key",
    "print_schedules",
    "print_status",
    "run_now",
    "send_notifications",
    "service_status",
    "set_paused",
    "setup_logging",
    "workflow_files",
]
