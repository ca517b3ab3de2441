"""The operators' audit log: who did what from the console, when and from where, one record per action, chained
and keyed exactly as a run's audit log (`runner.record.AuditLog`, verified by `verify_audit_log`).

It lives in `<logs>/operators/audit.jsonl`, beside its seal; the audit key is the runs' one.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from runner.record import AUDIT_LOG_NAME, AuditLog, AuditVerdict, load_audit_key, verify_audit_log

OPERATORS_FOLDER = "operators"
OPERATOR_ACTION_EVENT = "operator_action"


def operators_log_path(logs_dir: Path) -> Path:
    return logs_dir / OPERATORS_FOLDER / AUDIT_LOG_NAME


class OperatorsLog:
    """Appends operators' actions to the log of a logs folder (verified when opened: a tampered log is refused,
    `AuditLogRefused`, and kept as evidence)."""

    def __init__(self, logs_dir: Path, *, fsync: bool = True) -> None:
        self.path = operators_log_path(logs_dir)
        self._fsync = fsync
        self._lock = threading.Lock()

    def record(self, user: str, action: str, address: str | None, **details: Any) -> str:
        """Append one action (`run`, `retry`, `resume`, `mark`, `pause`, `login`…) and return its MAC."""
        with self._lock:
            log = AuditLog(self.path, fsync=self._fsync)
            try:
                return log.append(
                    {
                        "event": OPERATOR_ACTION_EVENT,
                        "at": dt.datetime.now(dt.UTC).isoformat(),
                        "user": user,
                        "action": action,
                        "address": address,
                        "details": details,
                    },
                    durable=True,
                )
            finally:
                log.close()

    def verify(self) -> AuditVerdict:
        return verify_operators_log(self.path.parent.parent)


def verify_operators_log(logs_dir: Path) -> AuditVerdict:
    """The operators' log's verdict, as `robo audit verify` gives a run's."""
    return verify_audit_log(operators_log_path(logs_dir), key=load_audit_key())
