from .audit import AUDIT_LOG_NAME, AuditLog, AuditLogRefused
from .audit_keys import (
    AUDIT_KEY_VARIABLE,
    AUDIT_SEAL_NAME,
    GENESIS,
    AuditKeyError,
    audit_key_path,
    load_audit_key,
    record_run_id,
)
from .audit_verify import AuditLogCheck, AuditState, AuditVerdict, verify_audit_log
from .claims import RunClaim, RunClaimant, claim_run, release_slot
from .closed_output import is_closed_output, output_may_be_closed, silence_closed_output
from .console import ConsoleSink
from .leases import HeldItem, ItemLease, ItemLeases, LeaseLost, LoopTally
from .payloads import NotSendable, from_payload, to_payload
from .races import is_race, retry_on_race
from .shared_loops import SharedLoop, SharedLoops
from .store import DRY_RUN_MARK, RunRecord, RunStore
from .store_database import (
    DEFAULT_STORE_NAME,
    STORE_MIGRATIONS,
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
from .store_sink import RunStoreSink
from .timestamps import UtcTimestamp, as_utc
from .upgrade import (
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
