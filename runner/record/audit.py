"""The append-only, keyed hash-chained JSONL audit log of a run, and its writer (`AuditLog`).

Each line is one JSON object: `seq` (counting from 1), `prev` (the previous record's MAC, 64 zeros for the first),
the event's fields, and last `mac`: the HMAC-SHA256, under the audit key, of the line's bytes without its `mac`
field. The key is kept outside the run folder and the run store (a 0600 file created at first use, see
`audit_key_path`), so whoever can write to the folder and the store but cannot read the key cannot write a record
that verifies: an edited, inserted or appended record, or a chain rebuilt from scratch, fails its MAC.

The log's head (the last record's sequence number and MAC) is sealed in `audit.seal` beside the log (with an HMAC
of its own) each time records are written, and kept in the run store when a session ends: cutting records off the
end leaves a log shorter than its seal. A step's records are written with the next record about an item, a change,
a failure or a message (see `AuditLog.handle`), so the log and its seal agree after a crash at any moment. Someone holding the key can forge anything; nothing here stops that.

Logs written before the key existed end each line with `hash` (a plain SHA-256): they are still read and
checked, and reported as "unkeyed (older format)", never as intact.

The key and the seal are `audit_keys.py`; the verification is `audit_verify.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from robots.kit import ConfigurationError, _
from runner.events import Event, ItemEffect, ItemFinished, RunFinished, StepFinished, StepStarted, clean_data
from runner.record.audit_keys import (
    AUDIT_SEAL_NAME,
    GENESIS,
    RECORDS_LOST_EVENT,
    AuditKey,
    AuditKeyError,
    audit_key_path,
    load_audit_key,
    read_seal,
    seal,
    seal_text,
)
from runner.record.audit_verify import AuditState, AuditVerdict, verify_audit_log


def json_default(value: Any) -> Any:
    """How values that JSON does not know are written: dates ISO, paths and the rest as text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


AUDIT_LOG_NAME = "audit.jsonl"  # in the run's folder
# Seconds: at most this much of a run's items that changed nothing is lost to a system crash.
SYNC_INTERVAL = 1.0
GATHERED_AT_MOST = 256  # records of steps kept in memory before they are written


class AuditLogRefused(ConfigurationError):
    """An existing log that fails verification is never appended to."""


