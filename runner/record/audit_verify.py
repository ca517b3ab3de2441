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
    data = path.read_bytes()
    seal_path = path.with_name(AUDIT_SEAL_NAME)
    found_seal = read_seal(seal_path)
    lines = data.split(b"\n")
    complete = lines[:-1]  # the part after the last end of line is empty, or a line a crash cut
    cut = lines[-1]
    if complete and unseal_unkeyed(complete[0]) is not None and unseal(complete[0]) is None:
        if found_seal is not None:
            return _tampered(
                0,
                1,
                _(
                    "the log is in the older, unkeyed format but {seal} says it was keyed: it was rebuilt"
                    " without the key"
                ).format(seal=AUDIT_SEAL_NAME),
            )
        verdict = _verify_unkeyed(complete, cut, expected_last_hash, resuming)
        begun = _first_time(complete[0])
        made = _key_made_at(key)
        if verdict.state == AuditState.UNKEYED and begun is not None and made is not None and begun > made:
            return _tampered(
                0,
                1,
                _(
                    "the log is in the older, unkeyed format but it begins at {begun}, after the audit key was"
                    " made ({made}): it was rebuilt without the key"
                ).format(begun=format_moment(begun, labelled=True), made=format_moment(made, labelled=True)),
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
            problem=_(
                "the audit key {path} is not here, so the log's MACs cannot be checked (set {variable} to the"
                " key file of the machine that wrote it)"
            ).format(path=audit_key_path(), variable=AUDIT_KEY_VARIABLE),
        )
    other_key = (
        _(
            " (the seal names key {seal_key}, this machine's key is {key}: verify it with {variable} naming the"
            " key of the machine that wrote it)"
        ).format(seal_key=found_seal.key_id, key=key.key_id, variable=AUDIT_KEY_VARIABLE)
        if isinstance(found_seal, Seal) and found_seal.key_id != key.key_id
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
                _(
                    "the last record is cut short (no end of line): the run crashed while writing"
                    " it, or the log was cut; a resumed run drops it"
                ),
            )
        cut_line_at = len(data) - len(cut)
    if isinstance(found_seal, str):
        return _tampered(count, None, found_seal)
    lost = None
    if found_seal is None:
        if count:
            return _tampered(
                count, None, _("the seal {seal} is missing (deleted)").format(seal=AUDIT_SEAL_NAME)
            )
    else:
        if not found_seal.signed_by(key):
            return _tampered(
                count,
                None,
                _("the seal {seal} was not written with this key{other_key}").format(
                    seal=AUDIT_SEAL_NAME, other_key=other_key
                ),
            )
        if found_seal.seq > count:
            on_disk = found_seal.durable <= count and (
                found_seal.durable == 0 or macs[found_seal.durable - 1] == found_seal.durable_head
            )
            if not (resuming and on_disk):
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
                    ).format(count=count, sealed=found_seal.seq, first=count + 1, durable=found_seal.durable),
                )
            lost = (count + 1, found_seal.seq)
        elif found_seal.seq and macs[found_seal.seq - 1] != found_seal.head:
            return _tampered(
                count, found_seal.seq, _("the record differs from the one the seal names (rewritten)")
            )
        if found_seal.seq < count and not resuming:
            return _tampered(
                count,
                found_seal.seq + 1,
                _(
                    "the record is not sealed: it was appended after the log was sealed, not written by this run"
                ),
            )
    if expected_last_hash is not None and expected_last_hash not in macs:
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
        AuditState.INTACT, count, head=previous, cut_line_at=cut_line_at, lost=lost, notes=tuple(notes)
    )


def _record_problem(raw: bytes, number: int, previous: str, key: AuditKey, lines: list[bytes]) -> str | None:
    sealed = unseal(raw)
    if sealed is None:
        if unseal_unkeyed(raw) is not None:
            return _("the record is not keyed (a plain hash in a keyed log): it was not written by this run")
        return _("the record has no valid MAC (edited or cut)")
    body, claimed = sealed
    if not hmac.compare_digest(key.mac(body), claimed):
        return _(
            "the record was changed after it was written, or forged without the key: it was not written by"
            " this run"
        )
    try:
        record = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _("the record is not valid JSON")
    seq = record.get("seq") if isinstance(record, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool):
        return _("the record has no sequence number")
    if seq > number:
        if number in _sequence_numbers(lines[number:]):
            return _(
                "record {seq} is here in place of record {number}, which comes later: records were reordered"
            ).format(seq=seq, number=number)
        return _(
            "record {seq} is here in place of record {number}: records {number} to {last} were removed"
        ).format(seq=seq, number=number, last=seq - 1)
    if seq < number:
        return _("the record is a copy of record {seq}, out of its place (inserted or moved)").format(seq=seq)
    if record.get("prev") != previous:
        return _("the chain breaks here: the record does not follow the one before it (replaced)")
    return None


def _lost_note(raw: bytes, number: int) -> str:
    record = json.loads(raw)
    return _(
        "line {line} says records {first} to {last} of an earlier session were lost when the machine stopped"
        " (a power cut or a system crash), or cut off before the resume"
    ).format(line=number, first=record.get("first"), last=record.get("last"))


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
        sealed = unseal_unkeyed(raw)
        if sealed is None:
            return _tampered(number - 1, number, _("the record has no valid hash (edited or cut)"))
        body, claimed = sealed
        if hashlib.sha256(body).hexdigest() != claimed:
            return _tampered(number - 1, number, _("the record was changed after it was written"))
        try:
            record = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _tampered(number - 1, number, _("the record is not valid JSON"))
        if not isinstance(record, dict) or record.get("prev") != previous or record.get("seq") != number:
            return _tampered(
                number - 1,
                number,
                _("the chain breaks here: a record was removed, inserted or moved before it"),
            )
        previous = claimed
    count = len(lines)
    if cut and not resuming:
        return _tampered(count, count + 1, _("the last record is cut short (no end of line)"))
    if expected_last_hash is not None and previous != expected_last_hash:
        return _tampered(
            count,
            count + 1,
            _("the log ends before the last record the run store knows (records removed at the end)"),
        )
    return AuditVerdict(
        AuditState.UNKEYED,
        count,
        head=previous,
        cut_line_at=(sum(len(line) + 1 for line in lines) if cut else None),
    )
