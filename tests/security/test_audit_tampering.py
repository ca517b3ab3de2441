"""A thousand random tamperings of an audit log, as someone who can write to the run folder and the run store
but does not hold the audit key would make them: each is found by `verify_audit_log`, which names the first bad
record, and still found after a resume tried to append to the log (it refuses, leaving the log as it was)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.record import (
    AUDIT_LOG_NAME,
    AUDIT_SEAL_NAME,
    AuditLog,
    AuditLogRefused,
    AuditState,
    AuditVerdict,
    RunStore,
    default_store_url,
    verify_audit_log,
)
from runner.run import RunOptions, run_workflow
from tests.running import robo_process
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 24
ATTACKER_KEY = b"not the audit key, but a key all the same"
SECRET = 'Sp&ci"al<Q> é\\z+@/!9'


@dataclass
class Evidence:
    """What an attacker can change: the log's lines, its seal file, the head the run store keeps."""

    lines: list[bytes]
    seal: bytes | None
    head: str | None


def make_log(folder: Path) -> Evidence:
    log = AuditLog(folder / AUDIT_LOG_NAME, fsync=False)
    at = dt.datetime.now(dt.UTC).isoformat()
    log.append(
        {"event": "run_started", "run_id": "20261130-120000-abcdef", "at": at, "inputs": {"n": SECRET}}
    )
    for index in range(RECORDS - 1):
        log.append({"event": "step_finished", "at": at, "index": index, "name": f"Étape {index}"})
    log.close()
    return Evidence(
        (folder / AUDIT_LOG_NAME).read_bytes().splitlines(keepends=True),
        (folder / AUDIT_SEAL_NAME).read_bytes(),
        log.last_hash,
    )


# --- an attacker's tools: they know the format, not the key ---------------------------------------------------


def fields(line: bytes) -> dict[str, object]:
    record: dict[str, object] = json.loads(line)
    record.pop("mac", None)
    record.pop("hash", None)
    return record


def forge(record: dict[str, object], how: str) -> tuple[bytes, str]:
    """A record's line signed without the audit key: a plain SHA-256, an HMAC under another key or an empty one,
    or the older unkeyed format."""
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    if how == "other-key":
        digest = hmac.new(ATTACKER_KEY, body, hashlib.sha256).hexdigest()
    elif how == "empty-key":
        digest = hmac.new(b"", body, hashlib.sha256).hexdigest()
    else:
        digest = hashlib.sha256(body).hexdigest()
    name = b"hash" if how == "unkeyed" else b"mac"
    return body[:-1] + b',"' + name + b'":"' + digest.encode() + b'"}\n', digest


def rechain(lines: list[bytes], start: int, how: str) -> tuple[list[bytes], str]:
    """The lines from `start` on renumbered and chained again, as well as one can without the key."""
    out = list(lines[:start])
    previous = json.loads(lines[start - 1])["mac"] if start else "0" * 64
    for number, line in enumerate(lines[start:], start=start + 1):
        record = fields(line)
        record["seq"], record["prev"] = number, previous
        forged, previous = forge(record, how)
        out.append(forged)
    return out, previous


def forged_seal(seq: int, head: str) -> bytes:
    """A seal in the right form, signed with a key that is not the audit key."""
    signed = b"robo-audit-seal\0%d\0%s\0%d\0%s" % (seq, head.encode(), seq, head.encode())
    mac = hmac.new(ATTACKER_KEY, signed, hashlib.sha256).hexdigest()
    fields = {"seq": seq, "head": head, "durable": seq, "durable_head": head, "key": "0123456789abcdef"}
    return json.dumps(fields | {"mac": mac}).encode()


def edited(line: bytes, rng: random.Random) -> bytes:
    record: dict[str, object] = json.loads(line)
    name = rng.choice([k for k in record if k != "mac"])
    value = record[name]
    if isinstance(value, bool):
        record[name] = not value
    elif isinstance(value, int | float):
        record[name] = value + rng.choice([1, -1, 0.5])
    elif isinstance(value, str):
        record[name] = value[:-1] + ("x" if not value.endswith("x") else "y") if value else "x"
    else:
        record[name] = {"changed": True}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


