"""The append-only, keyed hash-chained JSONL audit log of a run, its seal, and its verification.

Each line is one JSON object: `seq` (counting from 1), `prev` (the previous record's MAC, 64 zeros for the first),
the event's fields, and last `mac`: the HMAC-SHA256, under the audit key, of the line's bytes without its `mac`
field. The key is kept outside the run folder and the run store (a 0600 file created at first use, see
`audit_key_path`), so whoever can write to the folder and the store but cannot read the key cannot write a record
that verifies: an edited, inserted or appended record, or a chain rebuilt from scratch, fails its MAC.

The log's head (the last record's sequence number and MAC) is sealed after every record in `audit.seal` beside
the log (with an HMAC of its own), and kept in the run store when a session ends: cutting records off the end
leaves a log shorter than its seal. Someone holding the key can forge anything; nothing here stops that.

Logs written before the key existed end each line with `hash` (a plain SHA-256): they are still read and
checked, and reported as "unkeyed (older format)", never as intact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from robots.kit import ConfigurationError
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
AUDIT_SEAL_NAME = "audit.seal"  # beside it: the head of the log, sealed with the key
AUDIT_KEY_VARIABLE = "ROBO_AUDIT_KEY_FILE"  # where the audit key is, when not in its default place
_KEY_FILE_NAME = "audit.key"
RECORDS_LOST_EVENT = (
    "audit_records_lost"  # written by a resume after a system crash lost the log's last records
)
_MAC_SUFFIX = re.compile(rb',"mac":"([0-9a-f]{64})"\}$')
_HASH_SUFFIX = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')  # the older, unkeyed format


# --- the key ---------------------------------------------------------------------------------------------------


def audit_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the audit key is: `ROBO_AUDIT_KEY_FILE`, else `$XDG_STATE_HOME/robo/audit.key`, else (root)
    `/var/lib/robo/audit.key`, else `~/.local/state/robo/audit.key`."""
    env = os.environ if environ is None else environ
    if env.get(AUDIT_KEY_VARIABLE):
        return Path(env[AUDIT_KEY_VARIABLE]).expanduser()
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "robo" / _KEY_FILE_NAME
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/robo") / _KEY_FILE_NAME
    return Path.home() / ".local" / "state" / "robo" / _KEY_FILE_NAME


@dataclass(frozen=True)
class AuditKey:
    """The secret that signs audit records, and a short id that names it without revealing it."""

    secret: bytes
    path: Path

    @functools.cached_property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"robo-audit-key-id", hashlib.sha256).hexdigest()[:16]

    def mac(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()


class AuditKeyError(ConfigurationError):
    """The audit key cannot be created or read, or others can read it."""


def load_audit_key(*, create: bool = False, environ: Mapping[str, str] | None = None) -> AuditKey | None:
    """The audit key, created (0600, 32 random bytes) at first use when `create`; None when it does not exist."""
    path = audit_key_path(environ)
    hint = f"set {AUDIT_KEY_VARIABLE} to the path of the key file (created at first use, mode 0600)"
    try:
        if create and not path.exists():
            _create_key_file(path)
        if not path.exists():
            return None
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise AuditKeyError(
                f"the audit key {path} can be read by other users "
                f"(mode {stat.S_IMODE(path.stat().st_mode):04o}): whoever reads it can forge audit logs",
                hint=f"chmod 600 {path}",
            )
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"the audit key {path} cannot be used: {exc}", hint=hint) from None
    except ValueError:
        raise AuditKeyError(f"the audit key {path} is not a key (64 hexadecimal digits)", hint=hint) from None
    if len(secret) < 32:
        raise AuditKeyError(f"the audit key {path} is too short (32 bytes are needed)", hint=hint)
    return AuditKey(secret, path)


