"""The benchmarks' own code keeps up with the packages: a benchmark that no longer imports is caught here, not at
the next `make bench`. Only the cheap parts run (the excel benchmark's measuring child on ten rows)."""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import Any

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


def test_compared_variants_run_interleaved_every_other_round_reversed() -> None:
    from bench.table import interleaved

    assert interleaved(["a", "b", "c"], 3) == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert interleaved(["a", "b"], 0) == []


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


class TestTable:
    """The rows of the final table: `met` derived from the goal, a skipped figure says why."""

    @pytest.mark.parametrize(
        ("measured", "goal", "met"),
        [
            (1.0, (">=", 1.0), True),
            (0.999, (">=", 1.0), False),
            (1.1, ("<=", 1.1), True),
            (1.2, ("<=", 1.1), False),
            (5.0, None, None),
            (None, (">=", 2.0), None),
        ],
    )
    def test_met_follows_the_goal(self, measured: float | None, goal: Any, met: bool | None) -> None:
        from bench.table import row

        made = row("figure", measured, "×", goal, load=[3.5, 1.25, 2.0])
        assert made["met"] is met
        assert made["goal"] == ("" if goal is None else f"{goal[0]} {goal[1]:g}")
        assert made["load"] == [1.25, 3.5]

    def test_the_table_shows_each_figure_its_goal_and_why_one_was_skipped(self) -> None:
        from bench.table import render, row, skipped

        text = render(
            [
                row("browser: fill_form / plain", 1.95, "×", (">=", 1.8)),
                row("memory: robo process peak PSS", 240.0, "MB", ("<=", 200)),
                skipped("peers: field by field / x", "×", (">=", 2.0), "no chromedriver"),
            ]
        )
        lines = text.splitlines()
        assert lines[0].split() == ["figure", "measured", "unit", "goal", "met", "load", "1", "min"]
        assert "1.95" in lines[2] and ">= 1.8" in lines[2] and "yes" in lines[2]
        assert "240" in lines[3] and "<= 200" in lines[3] and "NO" in lines[3]
        assert lines[5].strip() == "(skipped: no chromedriver)"

    def test_the_machine_is_described(self) -> None:
        from bench.table import machine

        described = machine()
        assert described["cores"] and described["memory_gb"] > 0 and described["python"]
        assert {"cpu", "chromium", "chromedriver", "system"} <= set(described)


class TestMeasure:
    def test_memory_windows_keep_each_windows_highest_sample(self) -> None:
        from bench.measure import windows

        samples = [(0, 300.0), (40, 320.0), (99, 310.0), (100, 330.0), (199, 305.0), (200, 340.0)]
        # 200 done is the end of the last item: it counts in the last window, not a third one.
        assert windows(samples, 100, 200) == [320.0, 340.0]

    def test_a_process_trees_cpu_includes_its_children(self, tmp_path: Path) -> None:
        import os
        import sys

        from bench.measure import measure

        burn = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
        script = (
            "import subprocess, sys\n"
            f"subprocess.run([sys.executable, '-c', {burn!r}], check=True)\n"
            "print('done')\n"
        )
        measured = measure([sys.executable, "-c", script], dict(os.environ), tmp_path)
        # The child alone burnt 0.6 s of CPU: the tree's sum counts it (sampled every 0.25 s while it ran).
        assert measured.cpu_seconds >= 0.3
        assert measured.output.strip() == "done"
        assert measured.peak_root_mb > 0 and measured.load_start >= 0
        assert 0 <= measured.stolen <= 1

    def test_the_cpu_the_hypervisor_took_is_a_share_of_the_machines_time(self) -> None:
        from bench.table import cpu_clock, stolen_share

        # 2 cores over 10 s: 20 CPU seconds, 5 of which went to other virtual machines.
        assert stolen_share((100.0, 1000.0), (105.0, 1020.0)) == 0.25
        assert stolen_share((100.0, 1000.0), (100.0, 1000.0)) == 0.0  # no time passed: nothing taken
        stolen, total = cpu_clock()
        assert 0 <= stolen <= total

    def test_a_process_left_behind_by_the_run_is_ended(self, tmp_path: Path) -> None:
        import os
        import sys

        import psutil

        from bench.measure import measure

        # A child in a session of its own, as a browser its driver failed to close: it outlives the run.
        script = (
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],"
            " start_new_session=True)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(1.0)\n"
        )
        measured = measure([sys.executable, "-c", script], dict(os.environ), tmp_path)
        child = int(measured.output.split()[0])
        try:
            survivor = psutil.Process(child)
        except psutil.NoSuchProcess:
            return  # ended, and already reaped
        try:
            # Ended (a zombie until its parent, gone, is replaced by init, which reaps it) or gone.
            assert not survivor.is_running() or survivor.status() == psutil.STATUS_ZOMBIE
        finally:
            with contextlib.suppress(psutil.Error):
                survivor.kill()

    def test_a_failed_run_is_no_figure(self, tmp_path: Path) -> None:
        import os
        import sys

        from bench.measure import measure

        with pytest.raises(RuntimeError, match=r"(?s)failed \(3\).*broken"):
            measure(
                [sys.executable, "-c", "print('broken'); raise SystemExit(3)"], dict(os.environ), tmp_path
            )


