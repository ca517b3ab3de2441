"""The verification of an audit log: every record's MAC, the chain, the seal and the head the run store keeps.

`verify_audit_log` says whether a log is intact, unkeyed (the older format), tampered with, or uncheckable here
(its key is not this machine's); a resumed run also learns from it where a crash cut the log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from robots.kit import _, format_moment, ngettext
from runner.record.audit_keys import (
    AUDIT_KEY_VARIABLE,
    AUDIT_SEAL_NAME,
    GENESIS,
    RECORDS_LOST_EVENT,
    AuditKey,
    AuditKeyError,
    Seal,
    audit_key_path,
    load_audit_key,
    read_seal,
    unseal,
    unseal_unkeyed,
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
            return ngettext(
                "intact: {n} record, keyed hash chain unbroken and sealed{notes}",
                "intact: {n} records, keyed hash chain unbroken and sealed{notes}",
                self.records,
            ).format(n=self.records, notes=notes)
        if self.state == AuditState.UNKEYED:
            return ngettext(
                "unkeyed (older format): {n} record, hash chain unbroken, but written before audit logs were"
                " keyed: anyone who could write to the run folder and the run store could have rebuilt it",
                "unkeyed (older format): {n} records, hash chain unbroken, but written before audit logs were"
                " keyed: anyone who could write to the run folder and the run store could have rebuilt it",
                self.records,
            ).format(n=self.records)
        state = {AuditState.TAMPERED: _("tampered"), AuditState.UNCHECKABLE: _("uncheckable")}.get(
            self.state, str(self.state)
        )
        if self.line is not None:
            return _("{state}: line {line}: {problem}").format(
                state=state, line=self.line, problem=self.problem
            )
        return _("{state}: {problem}").format(state=state, problem=self.problem)


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
    check = AuditLogCheck(path, expected_last_hash, key=key, resuming=resuming)
    with path.open("rb") as handle:
        for raw in handle:
            check.feed(raw)
    return check.verdict()


class AuditLogCheck:
    """An audit log checked as it is read, a line at a time and in bounded memory: `feed` each line as a binary
    file gives it (with its end of line), then ask `verdict()`. A reader that goes through the log for its own
    purpose (the report) feeds it the lines it reads, so the log is read once; `verify_audit_log` reads it alone.
    """

    def __init__(
        self,
        path: Path,
        expected_last_hash: str | None = None,
        *,
        key: AuditKey | None = None,
        resuming: bool = False,
    ) -> None:
        self.expected_last_hash = expected_last_hash
        self.key = key
        self.resuming = resuming
        self.seal = read_seal(path.with_name(AUDIT_SEAL_NAME))
        self.keyed: bool | None = None  # decided by the first line (the older format is unkeyed)
        self.first_line: bytes | None = None
        self.count = 0  # complete lines checked
        self.offset = 0  # their bytes, ends of line included
        self.cut = b""  # a last line without its end of line
        self.previous = GENESIS
        self.notes: list[str] = []
        self.found: AuditVerdict | None = None  # the first problem: checking stops there
        self.ahead: tuple[int, int, bool] | None = None  # (line, seq it holds, line's own record seen later)
        self.expected_seen = False
        self.macs_at: dict[int, str] = {}  # the MACs at the positions the seal names

    def feed(self, raw: bytes) -> None:
        """One line of the log, with its end of line (the last one may lack it: a crash cut it)."""
        if not raw.endswith(b"\n"):
            self.cut = raw
            return
        line = raw[:-1]
        number = self.count + 1
        if self.keyed is None:
            self._start(line)
        if self.found is not None:
            self._look_ahead(line)
            return
        problem = self._keyed_problem(line, number) if self.keyed else self._unkeyed_problem(line, number)
        if problem is not None:
            self.found = _tampered(number - 1, number, problem)
            return
        self.count = number
        self.offset += len(raw)
        if self.keyed:
            self.previous = line[-66:-2].decode()
            if f'"event":"{RECORDS_LOST_EVENT}"'.encode() in line:
                self.notes.append(_lost_note(line, number))
            if isinstance(self.seal, Seal) and number in (self.seal.seq, self.seal.durable):
                self.macs_at[number] = self.previous
            if self.previous == self.expected_last_hash:
                self.expected_seen = True

    def _start(self, first: bytes) -> None:
        self.first_line = first
        self.keyed = not (unseal_unkeyed(first) is not None and unseal(first) is None)
        if not self.keyed and self.seal is not None:
            self.found = _tampered(
                0,
                1,
                _(
                    "the log is in the older, unkeyed format but {seal} says it was keyed: it was rebuilt"
                    " without the key"
                ).format(seal=AUDIT_SEAL_NAME),
            )
        elif self.keyed:
            self.found = self._load_key()

    def _load_key(self) -> AuditVerdict | None:
        if self.key is None:
            try:
                self.key = load_audit_key()
            except AuditKeyError as exc:
                return AuditVerdict(AuditState.UNCHECKABLE, 0, problem=f"{exc.message} ({exc.hint})")
        if self.key is None:
            return AuditVerdict(
                AuditState.UNCHECKABLE,
                0,
                problem=_(
                    "the audit key {path} is not here, so the log's MACs cannot be checked (set {variable} to the"
                    " key file of the machine that wrote it)"
                ).format(path=audit_key_path(), variable=AUDIT_KEY_VARIABLE),
            )
        return None

    def _other_key(self) -> str:
        if isinstance(self.seal, Seal) and self.key is not None and self.seal.key_id != self.key.key_id:
            return _(
                " (the seal names key {seal_key}, this machine's key is {key}: verify it with {variable} naming the"
                " key of the machine that wrote it)"
            ).format(seal_key=self.seal.key_id, key=self.key.key_id, variable=AUDIT_KEY_VARIABLE)
        return ""

    def _keyed_problem(self, raw: bytes, number: int) -> str | None:
        assert self.key is not None
        problem, seq = _record_problem(raw, number, self.previous, self.key)
        if seq is not None:  # later lines tell whether the record was moved or removed
            self.ahead = (number, seq, False)
        return None if problem is None else problem + self._other_key()

    def _unkeyed_problem(self, raw: bytes, number: int) -> str | None:
        sealed = unseal_unkeyed(raw)
        if sealed is None:
            return _("the record has no valid hash (edited or cut)")
        body, claimed = sealed
        if hashlib.sha256(body).hexdigest() != claimed:
            return _("the record was changed after it was written")
        try:
            record = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _("the record is not valid JSON")
        if not isinstance(record, dict) or record.get("prev") != self.previous or record.get("seq") != number:
            return _("the chain breaks here: a record was removed, inserted or moved before it")
        self.previous = claimed
        return None

    def _look_ahead(self, line: bytes) -> None:
        if self.ahead is None or self.ahead[2]:
            return
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        if isinstance(record, dict) and record.get("seq") == self.ahead[0]:
            self.ahead = (self.ahead[0], self.ahead[1], True)

    def verdict(self) -> AuditVerdict:
        """What the lines fed say of the log."""
        if self.keyed is None:  # no complete line: checked as a keyed log (which always has records)
            self.keyed = True
            self.found = self._load_key()
        if self.found is not None:
            if self.ahead is not None:
                number, seq, moved = self.ahead
                problem = (
                    _(
                        "record {seq} is here in place of record {number}, which comes later: records were"
                        " reordered"
                    ).format(seq=seq, number=number)
                    if moved
                    else _(
                        "record {seq} is here in place of record {number}: records {number} to {last} were removed"
                    ).format(seq=seq, number=number, last=seq - 1)
                )
                return _tampered(number - 1, number, problem + self._other_key())
            return self.found
        return self._keyed_verdict() if self.keyed else self._unkeyed_verdict()

    def _unkeyed_verdict(self) -> AuditVerdict:
        count = self.count
        if self.cut and not self.resuming:
            return _tampered(count, count + 1, _("the last record is cut short (no end of line)"))
        if self.expected_last_hash is not None and self.previous != self.expected_last_hash:
            return _tampered(
                count,
                count + 1,
                _("the log ends before the last record the run store knows (records removed at the end)"),
            )
        begun = _first_time(self.first_line) if self.first_line is not None else None
        made = _key_made_at(self.key)
        if begun is not None and made is not None and begun > made:
            return _tampered(
                0,
                1,
                _(
                    "the log is in the older, unkeyed format but it begins at {begun}, after the audit key was"
                    " made ({made}): it was rebuilt without the key"
                ).format(begun=format_moment(begun, labelled=True), made=format_moment(made, labelled=True)),
            )
        return AuditVerdict(
            AuditState.UNKEYED, count, head=self.previous, cut_line_at=(self.offset if self.cut else None)
        )

    def _keyed_verdict(self) -> AuditVerdict:
        count, seal, other_key = self.count, self.seal, self._other_key()
        cut_line_at = None
        if self.cut:
            if not self.resuming:
                return _tampered(
                    count,
                    count + 1,
                    _(
                        "the last record is cut short (no end of line): the run crashed while writing"
                        " it, or the log was cut; a resumed run drops it"
                    ),
                )
            cut_line_at = self.offset
        if isinstance(seal, str):
            return _tampered(count, None, seal)
        lost = None
        if seal is None:
            if count:
                return _tampered(
                    count, None, _("the seal {seal} is missing (deleted)").format(seal=AUDIT_SEAL_NAME)
                )
        else:
            assert self.key is not None
            if not seal.signed_by(self.key):
                return _tampered(
                    count,
                    None,
                    _("the seal {seal} was not written with this key{other_key}").format(
                        seal=AUDIT_SEAL_NAME, other_key=other_key
                    ),
                )
            if seal.seq > count:
                on_disk = seal.durable <= count and (
                    seal.durable == 0 or self.macs_at.get(seal.durable) == seal.durable_head
                )
                if not (self.resuming and on_disk):
                    return _tampered(
                        count,
                        count + 1,
                        (
                            _(
                                "the log ends at record {count} but its seal covers {sealed}: records {first} to"
                                " {sealed} were removed at the end (or lost in a system crash: only the first"
                                " {durable} were known to be on disk)"
                            )
                            if on_disk
                            else _(
                                "the log ends at record {count} but its seal covers {sealed}: records {first} to"
                                " {sealed} were removed at the end"
                            )
                        ).format(count=count, sealed=seal.seq, first=count + 1, durable=seal.durable),
                    )
                lost = (count + 1, seal.seq)
            elif seal.seq and self.macs_at.get(seal.seq) != seal.head:
                return _tampered(
                    count, seal.seq, _("the record differs from the one the seal names (rewritten)")
                )
            if seal.seq < count and not self.resuming:
                return _tampered(
                    count,
                    seal.seq + 1,
                    _(
                        "the record is not sealed: it was appended after the log was sealed, not written by this"
                        " run"
                    ),
                )
        if self.expected_last_hash is not None and not self.expected_seen:
            return _tampered(
                count,
                None,
                _(
                    "the last record the run store names is not in the log: records were removed at the end,"
                    " or the log was rewritten"
                ),
            )
        if count == 0:  # even resuming: a session always wrote its first record before anything else
            return _tampered(0, 1, _("the log has no records: a run always writes some (emptied)"))
        return AuditVerdict(
            AuditState.INTACT,
            count,
            head=self.previous,
            cut_line_at=cut_line_at,
            lost=lost,
            notes=tuple(self.notes),
        )


def _record_problem(raw: bytes, number: int, previous: str, key: AuditKey) -> tuple[str | None, int | None]:
    """What is wrong with a keyed record, if anything; and the sequence number it holds when that is a later one."""
    sealed = unseal(raw)
    if sealed is None:
        if unseal_unkeyed(raw) is not None:
            return (
                _("the record is not keyed (a plain hash in a keyed log): it was not written by this run"),
                None,
            )
        return _("the record has no valid MAC (edited or cut)"), None
    body, claimed = sealed
    if not hmac.compare_digest(key.mac(body), claimed):
        return _(
            "the record was changed after it was written, or forged without the key: it was not written by"
            " this run"
        ), None
    try:
        record = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _("the record is not valid JSON"), None
    seq = record.get("seq") if isinstance(record, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool):
        return _("the record has no sequence number"), None
    if seq > number:
        return _("record {seq} is here in place of record {number}").format(seq=seq, number=number), seq
    if seq < number:
        return _("the record is a copy of record {seq}, out of its place (inserted or moved)").format(
            seq=seq
        ), None
    if record.get("prev") != previous:
        return _("the chain breaks here: the record does not follow the one before it (replaced)"), None
    return None, None


def _lost_note(raw: bytes, number: int) -> str:
    record = json.loads(raw)
    return _(
        "line {line} says records {first} to {last} of an earlier session were lost when the machine stopped"
        " (a power cut or a system crash), or cut off before the resume"
    ).format(line=number, first=record.get("first"), last=record.get("last"))


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