def _create_key_file(path: Path) -> None:
    """Write a new key atomically: a concurrent first run either wins or reads the winner's whole key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails when another process made the key first: theirs is kept
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: create it in place, still never replacing one
            with contextlib.suppress(FileExistsError):
                exclusive = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(exclusive, "w", encoding="ascii") as handle:
                    handle.write(temporary.read_text(encoding="ascii"))
    finally:
        temporary.unlink(missing_ok=True)


# --- records and seal ------------------------------------------------------------------------------------------


def seal(body: bytes, key: AuditKey) -> tuple[bytes, str]:
    """A record's line (its JSON with `mac` appended) and that MAC."""
    digest = key.mac(body)
    return body[:-1] + b',"mac":"' + digest.encode() + b'"}', digest


def unseal(line: bytes) -> tuple[bytes, str] | None:
    """The record's bytes as they were signed and the MAC it carries, or None when it carries none."""
    match = _MAC_SUFFIX.search(line)
    if match is None:
        return None
    return line[: match.start()] + b"}", match.group(1).decode()


def _unseal_unkeyed(line: bytes) -> tuple[bytes, str] | None:
    match = _HASH_SUFFIX.search(line)
    if match is None:
        return None
    return line[: match.start()] + b"}", match.group(1).decode()


def record_run_id(line: bytes) -> str | None:
    """The run id a record names, in either format (to find the run of a log given by its path)."""
    sealed = unseal(line) or _unseal_unkeyed(line)
    try:
        run_id = json.loads(sealed[0]).get("run_id") if sealed else None
    except (ValueError, AttributeError):
        return None
    return run_id if isinstance(run_id, str) else None


def _seal_mac(key: AuditKey, seq: int, head: str, durable: int, durable_head: str) -> str:
    return key.mac(b"robo-audit-seal\0%d\0%s\0%d\0%s" % (seq, head.encode(), durable, durable_head.encode()))