KINDS = [
    "edit",
    "flip-byte",
    "edit-and-resign",
    "delete",
    "swap",
    "insert-copy",
    "insert-forged",
    "append-forged",
    "cut-tail",
    "rebuild-without-key",
    "rebuild-unkeyed",
    "edit-seal",
    "edit-store-head",
]


def tamper(original: Evidence, kind: str, rng: random.Random) -> Evidence:
    lines, seal, head = list(original.lines), original.seal, original.head
    n = len(lines)
    index = rng.randrange(n)
    how = rng.choice(["sha256", "other-key", "empty-key", "unkeyed"])
    if kind == "edit":
        lines[index] = edited(lines[index], rng)
    elif kind == "flip-byte":
        line = bytearray(lines[index])
        position = rng.randrange(len(line) - 1)  # the end of line stays
        line[position] = rng.choice([b for b in range(32, 127) if b != line[position]])
        lines[index] = bytes(line)
    elif kind == "edit-and-resign":  # and the rest of the chain after it, and the seal and the store
        lines[index] = edited(lines[index], rng)
        lines, head = rechain(lines, index, how)
        seal = forged_seal(n, head) if rng.random() < 0.5 else seal
    elif kind == "delete":
        del lines[index]
        if rng.random() < 0.5:
            lines, head = rechain(lines, index, how) if index < n - 1 else (lines, head)
    elif kind == "swap":
        other = rng.choice([i for i in range(n) if i != index])
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "insert-copy":
        lines.insert(rng.randrange(n + 1), lines[index])
    elif kind == "insert-forged":
        record = fields(lines[index]) | {"event": "log", "message": "forged"}
        lines.insert(index, forge(record, how)[0])
        lines, head = rechain(lines, index, how)
    elif kind == "append-forged":
        record = {"seq": n + 1, "prev": json.loads(lines[-1])["mac"], "event": "item_marked", "by": "mallory"}
        appended, mac = forge(record, how)
        lines.append(appended)
        choice = rng.choice(["seal-kept", "seal-forged", "seal-edited", "seal-deleted"])
        if choice == "seal-forged":
            seal = forged_seal(n + 1, mac)
        elif choice == "seal-edited" and seal is not None:
            data = json.loads(seal)
            seal = json.dumps(data | {"seq": n + 1, "head": mac}).encode()
        elif choice == "seal-deleted":
            seal = None
        head = mac if rng.random() < 0.5 else head
    elif kind == "cut-tail":
        keep = rng.randrange(n)
        cut = lines[keep][: rng.randrange(len(lines[keep]))] if rng.random() < 0.3 else b""
        lines = lines[:keep] + ([cut] if cut else [])
        choice = rng.choice(["seal-kept", "seal-deleted", "seal-edited", "seal-forged"])
        last = json.loads(lines[keep - 1])["mac"] if keep else "0" * 64
        if choice == "seal-deleted":
            seal = None
        elif choice == "seal-edited" and seal is not None:
            seal = json.dumps(json.loads(seal) | {"seq": keep, "head": last}).encode()
        elif choice == "seal-forged":
            seal = forged_seal(keep, last)
        head = last if rng.random() < 0.5 else None
    elif kind == "rebuild-without-key":
        how = rng.choice(["sha256", "other-key", "empty-key"])
        lines, head = rechain([edited(line, rng) if rng.random() < 0.2 else line for line in lines], 0, how)
        seal = rng.choice([forged_seal(len(lines), head), None, seal])
    elif kind == "rebuild-unkeyed":  # passed off as a log of the older format
        lines, head = rechain(
            [edited(line, rng) if rng.random() < 0.2 else line for line in lines], 0, "unkeyed"
        )
        seal = None if rng.random() < 0.7 else seal
    elif kind == "edit-seal":
        assert seal is not None
        choice = rng.choice(["flip", "seq", "deleted", "emptied"])
        if choice == "flip":
            raw = bytearray(seal.rstrip())
            position = rng.randrange(len(raw))
            raw[position] = rng.choice([b for b in range(32, 127) if b != raw[position]])
            seal = bytes(raw)
        elif choice == "seq":
            data = json.loads(seal)
            seal = json.dumps(data | {"seq": data["seq"] + rng.choice([-3, -1, 1, 5])}).encode()
        else:
            seal = None if choice == "deleted" else b""
    else:
        assert kind == "edit-store-head"
        head = rng.choice([hashlib.sha256(rng.randbytes(8)).hexdigest(), "0" * 64, "f" * 64])
    return Evidence(lines, seal, head)


