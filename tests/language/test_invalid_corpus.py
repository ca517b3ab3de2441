"""Golden tests of `robo validate` on a corpus of malformed workflows.

Each case is `tests/invalid/<case>.yaml`, a small workflow with the mistakes a user (or an agent) really makes,
and `tests/invalid/<case>.expected`, exactly what `robo validate tests/invalid/<case>.yaml` prints on stderr:
every diagnostic (`path:line:col: error[code]: message`, the excerpt with its caret, the expected/found/hint
lines) and then the summary line. Paths are relative to the repository root.

`tests/invalid/<case>.fr.expected` is the same output in French (`ROBO_LANG=fr`): the same codes, positions and
excerpts, every message, hint and "expected" line from the French catalog. Under `LANG=C` the `.expected` files
(English) stay as they are.

An `.expected` file says what the validator SHOULD print, as judged by a human reading it: when the current
output points at the wrong place or says something misleading, the golden file holds the corrected text and the
case fails until the validator is fixed.

Regenerate golden files from the current output (then review every change with `git diff tests/invalid`,
since this also overwrites the corrected expectations of cases that still fail):

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/language/test_invalid_corpus.py              # every case
    UPDATE_GOLDEN=unknown_filter,duplicate_id .venv/bin/pytest tests/language/test_invalid_corpus.py

UPDATE_GOLDEN writes both languages. A case whose validation crashes is never written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from robots.kit import set_language
from runner.cli import app

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "invalid"
CASES = sorted(path.stem for path in INVALID.glob("*.yaml"))
MINIMUM_CASES = 45
REQUIRED_CODES = {
    "yaml-syntax",
    "empty-workflow",
    "missing-key",
    "unknown-key",
    "missing-action",
    "ambiguous-step",
    "unknown-action",
    "unknown-parameter",
    "missing-parameter",
    "wrong-type",
    "undefined-variable",
    "template-syntax",
    "unknown-filter",
    "unknown-test",
    "duplicate-id",
    "bad-cron",
    "bad-schedule",
    "bad-timezone",
    "empty-steps",
    "yaml-tag",
    "reserved-name",
    "empty-value",
}
# Cases run together in one `robo validate` process (their output is known to be right today).
SUBPROCESS_CASES = ("ambiguous_step", "unknown_parameter", "unknown_step_key_whne")
CODE = re.compile(r"^\S+:\d+:\d+: error\[([a-z-]+)\]: ", re.MULTILINE)
SUMMARY = re.compile(r"\n\n(\d+) errors? in 1 file\n\Z")


def _relative(case: str) -> str:
    return f"tests/invalid/{case}.yaml"


def _should_update(case: str) -> bool:
    wanted = os.environ.get("UPDATE_GOLDEN", "")
    if wanted in ("", "0"):
        return False
    return wanted == "1" or case in {name.strip() for name in wanted.split(",")}


def _english(path: Path) -> bool:
    return not path.name.endswith(".fr.expected")


@pytest.fixture
def in_french(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`robo` in this process speaks French (as under `ROBO_LANG=fr`), then the suite's language again."""
    monkeypatch.setenv("ROBO_LANG", "fr")
    set_language()
    yield
    monkeypatch.undo()
    set_language()


def _validate_in_process(*paths: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["validate", *paths])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"robo validate {' '.join(paths)} crashed instead of reporting diagnostics:\n{crash}")
    return result.exit_code, result.stderr


def _codes(text: str) -> set[str]:
    return set(CODE.findall(text))


def _positions(text: str) -> list[str]:
    """Each diagnostic's `path:line:col: severity[code]` and the excerpt lines: what no language changes."""
    return re.findall(r"^(\S+:\d+:\d+: \w+\[[a-z-]+\]|   .*\|.*)", text, re.MULTILINE)


def _group_actions() -> list[str]:
    from robots import robot_class, robot_names

    return [
        spec.qualified_name
        for robot in robot_names()
        for spec in robot_class(robot).action_specs().values()
        if spec.one_of or spec.together
    ]


