"""Unattended runs that lose nothing: killed at random moments, flaky servers, secrets that never leak."""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runner.record import RunStore
from runner.review import effective_status
from tests.e2e.conftest import ROOT, SECRETS, WORKFLOWS, Bot
from tests.mock_intranet.faults import FaultConfig
from tests.mock_intranet.sample_data import generate_cases, write_xlsx

pytestmark = pytest.mark.slow
SAISIE = WORKFLOWS / "saisie_dossiers.yaml"
KILLS = int(os.environ.get("ROBO_CRASH_KILLS", "5"))
# Enough records that the run is still going at the last kill: measured runs had stored 7 to 24 records at the fifth
# kill (each start opens a browser and first checks the interrupted record); 10 per kill leave twice that margin (a
# run done before its fifth kill still counts when it was killed three times). 20 per kill cost 50 s more per store.
RECORDS = int(os.environ.get("ROBO_CRASH_RECORDS", str(10 * KILLS)))


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


RoboProcess = Callable[[list[str], Path], "subprocess.Popen[bytes]"]


@pytest.fixture
def robo_process() -> Iterator[RoboProcess]:
    """Starts `robo run` in its own process group; whatever a failed test leaves running is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], logs: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "run", *args, "--logs", str(logs)],
            cwd=ROOT,
            env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # so that a kill takes the browser down with it, as a crash of the machine would
        )
        started.append(process)
        return process

    yield start
    for process in started:
        kill_tree(process)


def test_killed_at_random_moments_and_resumed_every_record_is_entered_once(
    bot: Bot, tmp_path: Path, robo_process: RoboProcess, store_url: str
) -> None:
    cases = generate_cases(RECORDS, seed=404)
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    logs = tmp_path / "logs"
    rng = random.Random(int(os.environ.get("ROBO_CRASH_SEED", "7")))
    args = [
        str(SAISIE),
        "-i",
        f"fichier={source}",
        "-i",
        f"intranet={bot.intranet.url}",
        "--store",
        store_url,
    ]
    run_id = None
    kills = 0
    entered: list[int] = []  # records stored at each kill
    for _ in range(KILLS):
        process = robo_process(args + (["--resume", run_id] if run_id else []), logs)
        time.sleep(rng.uniform(2.0, 8.0))  # a crash at a random moment, not a wait for a condition
        if process.poll() is not None:
            break
        kill_tree(process)
        kills += 1
        entered.append(len(bot.stored()))
        if run_id is None:
            with RunStore(store_url) as store:
                runs = store.list_runs(limit=1)
                if runs:  # else killed before it recorded its run (a slow start): the next start is a new run
                    run_id = runs[0].id
                    assert effective_status(store.get_run(run_id)) == "crashed"  # type: ignore[arg-type]
    assert kills >= min(KILLS, 3)
    for _ in range(3):  # the last resume goes to the end
        process = robo_process(args + (["--resume", run_id] if run_id else []), logs)
        if process.wait(timeout=900) == 0:
            break
    assert process.returncode == 0
    references = [case["reference_externe"] for case in bot.stored()]
    duplicates = sum(count - 1 for count in Counter(references).values())
    lost = len({case.reference_externe for case in cases} - set(references))
    print(
        f"{store_url.split(':')[0].split('+')[0]}: {kills} kills (records stored then: {entered}),"
        f" {duplicates} duplicates, {lost} lost records"
    )
    assert (duplicates, lost) == (0, 0), f"{len(references)} records after {kills} kills"
    assert len(references) == RECORDS, f"{len(references)} records after {kills} kills"
    assert sorted(references) == sorted(case.reference_externe for case in cases)
    store = RunStore(store_url)
    items = store.run_items(run_id or store.list_runs(limit=1)[0].id)
    store.close()
    assert len(items) == RECORDS and {item["status"] for item in items} == {"done"}


def test_a_flaky_server_costs_retries_but_no_record(bot: Bot, tmp_path: Path) -> None:
    # 24 rows: 6 refused ones, one of each invalid field; 18 entered through a server failing 20 % of the requests.
    cases = generate_cases(24, invalid_ratio=0.25, seed=77)
    invalid = {case.reference_externe for case in cases if not case.valid}
    assert len(invalid) == 6
    bot.intranet.set_faults(
        FaultConfig(failure_rate=0.2, failure_point="after", slow_rate=0.2, slow_max_delay=0.4, seed=3)
    )
    outcome, recorder = bot.run(SAISIE, fichier=str(write_xlsx(cases, tmp_path / "demandes.xlsx")))
    assert outcome.status == "completed_with_errors"
    statuses = {event.key: event.status for event in recorder.of("item_finished")}
    assert {key for key, status in statuses.items() if status != "done"} == invalid
    assert {statuses[key] for key in invalid} == {"failed_business"}
    retries = recorder.of("retry_scheduled")
    print(f"\n{len(retries)} retries")
    assert retries, "a 20 % failure rate must have cost retries"
    refusals = [
        event
        for event in recorder.of("step_finished")
        if event.status == "failed" and (event.error or {}).get("kind") == "business"
    ]
    # Each refused row was refused once: a business error is never retried.
    assert sorted(event.item for event in refusals) == sorted(invalid)
    assert all("Le dossier n'a pas été enregistré" in event.error["message"] for event in refusals)
    references = [case["reference_externe"] for case in bot.stored()]
    assert sorted(references) == sorted({case.reference_externe for case in cases} - invalid)  # each once


def test_a_secret_leaks_nowhere_even_when_the_run_fails(bot: Bot, tmp_path: Path) -> None:
    secret = SECRETS["ROBO_SECRET_MOT_DE_PASSE"]
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
    }
    workflow = tmp_path / "fuite.yaml"
    workflow.write_text(
        """