class AuditLog:
    """An event sink that appends each event to `audit.jsonl` and seals its head in `audit.seal`; fsyncs at the
    end of an item that changed the outside world, at most every SYNC_INTERVAL otherwise, and at the end.

    An existing log (a resumed run, a mark: `continuing`, the log must be there) is verified first: only a last
    line cut by a crash (no end of line) is dropped; any other damage refuses the log (`AuditLogRefused`), which
    is then left as it is.
    """

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool = True,
        stored_head: str | None = None,
        key: AuditKey | None = None,
        continuing: bool = False,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fsync = fsync
        found = key or load_audit_key(create=True)
        if found is None:  # created above, unless it was removed at once
            raise AuditKeyError(_("the audit key {path} could not be created").format(path=audit_key_path()))
        self.key = found
        self.seal_path = path.with_name(AUDIT_SEAL_NAME)
        self._seq, self.last_hash, self.keyed, lost = _open_state(path, self.key, stored_head, continuing)
        self._file: IO[bytes] = path.open("ab")
        if fsync:
            os.fsync(self._file.fileno())  # what is there now is the durable part the next seal names
        self._durable = (self._seq, self.last_hash)
        self._changed = False  # an item changed the outside world since the log was last made durable
        self._synced_at = time.monotonic()
        self._seal_fd: int | None = None
        self._gathered: list[bytes] = []  # records encoded and chained, not yet written (see `handle`)
        if lost is not None:
            self.append(
                {
                    "event": RECORDS_LOST_EVENT,
                    "first": lost[0],
                    "last": lost[1],
                    "reason": "written after the last point the log was known to be on disk, and lost when the"
                    " machine stopped (a power cut or a system crash)",
                },
                durable=True,
            )

    def handle(self, event: Event) -> None:
        if isinstance(event, ItemEffect):
            self._changed = True
        # A step's records wait for the next other record (an item's start or end, a change about to be made,
        # a failure, a message): one write and one seal for them all. A crash loses the waiting ones, which
        # nothing resumes from; the log and its seal still agree.
        gathered = isinstance(event, StepStarted) or (isinstance(event, StepFinished) and event.error is None)
        self.append(event.to_dict(), durable=self._sync_due(event), gathered=gathered)

    def _sync_due(self, event: Event) -> bool:
        """Whether the log is to be made durable (fsynced) after `event`: at the end of the run, and at the end
        of an item that changed the outside world or when SYNC_INTERVAL has passed since the last time; the
        durable point in the seal tells what a system crash may have taken after it."""
        if isinstance(event, RunFinished):
            return True
        if not isinstance(event, ItemFinished):
            return False
        return self._changed or time.monotonic() - self._synced_at >= SYNC_INTERVAL

    def append(self, record: dict[str, Any], *, durable: bool = False, gathered: bool = False) -> str:
        """Add a record; written out (with those gathered before it) and sealed at once unless `gathered`."""
        with self._lock:
            # Counted only once encoded: a record that cannot be encoded must not leave a gap in the chain.
            body = {"seq": self._seq + 1, "prev": self.last_hash, **record}
            if self.keyed:
                line, digest = seal(_encoded(body), self.key)
            else:  # a log begun before the key existed goes on in its own format
                encoded = _encoded(body)
                digest = hashlib.sha256(encoded).hexdigest()
                line = encoded[:-1] + b',"hash":"' + digest.encode() + b'"}'
            self._gathered.append(line + b"\n")
            self._seq += 1
            self.last_hash = digest
            if gathered and not durable and len(self._gathered) < GATHERED_AT_MOST:
                return digest
            self._write_gathered()
            if durable:
                if self._fsync:
                    os.fsync(self._file.fileno())
                self._durable = (self._seq, self.last_hash)
                self._changed, self._synced_at = False, time.monotonic()
            if self.keyed:
                self._write_seal()
            return self.last_hash

    def _write_gathered(self) -> None:
        if self._gathered:
            self._file.write(b"".join(self._gathered))
            self._file.flush()
            self._gathered.clear()

    def _write_seal(self) -> None:
        # Rewritten in place after every record, one write of a fixed width: cheaper than a new file each time.
        # After a process crash it names the last record. It is not fsynced: after a system crash the disk may
        # hold an older seal (the records after it are signed all the same) or a newer one than the log, whose
        # durable point, written only once the log was fsynced, tells what may have been lost that way.
        text = seal_text(self.key, self._seq, self.last_hash, *self._durable).ljust(_SEAL_WIDTH) + b"\n"
        if self._seal_fd is None:
            self._seal_fd = os.open(self.seal_path, os.O_RDWR | os.O_CREAT, 0o666)
            os.ftruncate(self._seal_fd, len(text))
        if hasattr(os, "pwrite"):
            os.pwrite(self._seal_fd, text, 0)
        else:  # Windows
            os.lseek(self._seal_fd, 0, os.SEEK_SET)
            os.write(self._seal_fd, text)

    def close(self) -> None:
        with self._lock:
            self._write_gathered()
            if self.keyed and not self._file.closed and self._durable[0] != self._seq:
                self._file.flush()
                if self._fsync:
                    os.fsync(self._file.fileno())
                self._durable = (self._seq, self.last_hash)
                self._write_seal()
            if not self._file.closed:
                self._file.flush()
                if self._fsync:
                    os.fsync(self._file.fileno())
                self._file.close()
            if self._seal_fd is not None:
                if self._fsync:
                    os.fsync(self._seal_fd)
                os.close(self._seal_fd)
                self._seal_fd = None


_SEAL_WIDTH = 320


def _encoded(body: dict[str, Any]) -> bytes:
    """A record's JSON in UTF-8; text that UTF-8 cannot hold (a lone surrogate) is written as U+FFFD."""
    try:
        return json.dumps(body, ensure_ascii=False, default=json_default, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        cleaned = clean_data(body)
        return json.dumps(cleaned, ensure_ascii=False, default=json_default, separators=(",", ":")).encode()


def _open_state(
    path: Path, key: AuditKey, stored_head: str | None, continuing: bool
) -> tuple[int, str, bool, tuple[int, int] | None]:
    """The sequence number and MAC to go on from, whether the log is keyed, and the records a system crash lost;
    the line a crash cut is dropped, a log failing verification refused."""
    if not path.exists():
        if continuing or read_seal(path.with_name(AUDIT_SEAL_NAME)) is not None or stored_head is not None:
            raise AuditLogRefused(
                _("the audit log {path} is missing, but the run wrote one (deleted)").format(path=path),
                hint=_("the run's records are kept as they are, as evidence: start a new run (--new)"),
            )
        return 0, GENESIS, True, None
    verdict = verify_audit_log(path, stored_head, key=key, resuming=True)
    if verdict.state not in (AuditState.INTACT, AuditState.UNKEYED):
        raise _refusal(path, verdict)
    if verdict.cut_line_at is not None:
        with path.open("r+b") as handle:
            handle.truncate(verdict.cut_line_at)
    return verdict.records, verdict.head, verdict.state == AuditState.INTACT, verdict.lost


def _refusal(path: Path, verdict: AuditVerdict) -> AuditLogRefused:
    return AuditLogRefused(
        _("the audit log {path} fails verification, so nothing more is written to it: {verdict}").format(
            path=path, verdict=verdict
        ),
        hint=_("see 'robo audit verify'; the log is kept as it is, as evidence: start a new run (--new)"),
    )
