"""The files robot's filing rules with the kit's reading and extraction: a user's regular expression is bounded in
time (the run stops naming the rule), one reading process serves a run, and a scan read with a low OCR confidence
goes to review instead of being filed on a reference that may be misread."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

import robots.kit.extraction as extraction_module
from robots.files import Files
from robots.kit import BusinessError, DocumentReader, RobotContext
from tests.mock_intranet.scanned_letters import make_letter, save_scan_pdf, scan
from tests.robots.test_files import pdf_with_text
from tests.robots.test_filing import DOSSIERS, inbox, reasons, visible


@pytest.fixture
def files(robot_context: RobotContext) -> Iterator[Files]:
    robot = Files(robot_context)
    yield robot
    robot.close()
    robot_context.shared.close()  # the run's reading process


def test_a_catastrophic_expression_stops_with_the_rule_named(
    files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extraction_module, "SEARCH_SECONDS", 0.3)
    inbox(tmp_path, {"lettre.txt": "a" * 60})  # about 2**60 ways to fail for Python's `re`
    rules: Any = [{"to": "d", "matches": r"(a|aa)+c", "name": "Lettres"}]
    started = time.monotonic()
    with pytest.raises(BusinessError) as raised:
        files.file_by_rules(rules, "entrants")
    assert time.monotonic() - started < 10
    assert raised.value.message == (
        "files.file_by_rules: rule 'Lettres' on lettre.txt: "
        "the search for the expression '(a|aa)+c' was stopped after 0.3 s"
    )
    assert "nested repetitions" in (raised.value.hint or "")
    assert visible(tmp_path) == ["entrants/lettre.txt"]  # nothing moved


def test_an_invalid_expression_says_where_with_a_hint() -> None:
    spec = Files.action_specs()["file_by_rules"]
    problem = spec.check_value("rules", [{"to": "x", "name_matches": "(?P<ref>DOS-[0-9+"}]) or ""
    assert (
        "`name_matches`: the regular expression '(?P<ref>DOS-[0-9+' is not valid at its end: a '[' is not closed by ']'"
        in problem
    )
    assert "a '[' is not closed by ']'" in problem
    assert "write '\\[' to find the character itself" in problem


def test_one_reading_process_serves_the_run(
    files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[DocumentReader] = []
    original = DocumentReader.__init__

    def counted(self: DocumentReader) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(DocumentReader, "__init__", counted)
    folder = tmp_path / "entrants"
    folder.mkdir()
    for number in range(1, 4):
        (folder / f"lettre{number}.pdf").write_bytes(pdf_with_text(f"Dossier DOS-2026-000{number}"))
    summary = files.file_by_rules([DOSSIERS], "entrants", mode="copy")
    assert [entry["match"] for entry in summary] == [{"ref": f"DOS-2026-000{n}"} for n in range(1, 4)]
    assert len(started) == 1  # without the run's reader: one per document


@pytest.fixture(scope="module")
def scanned_letter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    rng, fake = random.Random(16), Faker("fr_FR")
    fake.seed_instance(16)
    letter = make_letter(1, rng, fake)
    path = tmp_path_factory.mktemp("scans") / "courrier.pdf"
    save_scan_pdf([scan(letter.lines(), rng, dpi=200)], path)
    return path, letter.reference


def test_a_scan_below_the_confidence_threshold_goes_to_review(
    files: Files, tmp_path: Path, scanned_letter: tuple[Path, str]
) -> None:
    source, reference = scanned_letter
    (tmp_path / "entrants").mkdir()
    (tmp_path / "entrants" / "courrier.pdf").write_bytes(source.read_bytes())
    # The generated scan reads at ~95 %; a threshold above that stands for a barely readable one.
    summary = files.file_by_rules([DOSSIERS], "entrants", review="à revoir", mode="copy", min_confidence=99.5)
    entry = summary[0]
    assert (entry["problem"], entry["review"], entry["rule"]) == ("low_confidence", True, None)
    assert entry["reason"].startswith("its text was read by OCR with a confidence of ")
    assert entry["reason"].endswith(" %, below 99.5 %: a reference may be misread")
    lines = reasons(tmp_path / "à revoir")
    assert lines[1][1:] == [
        "courrier.pdf",
        entry["reason"],
        str(tmp_path / "entrants" / "courrier.pdf"),
        "low_confidence",
    ]
    # the same scan under the default threshold is filed by its reference
    summary = files.file_by_rules([DOSSIERS], "entrants", review="à revoir", mode="copy")
    assert (summary[0]["problem"], summary[0]["match"]) == (None, {"ref": reference})
