"""The append-only, hash-chained JSONL audit log of a run, and its verification.

Each line is one JSON object: `seq` (counting from 1), `prev` (the previous record's hash, 64 zeros for the
first), the event's fields, and last `hash`: the SHA-256 of the line's bytes without its `hash` field. The hash
of the last record is kept in the run store, so that removing records at the end is detected too. Changing a
record breaks its own hash; removing, inserting or reordering breaks the chain; `verify_audit_log` names the
first line concerned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from runner.events import Event, ItemFinished, RunFinished, clean_data

GENESIS = "0" * 64


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
_HASH_SUFFIX = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')


def seal(body: bytes) -> tuple[bytes, str]:
    """A record's line (its JSON with `hash` appended) and that hash."""
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + b',"hash":"' + digest.encode() + b'"}', digest


def unseal(line: bytes) -> tuple[bytes, str] | None:
    """The record's bytes as they were hashed and the hash it carries, or None when it carries none."""
    match = _HASH_SUFFIX.search(line)
    if match is None:
        return None
    return line[: match.start()] + b"}", match.group(1).decode()


class AuditLog:
    """An event sink that appends each event to `audit.jsonl`; fsyncs at item boundaries and at the end."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fsync = fsync
        self._seq, self.last_hash = _tail_state(path)
        self._file: IO[bytes] = path.open("ab")

    def handle(self, event: Event) -> None:
        self.append(event.to_dict(), durable=isinstance(event, ItemFinished | RunFinished))

    def append(self, record: dict[str, Any], *, durable: bool = False) -> str:
        with self._lock:
            # Counted only once written: a record that cannot be encoded must not leave a gap in the chain.
            body = {"seq": self._seq + 1, "prev": self.last_hash, **record}
            line, digest = seal(_encoded(body))
            self._file.write(line + b"\n")
            self._file.flush()
            self._seq += 1
            self.last_hash = digest
            if durable and self._fsync:
                os.fsync(self._file.fileno())
            return self.last_hash

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                if self._fsync:
                    os.fsync(self._file.fileno())
                self._file.close()


def _encoded(body: dict[str, Any]) -> bytes:
    """A record's JSON in UTF-8; text that UTF-8 cannot hold (a lone surrogate) is written as U+FFFD."""
    try:
        return json.dumps(body, ensure_ascii=False, default=json_default, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        cleaned = clean_data(body)
        return json.dumps(cleaned, ensure_ascii=False, default=json_default, separators=(",", ":")).encode()


def _tail_state(path: Path) -> tuple[int, str]:
    """The sequence number and hash of the last complete line (for a resumed run appending to its log)."""
    if not path.exists():
        return 0, GENESIS
    seq, last = 0, GENESIS
    with path.open("r+b") as handle:
        good_end = 0
        for raw in handle:
            sealed = unseal(raw.rstrip(b"\n")) if raw.endswith(b"\n") else None
            if sealed is None:
                break  # a line cut by a crash is not part of the chain: drop it before appending
            seq += 1
            last = sealed[1]
            good_end += len(raw)
        handle.truncate(good_end)
    return seq, last


@dataclass(frozen=True)
class AuditVerdict:
    intact: bool
    records: int
    line: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.intact:
            return f"intact: {self.records} records, hash chain unbroken"
        return f"tampered: line {self.line}: {self.problem}"


def verify_audit_log(path: Path, expected_last_hash: str | None = None) -> AuditVerdict:
    """Check every record's own hash and the chain between records; the first broken line is named."""
    previous = GENESIS
    count = 0
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        sealed = unseal(raw)
        if sealed is None:
            return AuditVerdict(False, count, number, "the record has no valid hash (edited or cut)")
        body, claimed = sealed
        if hashlib.sha256(body).hexdigest() != claimed:
            return AuditVerdict(False, count, number, "the record was changed after it was written")
        try:
            record = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return AuditVerdict(False, count, number, "the record is not valid JSON")
        if not isinstance(record, dict) or record.get("prev") != previous:
            return AuditVerdict(
                False,
                count,
                number,
                "the chain breaks here: a record was removed, inserted or moved before this line",
            )
        if record.get("seq") != number:
            return AuditVerdict(
                False, count, number, f"sequence number {record.get('seq')} where {number} was expected"
            )
        previous = claimed
        count += 1
    if expected_last_hash is not None and previous != expected_last_hash:
        return AuditVerdict(
            False,
            count,
            count + 1,
            "the log ends before the last record the run store knows (records removed at the end)",
        )
    return AuditVerdict(True, count)