def first_difference(original: list[bytes], tampered: list[bytes]) -> int | None:
    """The number of the first record that is not as it was written (None when only the seal or store changed)."""
    for number, (was, now) in enumerate(zip(original, tampered, strict=False), start=1):
        if was != now:
            return number
    if len(tampered) != len(original):
        return min(len(original), len(tampered)) + 1
    return None


def write(folder: Path, evidence: Evidence) -> Path:
    path = folder / AUDIT_LOG_NAME
    path.write_bytes(b"".join(evidence.lines))
    (folder / AUDIT_SEAL_NAME).unlink(missing_ok=True)
    if evidence.seal is not None:
        (folder / AUDIT_SEAL_NAME).write_bytes(evidence.seal)
    return path


def assert_found(verdict: AuditVerdict, kind: str, expected_line: int | None, context: str) -> None:
    assert not verdict.intact, f"{context}: {kind} not found"
    if verdict.state == AuditState.UNKEYED:
        assert kind == "rebuild-unkeyed", f"{context}: {kind} passed off as an older log"
        assert str(verdict).startswith("unkeyed (older format)")
        return
    assert verdict.state == AuditState.TAMPERED and verdict.problem, f"{context}: {verdict}"
    if verdict.line is not None and expected_line is not None:
        assert verdict.line == expected_line, (
            f"{context}: {kind}: {verdict} (first change at {expected_line})"
        )
    if kind == "append-forged" and verdict.line == expected_line:
        assert "removed" not in (verdict.problem or ""), f"{context}: {verdict}"
        assert "not written by this run" in (verdict.problem or "") or "not sealed" in (verdict.problem or "")


class TestRandomTamperings:
    def test_a_thousand_random_tamperings_are_each_found_before_and_after_a_resume(
        self, tmp_path: Path
    ) -> None:
        source, target = tmp_path / "written", tmp_path / "tampered"
        source.mkdir()
        target.mkdir()
        original = make_log(source)
        rng = random.Random(20261130)
        seen: dict[str, int] = dict.fromkeys(KINDS, 0)
        for trial in range(1000):
            kind = KINDS[trial % len(KINDS)]
            evidence = tamper(original, kind, rng)
            assert evidence != original, f"trial {trial}: {kind} changed nothing"
            path = write(target, evidence)
            expected_line = first_difference(original.lines, evidence.lines)
            before = verify_audit_log(path, evidence.head)
            assert_found(before, kind, expected_line, f"trial {trial}, before a resume")
            written = path.read_bytes()
            try:
                AuditLog(path, fsync=False, stored_head=evidence.head, continuing=True).close()
            except AuditLogRefused as refusal:
                assert "fails verification" in refusal.message
                assert path.read_bytes() == written  # kept as evidence, not even the cut line dropped
            else:
                assert before.state == AuditState.UNKEYED  # an older log goes on in its own format…
            after = verify_audit_log(path, evidence.head)
            assert_found(after, kind, expected_line, f"trial {trial}, after a resume")  # …and is never intact
            seen[kind] += 1
        assert min(seen.values()) >= 1000 // len(KINDS)

    def test_the_untouched_log_is_intact_and_a_resume_goes_on_with_it(self, tmp_path: Path) -> None:
        original = make_log(tmp_path)
        verdict = verify_audit_log(tmp_path / AUDIT_LOG_NAME, original.head)
        assert verdict.intact and verdict.records == RECORDS
        log = AuditLog(tmp_path / AUDIT_LOG_NAME, fsync=False, stored_head=original.head, continuing=True)
        log.append({"event": "log", "message": "resumed"})
        log.close()
        assert verify_audit_log(tmp_path / AUDIT_LOG_NAME, log.last_hash).records == RECORDS + 1


# --- real `robo run --resume` processes on a tampered log ------------------------------------------------------

WORKFLOW = """\
name: Audit repris
steps:
  - for_each: [a, b, c]
    key: item
    steps:
      - fail: "refusé {{ item }}"
        when: item == 'b'
"""


def robo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return robo_process(*args, cwd=cwd)


