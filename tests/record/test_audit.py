"""The keyed, hash-chained audit log: what it writes, where its key lives, and that any change to it is found."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from runner.events import ItemEffect, ItemFinished, ItemStarted, LogMessage, StepFinished, StepStarted
from runner.record import (
    AUDIT_KEY_VARIABLE,
    AUDIT_SEAL_NAME,
    GENESIS,
    AuditKeyError,
    AuditLog,
    AuditLogRefused,
    AuditState,
    audit_key_path,
    load_audit_key,
    verify_audit_log,
)


def write_log(path: Path, count: int = 6) -> str:
    log = AuditLog(path)
    for index in range(count):
        log.append({"event": "step_finished", "index": index, "text": "Numéro d'ordre"})
    log.close()
    return log.last_hash


def unkeyed_log(path: Path, count: int) -> str:
    """A log as Rob'O wrote them before the key: each line ends with a plain SHA-256 `hash`."""
    previous, lines = GENESIS, []
    for seq in range(1, count + 1):
        body = json.dumps({"seq": seq, "prev": previous, "event": "log", "message": f"n°{seq}"}).encode()
        previous = hashlib.sha256(body).hexdigest()
        lines.append(body[:-1] + b',"hash":"' + previous.encode() + b'"}\n')
    path.write_bytes(b"".join(lines))
    return previous


