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


class TestDesktopBenchmark:
    """The desktop benchmark measures only runs that entered every record exactly (a broken run is no figure)."""

    def _store(self, tmp_path: Path, records: list[tuple[str, str, str, str, int, str]]) -> Path:
        from tests.mock_desktop import CaseStore, NewCase

        database = tmp_path / "dossiers.sqlite"
        store = CaseStore(database)
        for record in records:
            store.add(NewCase(*record), "agent1")
        return database

    def test_the_spreadsheet_gives_twenty_accented_records(self) -> None:
        from bench.bench_desktop import SPREADSHEET, expected_records

        records = expected_records(SPREADSHEET)
        assert len(records) == 20 and len({record[0] for record in records}) == 20
        assert ("REF-2026-0004", "Poirier", "Édith", "Saint Michelle", 8740383, "Subvention") in records

    def test_a_run_that_entered_every_record_passes_the_check(self, tmp_path: Path) -> None:
        from bench.bench_desktop import SPREADSHEET, check_entered, expected_records

        records = expected_records(SPREADSHEET)
        check_entered(self._store(tmp_path, records), records)

    @pytest.mark.parametrize("damage", ["lost accent", "missing record", "entered twice", "wrong amount"])
    def test_a_broken_run_fails_the_check(self, tmp_path: Path, damage: str) -> None:
        from bench.bench_desktop import SPREADSHEET, check_entered, expected_records

        records = expected_records(SPREADSHEET)
        stored = list(records)
        if damage == "lost accent":  # what `xdotool type` did: "Jérôme" stored as "Jrôme"
            stored[3] = (*stored[3][:2], "dith", *stored[3][3:])
        elif damage == "missing record":
            stored.pop()
        elif damage == "entered twice":
            stored.append((stored[0][0] + "-bis", *stored[0][1:]))
        else:
            stored[0] = (*stored[0][:4], stored[0][4] + 1, stored[0][5])
        with pytest.raises(RuntimeError, match="records instead of 20"):
            check_entered(self._store(tmp_path, stored), records)

    def test_the_benchmark_workflow_is_valid(self, xvfb_display: object) -> None:
        import subprocess
        import sys

        from bench.bench_desktop import ROOT, WORKFLOW

        done = subprocess.run(
            [sys.executable, "-m", "runner.cli", "validate", str(WORKFLOW)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_console_benchmark_answers_every_page_over_a_small_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bench_console

    monkeypatch.setattr(bench_console, "RUNS", 20)
    monkeypatch.setattr(bench_console, "ITEMS_PER_RUN", 5)
    result = (
        bench_console.run()
    )  # each page is asserted to answer 200 (a gate refusing the bench's client fails)
    assert result["items"] == 100 and result["within_limit"]


def test_the_fleet_benchmark_runs_its_variants_in_turns_every_other_round_reversed() -> None:
    from bench.bench_fleet import VARIANTS, schedule

    assert VARIANTS == ["local", "fleet_1_workers", "fleet_2_workers", "fleet_4_workers"]
    assert schedule(3) == [*VARIANTS, *VARIANTS[::-1], *VARIANTS]


@pytest.mark.slow
def test_the_fleet_benchmark_measures_each_variant_on_a_few_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bench_fleet
    from tests.postgres import postgres_bin_dir

    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed here: run 'make sysdeps' (Debian's postgresql)")
    monkeypatch.setattr(bench_fleet, "RECORDS", 4)
    monkeypatch.setattr(bench_fleet, "ROUNDS", 1)
    result = bench_fleet.run()  # each variant is checked to enter the 4 records once (else it raises)
    assert result["records"] == 4
    assert result["local"]["items_by_worker"] == {"-": 4}  # no worker of a fleet: the run did them
    for count in (1, 2, 4):
        done = result[f"fleet_{count}_workers"]["items_by_worker"]
        assert sum(done.values()) == 4 and set(done) <= {f"bot-{n}" for n in range(count)}
    assert set(result["speed_up_loop"]) == {"2_workers_vs_1", "4_workers_vs_1", "fleet_1_worker_vs_local"}


class TestEngineBenchmark:
    """The engine benchmark's runs, on a few items (its figures are not checked: speed is for `make bench`)."""

    def test_the_loop_runs_in_process_against_direct_calls(self, tmp_path: Path) -> None:
        from bench.bench_engine import STEPS_PER_ITEM, overhead_per_step

        figures = overhead_per_step(tmp_path, 5)
        assert figures["steps"] == 5 * STEPS_PER_ITEM
        assert figures["engine_s"] > 0

    def test_the_scale_run_and_its_report_are_measured_as_child_processes(self, tmp_path: Path) -> None:
        from bench.bench_engine import scale_run

        figures = scale_run(tmp_path, 20)
        assert figures["items"] == 20
        assert figures["run_peak_rss_mb"] > 20 and figures["report_peak_rss_mb"] > 20  # a Python process
        assert figures["run_cpu_s"] > 0
        assert list((tmp_path / "logs").glob("*/*/report.html"))

    def test_a_failing_child_is_an_error_not_a_figure(self, tmp_path: Path) -> None:
        import sys

        from bench.bench_engine import sampled

        with pytest.raises(RuntimeError, match="exited with 3"):
            sampled([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path)


def test_the_validation_benchmark_measures_each_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.bench_validate as bench_validate

    monkeypatch.setattr(bench_validate, "SCALES", (1, 2))
    figures = bench_validate.run_scaling()
    assert figures["per_step_1x_ms"] > 0 and figures["per_step_2x_over_1x"] > 0
