"""scripts/coverage_summary.py sums coverage.py's JSON report per package folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.coverage_summary import main, per_package, table


def summary(statements: int, covered: int, branches: int, covered_branches: int) -> dict[str, dict[str, int]]:
    return {
        "summary": {
            "num_statements": statements,
            "covered_lines": covered,
            "num_branches": branches,
            "covered_branches": covered_branches,
        }
    }


REPORT = {
    "files": {
        "runner/engine/engine.py": summary(80, 70, 20, 10),
        "runner/engine/loops.py": summary(20, 20, 0, 0),
        "runner/cli.py": summary(10, 5, 10, 5),
        "robots/browser/browser.py": summary(0, 0, 0, 0),
    }
}


def test_lines_and_branches_are_summed_per_folder() -> None:
    packages = per_package(REPORT)
    assert list(packages) == ["robots/browser", "runner", "runner/engine"]
    engine = packages["runner/engine"]
    assert (engine.statements, engine.branches) == (100, 20)
    assert engine.percent == 100 * (90 + 10) / 120
    assert packages["runner"].percent == 50.0
    assert packages["robots/browser"].percent == 100.0


def test_the_table_flags_packages_under_80_percent_and_totals_them() -> None:
    lines = table(per_package(REPORT))
    [cli] = [line for line in lines if line.startswith("runner ")]
    [engine] = [line for line in lines if line.startswith("runner/engine")]
    assert cli.endswith("50.0%  (under 80 %)")
    assert engine.endswith("83.3%")
    assert lines[-1].split() == ["total", "110", "30", f"{100 * (95 + 15) / 140:.1f}%"]


def test_a_missing_report_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "coverage.json")]) == 1
    assert "no coverage report" in capsys.readouterr().err
    (tmp_path / "coverage.json").write_text(json.dumps(REPORT), encoding="utf-8")
    assert main([str(tmp_path / "coverage.json")]) == 0
    assert "runner/engine" in capsys.readouterr().out


def test_a_report_of_the_tests_own_processes_says_so_and_flags_no_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "coverage.json").write_text(json.dumps(REPORT), encoding="utf-8")
    assert main(["--tests-only", str(tmp_path / "coverage.json")]) == 0
    out = capsys.readouterr().out
    assert "in the tests' own processes" in out and "make coverage" in out
    assert "under 80" not in out and "50.0%" in out
    assert main([str(tmp_path / "coverage.json")]) == 0
    assert "(under 80 %)" in capsys.readouterr().out