name: Fuite de secret
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
steps:
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - log: "mot de passe : {{ secrets.mot_de_passe }} / {{ secrets.mot_de_passe | urlencode }}"
  - http.get: {url: "http://127.0.0.1:9/?jeton={{ secrets.mot_de_passe | urlencode }}", timeout: 2}
    on_error: continue
  - browser.click: {text: "Valider {{ secrets.mot_de_passe }}", timeout: 1}
""",
        encoding="utf-8",
    )
    logs = tmp_path / "logs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(workflow),
            "-i",
            f"intranet={bot.intranet.url}",
            "--logs",
            str(logs),
        ],
        cwd=ROOT,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "jeton=***" in result.stderr and "mot de passe : ***" in result.stderr
    files = [path for path in logs.rglob("*") if path.is_file()]
    assert any(path.suffix == ".zip" for path in files) and any(path.suffix == ".png" for path in files)
    for form in forms:
        assert form not in result.stdout + result.stderr
        for path in files:
            assert form.encode() not in path.read_bytes(), f"{form!r} found in {path.name}"


ITEMS = 200  # enough that a busy machine cannot finish them all before the signal comes


def test_sigterm_stops_after_the_current_step_and_the_run_resumes(
    bot: Bot, tmp_path: Path, robo_process: RoboProcess
) -> None:
    workflow = tmp_path / "longue.yaml"
    workflow.write_text(
        """
name: Longue boucle
inputs:
  intranet: {type: string}
steps:
  - for_each: "{{ range(ITEMS) | list }}"
    key: item
    steps:
      - http.get: {url: "{{ inputs.intranet }}/api/test/health"}
      - http.get: {url: "{{ inputs.intranet }}/attente?delai=0"}
""".replace("ITEMS", str(ITEMS)),
        encoding="utf-8",
    )
    logs = tmp_path / "logs"
    args = [str(workflow), "-i", f"intranet={bot.intranet.url}"]
    process = robo_process(args, logs)
    database = logs / "robo.db"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and done < 5:
        if database.exists():
            store = RunStore(f"sqlite:///{database}")
            runs = store.list_runs(limit=1)
            done = sum(item["status"] == "done" for item in store.run_items(runs[0].id)) if runs else 0
            store.close()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130
    store = RunStore(f"sqlite:///{database}")
    [record] = store.list_runs()
    assert record.status == "interrupted"
    first_done = sum(item["status"] == "done" for item in store.run_items(record.id))
    store.close()
    assert 5 <= first_done < ITEMS
    resumed = robo_process([*args, "--resume", record.id], logs)
    assert resumed.wait(timeout=300) == 0
    store = RunStore(f"sqlite:///{database}")
    items = store.run_items(record.id)
    assert store.get_run(record.id).status == "succeeded"  # type: ignore[union-attr]
    store.close()
    assert len(items) == ITEMS and {item["status"] for item in items} == {"done"}
    report = (Path(record.run_dir or "") / "report.html").read_text(encoding="utf-8")
    assert f"All {ITEMS} items done." in report
    assert "sessions (resumed)" in report and "interrupted" in report
