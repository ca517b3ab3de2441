"""A thousand random tamperings of an audit log, each found by `verify_audit_log`."""

from __future__ import annotations

import random
from pathlib import Path

from runner.audit import AuditLog, verify_audit_log


def make_log(path: Path, records: int = 40) -> tuple[list[bytes], str]:
    log = AuditLog(path, fsync=False)
    for index in range(records):
        log.append(
            {"event": "step_finished", "index": index, "name": f"Étape {index}", "duration": index / 7}
        )
    log.close()
    return path.read_bytes().splitlines(keepends=True), log.last_hash


def tamper(lines: list[bytes], rng: random.Random) -> tuple[list[bytes], str]:
    lines = list(lines)
    kind = rng.choice(["byte", "delete", "insert", "swap", "truncate", "duplicate"])
    index = rng.randrange(len(lines))
    if kind == "byte":
        line = bytearray(lines[index])
        position = rng.randrange(len(line) - 1)  # keep the newline
        original = line[position]
        line[position] = rng.choice([b for b in range(32, 127) if b != original])
        lines[index] = bytes(line)
    elif kind == "delete":
        del lines[index]
    elif kind == "insert":
        lines.insert(index, lines[rng.randrange(len(lines))])
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        other = rng.choice([i for i in range(len(lines)) if i != index])
        lines[index], lines[other] = lines[other], lines[index]
    else:
        lines = lines[: max(1, index)]
    return lines, kind


def test_a_thousand_random_tamperings_are_all_detected(tmp_path: Path) -> None:
    original, last_hash = make_log(tmp_path / "audit.jsonl")
    target = tmp_path / "tampered.jsonl"
    rng = random.Random(20261123)
    missed = []
    for trial in range(1000):
        lines, kind = tamper(original, rng)
        if lines == original:
            continue
        target.write_bytes(b"".join(lines))
        verdict = verify_audit_log(target, last_hash)
        if verdict.intact:
            missed.append((trial, kind))
        else:
            assert verdict.line is not None and verdict.problem
    assert missed == []


def test_the_untouched_log_is_intact(tmp_path: Path) -> None:
    _, last_hash = make_log(tmp_path / "audit.jsonl")
    assert verify_audit_log(tmp_path / "audit.jsonl", last_hash).intact