def first_run(tmp_path: Path) -> tuple[str, Path, str]:
    (tmp_path / "repris.yaml").write_text(WORKFLOW, encoding="utf-8")
    outcome = run_workflow(tmp_path / "repris.yaml", RunOptions(logs_dir=tmp_path / "logs", environ={}))
    assert outcome.status == "completed_with_errors" and outcome.run_id and outcome.run_dir
    store = RunStore(default_store_url(tmp_path / "logs"))
    try:
        record = store.get_run(outcome.run_id)
    finally:
        store.close()
    assert record is not None and record.last_hash
    return outcome.run_id, outcome.run_dir, record.last_hash


class TestResumeProcesses:
    @pytest.mark.parametrize(
        "kind", ["edit", "delete", "append-forged", "cut-tail", "rebuild-without-key", "edit-seal"]
    )
    def test_a_resume_refuses_a_tampered_log_and_verify_still_reports_it(
        self, tmp_path: Path, kind: str
    ) -> None:
        run_id, run_dir, head = first_run(tmp_path)
        original = Evidence(
            (run_dir / AUDIT_LOG_NAME).read_bytes().splitlines(keepends=True),
            (run_dir / AUDIT_SEAL_NAME).read_bytes(),
            head,
        )
        evidence = tamper(original, kind, random.Random(kind))
        evidence.head = head  # the store is left as the run wrote it
        path = write(run_dir, evidence)
        written = path.read_bytes()
        resumed = robo("run", "repris.yaml", "--resume", run_id, "--logs", "logs", cwd=tmp_path)
        assert resumed.returncode != 0
        assert f"run {run_id} cannot be resumed: its audit log" in resumed.stderr
        assert "fails verification" in resumed.stderr and "Traceback" not in resumed.stderr
        assert path.read_bytes() == written
        verified = robo("audit", "verify", run_id, "--logs", "logs", cwd=tmp_path)
        assert verified.returncode == 1 and "tampered: " in verified.stdout

    def test_an_untouched_log_is_resumed_and_stays_intact(self, tmp_path: Path) -> None:
        run_id, _, _ = first_run(tmp_path)
        resumed = robo("run", "repris.yaml", "--resume", run_id, "--logs", "logs", cwd=tmp_path)
        assert "cannot be resumed" not in resumed.stderr, resumed.stderr
        verified = robo("audit", "verify", run_id, "--logs", "logs", cwd=tmp_path)
        assert verified.returncode == 0 and "intact: " in verified.stdout, verified.stdout


LONG = """\
name: Audit long
steps:
  - for_each: "{{ range(800) | list }}"
    key: item
    steps:
      - log: "dossier {{ item }}"
"""


def killed_while_writing(tmp_path: Path, args: list[str], grow: int) -> tuple[str, bytes]:
    """Start `robo`, kill it (SIGKILL) once its audit log grew by `grow` bytes; its run id and what it said."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        [log] = wait_until(lambda: list(tmp_path.glob("logs/*/*/audit.jsonl")), timeout=60)
        enough = log.stat().st_size + grow
        wait_until(lambda: log.stat().st_size > enough or process.poll() is not None, timeout=60)
    finally:
        process.kill()
        _, stderr = process.communicate(timeout=30)
    return log.parent.name, stderr


class TestCrashes:
    def test_a_run_killed_while_writing_is_resumed_and_its_log_stays_intact(self, tmp_path: Path) -> None:
        """What a kill -9 leaves (a line cut mid-write, records written after the last seal) is no tampering."""
        (tmp_path / "long.yaml").write_text(LONG, encoding="utf-8")
        rng = random.Random(5)
        run_id, stderr = killed_while_writing(tmp_path, ["run", "long.yaml", "--logs", "logs"], 30_000)
        for _ in range(2):
            args = ["run", "long.yaml", "--logs", "logs", "--resume", run_id]
            resumed_id, stderr = killed_while_writing(tmp_path, args, rng.randrange(10_000, 80_000))
            assert resumed_id == run_id
            assert b"cannot be resumed" not in stderr, stderr.decode()
        finished = robo("run", "long.yaml", "--logs", "logs", "--resume", run_id, cwd=tmp_path)
        assert finished.returncode == 0, finished.stderr
        verified = robo("audit", "verify", run_id, "--logs", "logs", cwd=tmp_path)
        assert verified.returncode == 0 and "intact: " in verified.stdout, verified.stdout