class TestWriting:
    def test_records_are_chained_with_a_keyed_mac(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 3)
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert records[0]["prev"] == GENESIS
        assert records[1]["prev"] == records[0]["mac"]
        assert records[2]["text"] == "Numéro d'ordre"
        body = path.read_bytes().splitlines()[0].rsplit(b',"mac"', 1)[0] + b"}"
        assert records[0]["mac"] != hashlib.sha256(body).hexdigest()  # not computable without the key

    def test_the_head_is_sealed_beside_the_log(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path, 3)
        seal = json.loads((tmp_path / AUDIT_SEAL_NAME).read_bytes())
        assert (seal["seq"], seal["head"]) == (3, last)

    def test_reopening_continues_the_chain(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        first = write_log(path, 2)
        log = AuditLog(path, stored_head=first)
        log.append({"event": "log"})
        log.close()
        verdict = verify_audit_log(path, log.last_hash)
        assert verdict.intact and verdict.records == 3

    def test_a_line_cut_by_a_crash_is_dropped_before_appending(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 2)
        with path.open("ab") as handle:
            handle.write(b'{"seq":3,"prev":"abc","event":"cut')
        last = write_log(path, 1)
        verdict = verify_audit_log(path, last)
        assert verdict.intact and verdict.records == 3

    def test_a_damaged_line_before_the_end_is_not_cut_away_and_the_log_is_refused(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 5)
        lines = path.read_bytes().splitlines(keepends=True)
        lines[2] = (
            lines[2][:40] + b"\n"
        )  # the old writer cut the log here and chained on as if nothing happened
        path.write_bytes(b"".join(lines))
        with pytest.raises(AuditLogRefused, match="fails verification"):
            AuditLog(path)
        assert path.read_bytes() == b"".join(lines)
        assert verify_audit_log(path).line == 3

    def test_a_last_line_cut_inside_the_sealed_records_is_not_dropped(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 4)
        path.write_bytes(path.read_bytes()[:-1])  # the end of line of record 4, which the seal covers
        with pytest.raises(AuditLogRefused, match="records 4 to 4 were removed"):
            AuditLog(path)

    def test_an_emptied_or_deleted_log_is_not_begun_again(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 3)
        (tmp_path / AUDIT_SEAL_NAME).unlink()
        path.write_bytes(b"")
        with pytest.raises(AuditLogRefused, match="the log has no records"):
            AuditLog(path, continuing=True)
        path.unlink()
        with pytest.raises(AuditLogRefused, match="is missing, but the run wrote one"):
            AuditLog(path, continuing=True)
        assert not path.exists()

    def test_records_a_system_crash_lost_after_the_last_durable_point_are_recorded_as_lost(
        self, tmp_path: Path
    ) -> None:
        path, seal = tmp_path / "audit.jsonl", tmp_path / AUDIT_SEAL_NAME
        log = AuditLog(path, fsync=False)
        for index in range(5):  # records 1 to 3 reach the disk (an item's end), not 4 and 5
            log.append({"event": "log", "index": index}, durable=index == 2)
        at_the_crash = path.read_bytes().splitlines(keepends=True), seal.read_bytes()
        log.close()
        lines, sealed = at_the_crash
        path.write_bytes(b"".join(lines[:4]))  # the disk kept the seal of record 5, the log up to record 4
        seal.write_bytes(sealed)
        verdict = verify_audit_log(path)
        assert (verdict.intact, verdict.line) == (False, 5) and "or lost in a system crash" in str(verdict)
        resumed = AuditLog(path)
        resumed.close()
        records = [json.loads(line) for line in path.read_bytes().splitlines()]
        assert records[-1]["event"] == "audit_records_lost" and (
            records[-1]["first"],
            records[-1]["last"],
        ) == (5, 5)
        verdict = verify_audit_log(path)
        assert verdict.intact and "line 5 says records 5 to 5 of an earlier session were lost" in str(verdict)

    def test_records_on_disk_before_a_crash_cannot_be_cut_away(self, tmp_path: Path) -> None:
        path, seal = tmp_path / "audit.jsonl", tmp_path / AUDIT_SEAL_NAME
        log = AuditLog(path, fsync=False)
        for index in range(5):
            log.append({"event": "log", "index": index}, durable=index == 2)
        at_the_crash = path.read_bytes().splitlines(keepends=True), seal.read_bytes()
        log.close()
        path.write_bytes(b"".join(at_the_crash[0][:2]))
        seal.write_bytes(at_the_crash[1])
        with pytest.raises(AuditLogRefused, match="records 3 to 5 were removed at the end"):
            AuditLog(path)


class TestKey:
    def test_the_key_is_created_at_first_use_readable_by_its_owner_only(
        self, tmp_path: Path, audit_key_file: Path
    ) -> None:
        assert not audit_key_file.exists()
        write_log(tmp_path / "audit.jsonl", 1)
        assert stat.S_IMODE(audit_key_file.stat().st_mode) == 0o600
        assert len(bytes.fromhex(audit_key_file.read_text(encoding="ascii"))) == 32

    def test_verifying_never_creates_a_key(self, tmp_path: Path, audit_key_file: Path) -> None:
        write_log(tmp_path / "audit.jsonl", 1)
        audit_key_file.unlink()
        verdict = verify_audit_log(tmp_path / "audit.jsonl")
        assert verdict.state == AuditState.UNCHECKABLE and str(audit_key_file) in str(verdict)
        assert not audit_key_file.exists()

    def test_runs_starting_together_agree_on_one_key(self, audit_key_file: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: load_audit_key(create=True), range(16)))
        assert len({key.secret for key in keys if key is not None}) == 1
        assert [path.name for path in audit_key_file.parent.iterdir()] == ["audit.key"]

    def test_a_key_others_can_read_is_refused(self, tmp_path: Path, audit_key_file: Path) -> None:
        write_log(tmp_path / "audit.jsonl", 1)
        os.chmod(audit_key_file, 0o644)
        with pytest.raises(AuditKeyError, match="can be read by other users"):
            load_audit_key()

    def test_where_the_key_is_by_default(self, tmp_path: Path) -> None:
        assert audit_key_path({AUDIT_KEY_VARIABLE: str(tmp_path / "k")}) == tmp_path / "k"
        assert audit_key_path({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "robo" / "audit.key"
        if os.geteuid() == 0:
            assert audit_key_path({}) == Path("/var/lib/robo/audit.key")
        else:
            assert audit_key_path({}) == Path.home() / ".local/state/robo/audit.key"

    def test_a_log_written_with_another_key_names_both_keys(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 2)
        monkeypatch.setenv(AUDIT_KEY_VARIABLE, str(tmp_path / "other.key"))
        load_audit_key(create=True)
        verdict = verify_audit_log(path)
        assert (verdict.state, verdict.line) == (AuditState.TAMPERED, 1)
        assert "the seal names key" in str(verdict) and AUDIT_KEY_VARIABLE in str(verdict)


class TestVerification:
    def test_intact(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        verdict = verify_audit_log(path, last)
        assert verdict.intact
        assert str(verdict).startswith("intact: 6 records")

    def test_an_edited_record_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[3] = lines[3].replace('"index":3', '"index":9')
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        verdict = verify_audit_log(path, last)
        assert (verdict.intact, verdict.line) == (False, 4)
        assert "changed after it was written" in (verdict.problem or "")

    def test_a_removed_record_is_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        del lines[2]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        verdict = verify_audit_log(path, last)
        assert (verdict.intact, verdict.line) == (False, 3)
        assert "records 3 to 3 were removed" in (verdict.problem or "")

    def test_swapped_records_are_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[1], lines[2] = lines[2], lines[1]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        verdict = verify_audit_log(path, last)
        assert verdict.line == 2 and "reordered" in (verdict.problem or "")

    def test_records_removed_at_the_end_are_found_with_the_seal_alone(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
        verdict = verify_audit_log(path)  # no run store: the seal is the anchor
        assert (verdict.intact, verdict.line) == (False, 5)
        assert "records 5 to 6 were removed at the end" in (verdict.problem or "")

    def test_an_appended_forgery_is_not_written_by_this_run_not_removed_records(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path, 3)
        body = json.dumps({"seq": 4, "prev": last, "event": "item_marked", "by": "mallory"}).encode()
        forged = body[:-1] + b',"mac":"' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'
        path.write_bytes(path.read_bytes() + forged)
        verdict = verify_audit_log(path, last)
        assert (verdict.intact, verdict.line) == (False, 4)
        assert "not written by this run" in (verdict.problem or "")
        assert "removed" not in (verdict.problem or "")

    def test_a_record_appended_after_the_seal_is_not_sealed(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 3)
        seal = (tmp_path / AUDIT_SEAL_NAME).read_bytes()
        write_log(path, 1)  # written with the key, then the old seal put back
        (tmp_path / AUDIT_SEAL_NAME).write_bytes(seal)
        verdict = verify_audit_log(path)
        assert (verdict.intact, verdict.line) == (False, 4) and "not sealed" in (verdict.problem or "")

    def test_a_chain_rebuilt_without_the_key_is_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 3)
        previous, lines = GENESIS, []
        for line in path.read_bytes().splitlines():
            record = json.loads(line)
            del record["mac"]
            record["prev"], record["text"] = previous, "réécrit"
            body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
            previous = hashlib.sha256(body).hexdigest()
            lines.append(body[:-1] + b',"mac":"' + previous.encode() + b'"}\n')
        path.write_bytes(b"".join(lines))
        verdict = verify_audit_log(path, previous)
        assert (verdict.intact, verdict.line) == (False, 1)

    def test_a_removed_seal_is_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path, 3)
        (tmp_path / AUDIT_SEAL_NAME).unlink()
        verdict = verify_audit_log(path, last)
        assert not verdict.intact and "seal audit.seal is missing" in (verdict.problem or "")

    def test_an_older_unkeyed_log_is_read_and_said_to_be_unkeyed(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = unkeyed_log(path, 4)
        verdict = verify_audit_log(path, last)
        assert verdict.state == AuditState.UNKEYED and not verdict.intact
        assert str(verdict).startswith("unkeyed (older format): 4 records, hash chain unbroken")
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:2] + lines[3:]))
        assert verify_audit_log(path, last).state == AuditState.TAMPERED

    def test_an_unkeyed_log_begun_after_the_key_was_made_is_a_rebuild(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 2)  # the key exists from now on
        body = json.dumps(
            {"seq": 1, "prev": GENESIS, "event": "run_started", "at": "2099-01-01T00:00:00+00:00"}
        )
        digest = hashlib.sha256(body.encode()).hexdigest()
        path.write_text(body[:-1] + f',"hash":"{digest}"}}\n', encoding="utf-8")
        (tmp_path / AUDIT_SEAL_NAME).unlink()
        verdict = verify_audit_log(path, digest)
        assert (verdict.state, verdict.line) == (AuditState.TAMPERED, 1)
        assert "after the audit key was made" in (verdict.problem or "")


