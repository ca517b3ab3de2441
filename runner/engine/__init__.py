"""The engine: runs a workflow's steps over its work items, with retries, lanes, robots, inputs and secrets."""

from runner.engine.dry_run import dry_run_placeholder
from runner.engine.engine import Engine
from runner.engine.inputs import parse_input_assignments, resolve_inputs
from runner.engine.items import EarlierEntry, EarlierRuns, ItemGate, PreviousItem, WorkItemLedger
from runner.engine.loops import DistributedLoop, Distributor, LoopHost, LoopRunner
from runner.engine.robot_pool import Cancellation, RobotPool, StepCancelled
from runner.engine.secrets import (
    MIN_SECRET_LENGTH,
    Redactor,
    resolve_secrets,
    secret_variable,
    secrets_by_source,
    store_in_keyring,
)
from runner.engine.state import Lane, RunInterrupted, StepFailure, step_ref, summarize
from runner.engine.timeouts import (
    WATCHDOG_FACTOR,
    WATCHDOG_GRACE,
    WATCHDOG_WITHOUT_TIMEOUT,
    give_action_timeout,
    watchdog_limit,
)

__all__ = [
    "MIN_SECRET_LENGTH",
    "WATCHDOG_FACTOR",
    "WATCHDOG_GRACE",
    "WATCHDOG_WITHOUT_TIMEOUT",
    "Cancellation",
    "DistributedLoop",
    "Distributor",
    "EarlierEntry",
    "EarlierRuns",
    "Engine",
    "ItemGate",
    "Lane",
    "LoopHost",
    "LoopRunner",
    "PreviousItem",
    "Redactor",
    "RobotPool",
    "RunInterrupted",
    "StepCancelled",
    "StepFailure",
    "WorkItemLedger",
    "dry_run_placeholder",
    "give_action_timeout",
    "parse_input_assignments",
    "resolve_inputs",
    "resolve_secrets",
    "secret_variable",
    "secrets_by_source",
    "step_ref",
    "store_in_keyring",
    "summarize",
    "watchdog_limit",
]
