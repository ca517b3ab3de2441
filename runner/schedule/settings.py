"""The schedule service's states and timings, declared once for the service, its database and its commands."""

from __future__ import annotations

from enum import StrEnum

from robots.kit import N_, _
from runner.events import RunStatus, run_status_text


class ServiceState(StrEnum):
    """What a schedule service process says of itself in its heartbeat."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"  # waiting for its runs to end their step
    STOPPED = "stopped"


LIVE_STATES = frozenset({ServiceState.STARTING, ServiceState.RUNNING, ServiceState.STOPPING})


class FireStatus(StrEnum):
    """What became of one fire of a schedule, besides the status of the run it started (a `RunStatus`)."""

    CLAIMED = "claimed"  # a service took it; its run is starting
    QUEUED = "queued"  # sent to a fleet's workers: its run starts when one of them takes the job
    RUNNING = "running"  # its run is going
    MISSED = "missed"  # it fell due while no service was there, past its grace
    SKIPPED_OVERLAP = "skipped_overlap"  # the previous run of the same workflow was still going
    SKIPPED_PAUSED = "skipped_paused"  # the schedule is paused
    LOST = "lost"  # its run ended without saying how (killed with the machine)
    INVALID = "invalid"  # the workflow was refused by validation: no run started


_STATE_WORDS: dict[str, str] = {
    ServiceState.STARTING: N_("starting"),
    ServiceState.RUNNING: N_("running"),
    ServiceState.STOPPING: N_("stopping"),
    ServiceState.STOPPED: N_("stopped"),
}
_FIRE_WORDS: dict[str, str] = {
    FireStatus.CLAIMED: N_("claimed"),
    FireStatus.QUEUED: N_("queued for the fleet"),
    FireStatus.MISSED: N_("missed"),
    FireStatus.SKIPPED_OVERLAP: N_("skipped (the previous run was still going)"),
    FireStatus.SKIPPED_PAUSED: N_("skipped (paused)"),
    FireStatus.LOST: N_("lost"),
    FireStatus.INVALID: N_("invalid"),
}


def service_state_text(state: str) -> str:
    """A service's state as a person reads it, in their language (the stored value stays the enum's)."""
    word = _STATE_WORDS.get(state)
    return _(word) if word else state


def fire_status_text(status: str) -> str:
    """What became of a fire (a `FireStatus`, or the `RunStatus` of its run) as a person reads it."""
    word = _FIRE_WORDS.get(status)
    return _(word) if word else run_status_text(status)


ACTIVE = (FireStatus.CLAIMED, FireStatus.QUEUED, FireStatus.RUNNING)
"""A fire in one of these states holds its lock: another fire of the same workflow waits or is skipped."""

SUCCESS = frozenset({RunStatus.SUCCEEDED})
FAILURE = frozenset(
    {
        RunStatus.FAILED,
        RunStatus.COMPLETED_WITH_ERRORS,
        RunStatus.CRASHED,
        FireStatus.INVALID,
        FireStatus.LOST,
    }
)
"""The outcomes a notification calls a success or a failure (an interrupted run is neither: it is resumed)."""

BEAT_SECONDS = 5.0  # a service writes its heartbeat this often
ALIVE_BEATS = 3  # a service is alive when it beat within this many beat intervals
LOCK_TTL = 60.0  # seconds a fire's lock lives without being extended
REFRESH = 10.0  # seconds between two extensions of a running fire's lock
SKIP_GRACE = 5.0  # seconds late a `misfire: skip` fire may still start, unless `grace` says otherwise
POLL_SECONDS = 3.0  # between two looks at the folder of workflows for changes
STOP_TIMEOUT = 300.0  # on SIGTERM, seconds the runs in progress have to finish their work
TERM_TIMEOUT = 30.0  # then seconds a run has, after its own SIGTERM, to stop before SIGKILL
REQUEST_MAX_AGE = 120.0  # a `robo schedule run` request no service took within this is dropped, not run late
RUN_NOW_WAIT = 20.0  # seconds `robo schedule run` waits for a service to take its request
WEBHOOK_TIMEOUT = 10.0  # seconds a notification webhook has to answer
SMTP_TIMEOUT = 30.0  # seconds the mail server has to answer a notification