def seal_text(key: AuditKey, seq: int, head: str, durable: int, durable_head: str) -> bytes:
    """The content of `audit.seal` for a log of `seq` records whose last MAC is `head`, of which the first
    `durable` (the last MAC `durable_head`) are known to be on disk (fsynced)."""
    body = {
        "seq": seq,
        "head": head,
        "durable": durable,
        "durable_head": durable_head,
        "key": key.key_id,
        "mac": _seal_mac(key, seq, head, durable, durable_head),
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class _Seal:
    seq: int
    head: str
    durable: int
    durable_head: str
    key_id: str
    mac: str

    def signed_by(self, key: AuditKey) -> bool:
        expected = _seal_mac(key, self.seq, self.head, self.durable, self.durable_head)
        return self.key_id == key.key_id and hmac.compare_digest(expected, self.mac)


def _read_seal(path: Path) -> _Seal | str | None:
    """The seal file's content; a text saying what is wrong with it; None when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the seal {path.name} cannot be read: {exc}"
    try:
        data = json.loads(raw)
        result = _Seal(
            int(data["seq"]),
            str(data["head"]),
            int(data["durable"]),
            str(data["durable_head"]),
            str(data["key"]),
            str(data["mac"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return f"the seal {path.name} is not a seal (edited or damaged)"
    if isinstance(data["seq"], bool) or not 0 <= result.durable <= result.seq:
        return f"the seal {path.name} is not a seal (edited or damaged)"
    return result


# --- writing ---------------------------------------------------------------------------------------------------


class AuditLogRefused(ConfigurationError):
    """An existing log that fails verification is never appended to."""


class AuditLog:
    """An event sink that appends each event to `audit.jsonl` and seals its head in `audit.seal`; fsyncs at item
    boundaries and at the end.

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
            raise AuditKeyError(f"the audit key {audit_key_path()} could not be created")
        self.key = found
        self.seal_path = path.with_name(AUDIT_SEAL_NAME)
        self._seq, self.last_hash, self.keyed, lost = _open_state(path, self.key, stored_head, continuing)
        self._file: IO[bytes] = path.open("ab")
        if fsync:
            os.fsync(self._file.fileno())  # what is there now is the durable part the next seal names
        self._durable = (self._seq, self.last_hash)
        self._seal_fd: int | None = None
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
        self.append(event.to_dict(), durable=isinstance(event, ItemFinished | RunFinished))

    def append(self, record: dict[str, Any], *, durable: bool = False) -> str:
        with self._lock:
            # Counted only once written: a record that cannot be encoded must not leave a gap in the chain.
            body = {"seq": self._seq + 1, "prev": self.last_hash, **record}
            if self.keyed:
                line, digest = seal(_encoded(body), self.key)
            else:  # a log begun before the key existed goes on in its own format
                encoded = _encoded(body)
                digest = hashlib.sha256(encoded).hexdigest()
                line = encoded[:-1] + b',"hash":"' + digest.encode() + b'"}'
            self._file.write(line + b"\n")
            self._file.flush()
            self._seq += 1
            self.last_hash = digest
            if durable:
                if self._fsync:
                    os.fsync(self._file.fileno())
                self._durable = (self._seq, self.last_hash)
            if self.keyed:
                self._write_seal()
            return self.last_hash

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
        if continuing or _read_seal(path.with_name(AUDIT_SEAL_NAME)) is not None or stored_head is not None:
            raise AuditLogRefused(
                f"the audit log {path} is missing, but the run wrote one (deleted)",
                hint="the run's records are kept as they are, as evidence: start a new run (--new)",
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
        f"the audit log {path} fails verification, so nothing more is written to it: {verdict}",
        hint="see 'robo audit verify'; the log is kept as it is, as evidence: start a new run (--new)",
    )


# --- verifying -------------------------------------------------------------------------------------------------


class AuditState(StrEnum):
    INTACT = "intact"  # keyed, every MAC right, the seal and the store agree
    UNKEYED = "unkeyed"  # the older format: the chain is whole, but anyone could have rebuilt it
    TAMPERED = "tampered"
    UNCHECKABLE = "uncheckable"  # the key that would check it is not here


@dataclass(frozen=True)
class AuditVerdict:
    state: AuditState
    records: int
    line: int | None = None
    problem: str | None = None
    head: str = GENESIS
    cut_line_at: int | None = None  # resuming: where the log is cut to drop a line a crash left incomplete
    lost: tuple[int, int] | None = None  # resuming: the records the seal names that a system crash lost
    notes: tuple[str, ...] = ()  # what an intact log says of itself that a reader must know

    @property
    def intact(self) -> bool:
        return self.state == AuditState.INTACT

    def __str__(self) -> str:
        if self.state == AuditState.INTACT:
            notes = "".join(f"; {note}" for note in self.notes)
            return f"intact: {self.records} records, keyed hash chain unbroken and sealed{notes}"
        if self.state == AuditState.UNKEYED:
            return (
                f"unkeyed (older format): {self.records} records, hash chain unbroken, but written before audit"
                " logs were keyed: anyone who could write to the run folder and the run store could have"
                " rebuilt it"
            )
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{self.state}: {where}{self.problem}"


def _tampered(records: int, line: int | None, problem: str) -> AuditVerdict:
    return AuditVerdict(AuditState.TAMPERED, records, line, problem)


def verify_audit_log(
    path: Path,
    expected_last_hash: str | None = None,
    *,
    key: AuditKey | None = None,
    resuming: bool = False,
) -> AuditVerdict:
    """Check every record's MAC, the chain between records, and the log's head against its seal and the MAC the
    run store keeps (`expected_last_hash`); the first bad record is named.

    `resuming`: what a crash leaves is accepted (a last line without its end of line, to drop; records written
    after the last seal, which carry right MACs); nothing else is.
    """
    data = path.read_bytes()
    seal_path = path.with_name(AUDIT_SEAL_NAME)
    found_seal = _read_seal(seal_path)
    lines = data.split(b"\n")
    complete = lines[:-1]  # the part after the last end of line is empty, or a line a crash cut
    cut = lines[-1]
    if complete and _unseal_unkeyed(complete[0]) is not None and unseal(complete[0]) is None:
        if found_seal is not None:
            return _tampered(
                0,
                1,
                f"the log is in the older, unkeyed format but {AUDIT_SEAL_NAME} says it was keyed: it was"
                " rebuilt without the key",
            )
        verdict = _verify_unkeyed(complete, cut, expected_last_hash, resuming)
        begun = _first_time(complete[0])
        made = _key_made_at(key)
        if verdict.state == AuditState.UNKEYED and begun is not None and made is not None and begun > made:
            return _tampered(
                0,
                1,
                f"the log is in the older, unkeyed format but it begins at {begun.isoformat()}, after the audit"
                f" key was made ({made.isoformat()}): it was rebuilt without the key",
            )
        return verdict
    if key is None:
        try:
            key = load_audit_key()
        except AuditKeyError as exc:
            return AuditVerdict(AuditState.UNCHECKABLE, 0, problem=f"{exc.message} ({exc.hint})")
    if key is None:
        return AuditVerdict(
            AuditState.UNCHECKABLE,
            0,
            problem=f"the audit key {audit_key_path()} is not here, so the log's MACs cannot be checked (set"
            f" {AUDIT_KEY_VARIABLE} to the key file of the machine that wrote it)",
        )
    other_key = (
        f" (the seal names key {found_seal.key_id}, this machine's key is {key.key_id}: verify it with"
        f" {AUDIT_KEY_VARIABLE} naming the key of the machine that wrote it)"
        if isinstance(found_seal, _Seal) and found_seal.key_id != key.key_id
        else ""
    )
    previous = GENESIS
    macs: list[str] = []
    notes: list[str] = []
    for number, raw in enumerate(complete, start=1):
        problem = _record_problem(raw, number, previous, key, complete)
        if problem is not None:
            return _tampered(number - 1, number, problem + other_key)
        previous = raw[-66:-2].decode()
        macs.append(previous)
        if f'"event":"{RECORDS_LOST_EVENT}"'.encode() in raw:
            notes.append(_lost_note(raw, number))
    count = len(macs)
    cut_line_at = None
    if cut:
        if not resuming:
            return _tampered(
                count,
                count + 1,
                "the last record is cut short (no end of line): the run crashed while writing"
                " it, or the log was cut; a resumed run drops it",
            )
        cut_line_at = len(data) - len(cut)
    if isinstance(found_seal, str):
        return _tampered(count, None, found_seal)
    lost = None
    if found_seal is None:
        if count:
            return _tampered(count, None, f"the seal {AUDIT_SEAL_NAME} is missing (deleted)")
    else:
        if not found_seal.signed_by(key):
            return _tampered(
                count, None, f"the seal {AUDIT_SEAL_NAME} was not written with this key{other_key}"
            )
        if found_seal.seq > count:
            on_disk = found_seal.durable <= count and (
                found_seal.durable == 0 or macs[found_seal.durable - 1] == found_seal.durable_head
            )
            if not (resuming and on_disk):
                return _tampered(
                    count,
                    count + 1,
                    f"the log ends at record {count} but its seal covers {found_seal.seq}: records"
                    f" {count + 1} to {found_seal.seq} were removed at the end"
                    + (
                        f" (or lost in a system crash: only the first {found_seal.durable} were known to be on disk)"
                        if on_disk
                        else ""
                    ),
                )
            lost = (count + 1, found_seal.seq)
        elif found_seal.seq and macs[found_seal.seq - 1] != found_seal.head:
            return _tampered(
                count, found_seal.seq, "the record differs from the one the seal names (rewritten)"
            )
        if found_seal.seq < count and not resuming:
            return _tampered(
                count,
                found_seal.seq + 1,
                "the record is not sealed: it was appended after the log was sealed, not written by this run",
            )
    if expected_last_hash is not None and expected_last_hash not in macs:
        return _tampered(
            count,
            None,
            "the last record the run store names is not in the log: records were removed at the end,"
            " or the log was rewritten",
        )
    if count == 0:  # even resuming: a session always wrote its first record before anything else
        return _tampered(0, 1, "the log has no records: a run always writes some (emptied)")
    return AuditVerdict(
        AuditState.INTACT, count, head=previous, cut_line_at=cut_line_at, lost=lost, notes=tuple(notes)
    )


def _record_problem(raw: bytes, number: int, previous: str, key: AuditKey, lines: list[bytes]) -> str | None:
    sealed = unseal(raw)
    if sealed is None:
        if _unseal_unkeyed(raw) is not None:
            return "the record is not keyed (a plain hash in a keyed log): it was not written by this run"
        return "the record has no valid MAC (edited or cut)"
    body, claimed = sealed
    if not hmac.compare_digest(key.mac(body), claimed):
        return (
            "the record was changed after it was written, or forged without the key: it was not written by"
            " this run"
        )
    try:
        record = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "the record is not valid JSON"
    seq = record.get("seq") if isinstance(record, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "the record has no sequence number"
    if seq > number:
        if number in _sequence_numbers(lines[number:]):
            return (
                f"record {seq} is here in place of record {number}, which comes later: records were reordered"
            )
        return f"record {seq} is here in place of record {number}: records {number} to {seq - 1} were removed"
    if seq < number:
        return f"the record is a copy of record {seq}, out of its place (inserted or moved)"
    if record.get("prev") != previous:
        return "the chain breaks here: the record does not follow the one before it (replaced)"
    return None


def _lost_note(raw: bytes, number: int) -> str:
    record = json.loads(raw)
    return (
        f"line {number} says records {record.get('first')} to {record.get('last')} of an earlier session were"
        " lost when the machine stopped (a power cut or a system crash), or cut off before the resume"
    )


def _sequence_numbers(lines: list[bytes]) -> set[int]:
    numbers = set()
    for line in lines:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and isinstance(record.get("seq"), int):
            numbers.add(record["seq"])
    return numbers


def _first_time(line: bytes) -> dt.datetime | None:
    """When a log's first record says it was written."""
    try:
        moment = dt.datetime.fromisoformat(json.loads(line)["at"])
    except (ValueError, KeyError, TypeError):
        return None
    return moment if moment.tzinfo is not None else None


def _key_made_at(key: AuditKey | None) -> dt.datetime | None:
    """When the audit key was made (its file is written once and never changed): no unkeyed log begins later."""
    try:
        path = key.path if key is not None else audit_key_path()
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except (OSError, ValueError):
        return None


def _verify_unkeyed(
    lines: list[bytes], cut: bytes, expected_last_hash: str | None, resuming: bool
) -> AuditVerdict:
    """The older, unkeyed format: a SHA-256 chain, checked as it was, and never called intact."""
    previous = GENESIS
    for number, raw in enumerate(lines, start=1):
        sealed = _unseal_unkeyed(raw)
        if sealed is None:
            return _tampered(number - 1, number, "the record has no valid hash (edited or cut)")
        body, claimed = sealed
        if hashlib.sha256(body).hexdigest() != claimed:
            return _tampered(number - 1, number, "the record was changed after it was written")
        try:
            record = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _tampered(number - 1, number, "the record is not valid JSON")
        if not isinstance(record, dict) or record.get("prev") != previous or record.get("seq") != number:
            return _tampered(
                number - 1, number, "the chain breaks here: a record was removed, inserted or moved before it"
            )
        previous = claimed
    count = len(lines)
    if cut and not resuming:
        return _tampered(count, count + 1, "the last record is cut short (no end of line)")
    if expected_last_hash is not None and previous != expected_last_hash:
        return _tampered(
            count,
            count + 1,
            "the log ends before the last record the run store knows (records removed at the end)",
        )
    return AuditVerdict(
        AuditState.UNKEYED,
        count,
        head=previous,
        cut_line_at=(sum(len(line) + 1 for line in lines) if cut else None),
    )