class TestGoldenCases:
    @pytest.mark.parametrize("case", CASES)
    def test_prints_the_expected_diagnostics_and_exits_1(
        self, case: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        expected_file = INVALID / f"{case}.expected"
        exit_code, stderr = _validate_in_process(_relative(case), monkeypatch=monkeypatch)
        if _should_update(case):
            expected_file.write_text(stderr, encoding="utf-8")
        assert expected_file.exists(), f"{expected_file.name} is missing: run with UPDATE_GOLDEN={case}"
        assert "Traceback" not in stderr
        assert stderr == expected_file.read_text(encoding="utf-8")
        assert exit_code == 1

    @pytest.mark.parametrize("case", CASES)
    @pytest.mark.usefixtures("in_french")
    def test_prints_the_same_diagnostics_in_french(self, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
        expected_file = INVALID / f"{case}.fr.expected"
        exit_code, stderr = _validate_in_process(_relative(case), monkeypatch=monkeypatch)
        if _should_update(case):
            expected_file.write_text(stderr, encoding="utf-8")
        assert expected_file.exists(), f"{expected_file.name} is missing: run with UPDATE_GOLDEN={case}"
        assert stderr == expected_file.read_text(encoding="utf-8")
        english = (INVALID / f"{case}.expected").read_text(encoding="utf-8")
        assert _codes(stderr) == _codes(english)
        assert _positions(stderr) == _positions(english)
        assert exit_code == 1

    def test_a_missing_file_is_reported_without_a_traceback(self, monkeypatch: pytest.MonkeyPatch) -> None:
        exit_code, stderr = _validate_in_process(
            "tests/invalid/no_such_workflow.yaml", monkeypatch=monkeypatch
        )
        assert stderr == (
            "tests/invalid/no_such_workflow.yaml:1:1: error[file-not-found]: "
            "no such file: tests/invalid/no_such_workflow.yaml\n"
            "  hint: check the path and the file name\n"
            "\n"
            "1 error in 1 file\n"
        )
        assert exit_code == 1


class TestCorpus:
    def test_holds_enough_cases(self) -> None:
        assert len(CASES) >= MINIMUM_CASES

    def test_every_case_has_its_expected_output_and_no_output_is_orphaned(self) -> None:
        expected = {path.stem for path in INVALID.glob("*.expected") if _english(path)}
        assert sorted(set(CASES) - expected) == []
        assert sorted(expected - set(CASES)) == []
        french = {path.name.removesuffix(".fr.expected") for path in INVALID.glob("*.fr.expected")}
        assert sorted(set(CASES) ^ french) == []

    def test_covers_every_diagnostic_code(self) -> None:
        required = set(REQUIRED_CODES)
        if _group_actions():
            required.add("parameter-group")
        seen: set[str] = set()
        for path in filter(_english, INVALID.glob("*.expected")):
            seen |= _codes(path.read_text(encoding="utf-8"))
        assert sorted(required - seen) == []

    def test_several_cases_report_several_errors_sorted_by_position(self) -> None:
        several = []
        for path in sorted(filter(_english, INVALID.glob("*.expected"))):
            text = path.read_text(encoding="utf-8")
            positions = [
                (int(line), int(col))
                for line, col in re.findall(r"^\S+?:(\d+):(\d+): error\[", text, re.MULTILINE)
            ]
            assert positions == sorted(positions), f"{path.name} is not sorted by position"
            if len(positions) >= 3:
                several.append(path.stem)
        assert len(several) >= 3, several


class TestCommandLine:
    def test_validates_several_files_in_one_process(self) -> None:
        paths = [_relative(case) for case in SUBPROCESS_CASES]
        completed = subprocess.run(
            [sys.executable, "-m", "runner.cli", "validate", *paths],
            cwd=ROOT,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        bodies = []
        total = 0
        for case in sorted(SUBPROCESS_CASES):
            text = (INVALID / f"{case}.expected").read_text(encoding="utf-8")
            summary = SUMMARY.search(text)
            assert summary is not None, f"{case}.expected does not end with a summary line"
            bodies.append(text[: summary.start()])
            total += int(summary.group(1))
        assert "Traceback" not in completed.stderr
        assert completed.stderr == "\n\n".join(bodies) + f"\n\n{total} errors in {len(paths)} files\n"
        assert completed.returncode == 1
