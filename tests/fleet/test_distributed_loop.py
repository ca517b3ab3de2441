"""A loop with `distribute:` done by real `robo worker` processes into the mock intranet, on a real PostgreSQL:
every record entered once, the run's records saying which worker did each."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from runner.fleet import fleet_distributor, upgrade_databases
from runner.record import RunStore
from runner.run import RunOptions, run_workflow
from tests.e2e.conftest import SECRETS, WORKFLOWS
from tests.mock_intranet.sample_data import generate_cases, write_xlsx
from tests.mock_intranet.server import MockIntranet
from tests.running import EventRecorder
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
RECORDS = int(os.environ.get("ROBO_FLEET_RECORDS", "60"))


def distributed_workflow(folder: Path) -> Path:
    """The shipped data-entry workflow, its loop shared out to the fleet."""
    text_ = (WORKFLOWS / "saisie_dossiers.yaml").read_text(encoding="utf-8")
    text_ = text_.replace(
        '    parallel: "{{ inputs.voies }}"\n', '    parallel: "{{ inputs.voies }}"\n    distribute: true\n'
    )
    assert "distribute: true" in text_
    path = folder / "saisie_flotte.yaml"
    path.write_text(text_, encoding="utf-8")
    return path


@pytest.fixture
def fleet_url(postgres_url: str) -> str:
    upgrade_databases(postgres_url)
    return postgres_url


class Workers:
    """Real `robo worker` processes on the fleet's database."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[str]] = {}

    def start(self, name: str) -> subprocess.Popen[str]:
        log = (self.folder / f"{name}.log").open("w", encoding="utf-8")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "worker",
                "--store",
                self.url,
                "--logs",
                str(self.folder / f"logs-{name}"),
                "--name",
                name,
                "--queues",
                "browser",
            ],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT), "ROBO_LANG": "en"},
        )
        self.processes[name] = process
        return process

    def alive(self) -> int:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return int(
                    connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()
                )
        finally:
            engine.dispose()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(encoding="utf-8")

    def stop(self) -> dict[str, int]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes


@pytest.fixture
def workers(fleet_url: str, tmp_path: Path) -> Iterator[Workers]:
    fleet = Workers(fleet_url, tmp_path)
    yield fleet
    fleet.stop()


def test_three_workers_enter_every_record_once_and_the_run_says_who_did_each(
    fleet_url: str, workers: Workers, mock_intranet: MockIntranet, tmp_path: Path
) -> None:
    for number in range(3):
        workers.start(f"bot-{number}")
    wait_until(lambda: workers.alive() == 3, timeout=120)
    cases = generate_cases(RECORDS, seed=18)
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    recorder = EventRecorder()
    outcome = run_workflow(
        distributed_workflow(tmp_path),
        RunOptions(
            inputs={"intranet": mock_intranet.url, "fichier": str(source), "voies": 3},
            logs_dir=tmp_path / "logs",
            store_url=fleet_url,
            environ=SECRETS,
            extra_sinks=[recorder],
            distributor=fleet_distributor(),
        ),
    )
    logs = {name: workers.log(name)[-2000:] for name in workers.processes}
    assert outcome.status == "succeeded", "\n".join(
        [*(d.message + " " + " ".join(d.cause) for d in outcome.diagnostics), *logs.values()]
    )
    stored = Counter(case["reference_externe"] for case in mock_intranet_cases(mock_intranet))
    assert stored == Counter(case.reference_externe for case in cases)  # each once
    with RunStore(fleet_url) as store:
        rows = store.run_items(outcome.run_id or "")
    assert len(rows) == RECORDS and {row["status"] for row in rows} == {"done"}
    assert {row["worker"] for row in rows} <= {"bot-0", "bot-1", "bot-2"}
    # The run's report says which worker did each item.
    assert outcome.report is not None
    report = outcome.report.read_text(encoding="utf-8")
    for row in rows:
        assert re.search(
            rf'>{re.escape(row["key"])}</td>.*?<td class="worker">{row["worker"]}</td>', report, re.S
        )
    finished = recorder.of("item_finished")
    assert sorted(event.key for event in finished) == sorted(case.reference_externe for case in cases)
    assert {event.worker for event in finished} == {row["worker"] for row in rows}
    # The steps after the loop ran with the loop's outcomes: the copy of the spreadsheet has every case number.
    assert outcome.run_dir is not None and (outcome.run_dir / "artifacts" / "dossiers_saisis.xlsx").exists()


def mock_intranet_cases(intranet: MockIntranet) -> list[dict[str, str]]:
    import httpx

    response = httpx.get(f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=10)
    response.raise_for_status()
    cases: list[dict[str, str]] = response.json()["dossiers"]
    return cases
