"""What stays of a run: the run store (and who claims a run in it, and the leases of a fleet's workers on its
items), the audit log, the console."""

from runner.record.audit import AUDIT_LOG_NAME, AuditLog, AuditLogRefused
from runner.record.audit_keys import (
    AUDIT_KEY_VARIABLE,
    AUDIT_SEAL_NAME,
    GENESIS,
    AuditKeyError,
    audit_key_path,
    load_audit_key,
    record_run_id,
)
from runner.record.audit_verify import AuditLogCheck, AuditState, AuditVerdict, verify_audit_log
from runner.record.claims import RunClaim, RunClaimant, claim_run, release_slot
from runner.record.closed_output import is_closed_output, output_may_be_closed, silence_closed_output
from runner.record.console import ConsoleSink
from runner.record.leases import HeldItem, ItemLease, ItemLeases, LeaseLost, LoopTally
from runner.record.payloads import NotSendable, from_payload, to_payload
from runner.record.races import is_race, retry_on_race
from runner.record.shared_loops import SharedLoop, SharedLoops
from runner.record.store import DRY_RUN_MARK, RunRecord, RunStore
from runner.record.store_database import (
    DEFAULT_STORE_NAME,
    comparable,
    default_store_url,
    fleet_workers,
    items,
    metadata,
    open_engine,
    runs,
    store_unreachable,
    users,
)
from runner.record.store_database import MIGRATIONS as STORE_MIGRATIONS
from runner.record.store_sink import RunStoreSink
from runner.record.timestamps import UtcTimestamp, as_utc
from runner.record.upgrade import (
    Migrations,
    create_or_complete,
    holding_upgrade_lock,
    run_migrations,
    taking_turns,
    upgrade_to_head,
)

__all__ = [
    "AUDIT_KEY_VARIABLE",
    "AUDIT_LOG_NAME",
    "AUDIT_SEAL_NAME",
    "DEFAULT_STORE_NAME",
    "DRY_RUN_MARK",
    "GENESIS",
    "STORE_MIGRATIONS",
    "AuditKeyError",
    "AuditLog",
    "AuditLogCheck",
    "AuditLogRefused",
    "AuditState",
    "AuditVerdict",
    "ConsoleSink",
    "HeldItem",
    "ItemLease",
    "ItemLeases",
    "LeaseLost",
    "LoopTally",
    "Migrations",
    "NotSendable",
    "RunClaim",
    "RunClaimant",
    "RunRecord",
    "RunStore",
    "RunStoreSink",
    "SharedLoop",
    "SharedLoops",
    "UtcTimestamp",
    "as_utc",
    "audit_key_path",
    "claim_run",
    "comparable",
    "create_or_complete",
    "default_store_url",
    "fleet_workers",
    "from_payload",
    "holding_upgrade_lock",
    "is_closed_output",
    "is_race",
    "items",
    "load_audit_key",
    "metadata",
    "open_engine",
    "output_may_be_closed",
    "record_run_id",
    "release_slot",
    "retry_on_race",
    "run_migrations",
    "runs",
    "silence_closed_output",
    "store_unreachable",
    "taking_turns",
    "to_payload",
    "upgrade_to_head",
    "users",
    "verify_audit_log",
]