class TestUnencodableText:
    def test_a_lone_surrogate_is_recorded_as_a_replacement_character_and_the_chain_holds(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "audit.jsonl"
        log = AuditLog(path, fsync=False)
        log.append({"event": "log", "message": "avant"})
        log.append({"event": "log", "message": "nom: Bo\ud800b"})
        log.append({"event": "log", "message": "après"})
        log.close()
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert records[1]["message"] == "nom: Bo\ufffdb"
        assert verify_audit_log(path, log.last_hash).intact


class TestWrittenAtItemBoundaries:
    """A step's records wait for the next record about an item, a change, a failure or a message; the log is
    fsynced after an item that changed something, at most every SYNC_INTERVAL otherwise."""

    RUN = "r1"

    def _step(self, log: AuditLog, number: int, error: dict[str, str] | None = None) -> None:
        log.handle(
            StepStarted(
                run_id=self.RUN,
                step=f"s{number}",
                name="Saisir",
                action="data.set",
                file="w.yaml",
                line=1,
                col=1,
            )
        )
        log.handle(
            StepFinished(
                run_id=self.RUN,
                step=f"s{number}",
                name="Saisir",
                status="failed" if error else "succeeded",
                duration=0.0,
                error=error,
            )
        )

    def _on_disk(self, path: Path) -> list[str]:
        return [json.loads(line)["event"] for line in path.read_bytes().splitlines()]

    def test_step_records_wait_and_a_crash_leaves_a_log_that_verifies(self, tmp_path: Path) -> None:
        path, seal = tmp_path / "audit.jsonl", tmp_path / AUDIT_SEAL_NAME
        log = AuditLog(path, fsync=False)
        log.handle(ItemStarted(run_id=self.RUN, loop="l", key="A", index=0))
        self._step(log, 1)
        self._step(log, 2)
        assert self._on_disk(path) == ["item_started"]
        at_the_crash = path.read_bytes(), seal.read_bytes()  # killed now: what the disk holds
        log.handle(ItemFinished(run_id=self.RUN, loop="l", key="A", index=0, status="done", duration=0.0))
        assert self._on_disk(path) == [
            "item_started",
            *["step_started", "step_finished"] * 2,
            "item_finished",
        ]
        log.close()
        path.write_bytes(at_the_crash[0])
        seal.write_bytes(at_the_crash[1])
        verdict = verify_audit_log(path)
        assert verdict.state == AuditState.INTACT and verdict.records == 1
        AuditLog(path, continuing=True).close()  # the resumed session goes on from there
        assert verify_audit_log(path).intact

    @pytest.mark.parametrize(
        "then",
        ["a change about to be made", "a failed step", "a message", "the end"],
    )
    def test_what_a_crash_must_not_lose_writes_the_waiting_records_first(
        self, tmp_path: Path, then: str
    ) -> None:
        path = tmp_path / "audit.jsonl"
        log = AuditLog(path, fsync=False)
        log.handle(ItemStarted(run_id=self.RUN, loop="l", key="A", index=0))
        self._step(log, 1)
        if then == "a change about to be made":
            log.handle(
                ItemEffect(
                    run_id=self.RUN,
                    loop="l",
                    key="A",
                    step="s2",
                    name="Envoyer",
                    action="browser.click",
                    state="started",
                )
            )
        elif then == "a failed step":
            self._step(log, 2, error={"message": "refusé"})
        elif then == "a message":
            log.handle(LogMessage(run_id=self.RUN, level="info", message="bonjour"))
        else:
            log.close()
        assert self._on_disk(path)[:3] == ["item_started", "step_started", "step_finished"]
        assert len(self._on_disk(path)) == log._seq
        log.close()
        assert verify_audit_log(path).intact

    def test_an_item_that_changed_something_is_made_durable_one_that_did_not_waits(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("runner.record.audit.SYNC_INTERVAL", 3600.0)
        path, seal = tmp_path / "audit.jsonl", tmp_path / AUDIT_SEAL_NAME
        log = AuditLog(path)
        log.handle(ItemStarted(run_id=self.RUN, loop="l", key="A", index=0))
        log.handle(ItemFinished(run_id=self.RUN, loop="l", key="A", index=0, status="done", duration=0.0))
        sealed = json.loads(seal.read_bytes())
        assert (sealed["seq"], sealed["durable"]) == (2, 0)
        log.handle(ItemStarted(run_id=self.RUN, loop="l", key="B", index=1))
        log.handle(
            ItemEffect(
                run_id=self.RUN,
                loop="l",
                key="B",
                step="s",
                name="Envoyer",
                action="browser.click",
                state="done",
            )
        )
        log.handle(ItemFinished(run_id=self.RUN, loop="l", key="B", index=1, status="done", duration=0.0))
        sealed = json.loads(seal.read_bytes())
        assert (sealed["seq"], sealed["durable"]) == (5, 5)
        log.close()

    def test_many_step_records_do_not_wait_without_bound(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        log = AuditLog(path, fsync=False)
        for number in range(1000):
            self._step(log, number)
        assert len(self._on_disk(path)) >= 1000  # most of the 2 000 records
        log.close()
