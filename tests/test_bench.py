"""The benchmarks' own code keeps up with the packages: a benchmark that no longer imports is caught here, not at
the next `make bench`. Only the cheap parts run (the excel benchmark's measuring child on ten rows)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from bench.bench_excel import child, make_sheet


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_imports_and_has_a_run(name: str) -> None:
    module = importlib.import_module(f"bench.bench_{name}")
    assert callable(module.run)
    assert module.__doc__ and module.__doc__.strip()


@pytest.mark.parametrize("mode", ["imports", "robot", "streaming", "full"])
def test_the_excel_benchmarks_child_reads_a_small_sheet(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "demandes.xlsx"
    make_sheet(path, 10)
    result = child(mode, path)
    assert result["rows"] == (0 if mode == "imports" else 10)
    assert result["maxrss_kb"] > 0
