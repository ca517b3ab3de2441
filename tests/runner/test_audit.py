"""The hash-chained audit log: what it writes, and that any change to it is found."""

from __future__ import annotations

import json
from pathlib import Path

from runner.audit import GENESIS, AuditLog, verify_audit_log


def write_log(path: Path, count: int = 6) -> str:
    log = AuditLog(path)
    for index in range(count):
        log.append({"event": "step_finished", "index": index, "text": "Numéro d'ordre"})
    log.close()
    return log.last_hash


class TestWriting:
    def test_records_are_chained(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 3)
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert records[0]["prev"] == GENESIS
        assert records[1]["prev"] == records[0]["hash"]
        assert records[2]["text"] == "Numéro d'ordre"

    def test_reopening_continues_the_chain(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 2)
        last = write_log(path, 2)
        assert verify_audit_log(path, last).intact
        assert verify_audit_log(path, last).records == 4

    def test_a_line_cut_by_a_crash_is_dropped_before_appending(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        write_log(path, 2)
        with path.open("ab") as handle:
            handle.write(b'{"seq":3,"prev":"abc","event":"cut')
        last = write_log(path, 1)
        verdict = verify_audit_log(path, last)
        assert verdict.intact and verdict.records == 3


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
        assert "changed" in (verdict.problem or "")

    def test_a_removed_record_is_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        del lines[2]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        verdict = verify_audit_log(path, last)
        assert (verdict.intact, verdict.line) == (False, 3)

    def test_swapped_records_are_found(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[1], lines[2] = lines[2], lines[1]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert verify_audit_log(path, last).line == 2

    def test_records_removed_at_the_end_are_found_with_the_stored_hash(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        last = write_log(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
        assert verify_audit_log(path).intact  # without the stored hash a cut log looks complete…
        verdict = verify_audit_log(path, last)  # …with it, it does not
        assert not verdict.intact and "removed at the end" in (verdict.problem or "")


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