def test_the_peers_records_name_every_field_the_suites_fill(tmp_path: Path) -> None:
    import json

    from bench import peers
    from tests.mock_intranet.sample_data import generate_cases

    cases = generate_cases(4, seed=11)
    records = json.loads(peers.records_file(cases, tmp_path / "records.json").read_text(encoding="utf-8"))[
        "RECORDS"
    ]
    assert [record["reference_externe"] for record in records] == [case.reference_externe for case in cases]
    for record, case in zip(records, cases, strict=True):
        assert set(peers.TEXT_IDS) | {"date_demande", "observations", "type_demande"} <= set(record)
        assert record["priorite_id"] == f"priorite-{case.priorite.lower()}"
        assert record["pieces"] is case.pieces_fournies


def test_a_knob_the_workflows_do_not_know_is_skipped_with_the_reason(tmp_path: Path) -> None:
    import os

    from bench.bench_browser import FIELD_BY_FIELD, invalid_reason

    known = tmp_path / "connu.yaml"
    known.write_text(FIELD_BY_FIELD % {"browser": "browser: {trace: off}\n"}, encoding="utf-8")
    unknown = tmp_path / "inconnu.yaml"
    unknown.write_text(FIELD_BY_FIELD % {"browser": "browser: {no_such_knob: 3}\n"}, encoding="utf-8")
    env = dict(os.environ)
    assert invalid_reason(known, env) is None
    reason = invalid_reason(unknown, env)
    assert reason is not None and "no_such_knob" in reason and "inconnu.yaml:8" in reason


@pytest.mark.slow
def test_the_browser_benchmark_gives_every_goal_a_row_on_a_few_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every variant on 2 records, one round, the memory run on 3: each run checked (else it raises), and the table
    holds each figure of the issue's goals, measured or skipped with the reason (a peer that cannot be installed).
    The peers are not installed here (PyPI and npm: the tests reach only 127.0.0.1), so they are skipped."""
    from bench import bench_browser, peers

    monkeypatch.setattr(peers, "install", lambda _peer: "not installed by the tests")
    monkeypatch.setattr(bench_browser, "RECORDS", 2)
    monkeypatch.setattr(bench_browser, "ROUNDS", 1)
    monkeypatch.setattr(bench_browser, "MEMORY_RECORDS", 3)
    result = bench_browser.run()
    figures = {row["figure"]: row for row in result["table"]}
    for goal in (
        "browser: field by field (defaults) / plain",
        "browser: CPU per record robo / plain",
        "browser: fill_form / plain",
        "browser: parallel 2 / 1 lane (fill_form)",
        "peers: field by field / Robot Framework + robotframework-browser",
        "peers: field by field / Robot Framework + SeleniumLibrary",
        "memory: robo process peak PSS",
    ):
        row = figures[goal]
        assert row["goal"], goal
        assert (row["measured"] is not None) != ("note" in row), row
        assert ("not installed by the tests" in row.get("note", "")) == goal.startswith("peers:"), row
    assert result["plain_playwright"]["cpu_ms_per_record"] > 0
    # fill_form's limit, the hand-written whole-form script, ran and entered its records (checked as any run)
    assert figures["browser: its limit, hand-written whole form / plain"]["measured"] > 0
    assert result[bench_browser.WHOLE_FORM_LIMIT]["records_per_second"] > 0
    assert result["memory"]["robo_process_peak_mb"] > 0


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
