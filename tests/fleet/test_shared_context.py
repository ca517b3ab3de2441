"""What a distributed loop's workers get of the run: its rows with their types, its inputs, vars and saved results,
and never a secret — each worker resolves the workflow's secrets itself."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import create_engine, text

from runner.fleet import fleet_distributor
from runner.run import RunOptions, run_workflow
from tests.fleet.test_distributed_loop import Workers, fleet_url, workers  # noqa: F401  (fixtures)
from tests.running import EventRecorder
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
JETON = "jeton-tres-secret-4f7a9c"  # the run's secret: the worker has it from its own environment
WORKFLOW = """
name: Contexte partagé
secrets: [jeton]
inputs:
  fichier: {type: file}
  service: {type: string, default: Urbanisme}
vars:
  bureau: "Bureau {{ inputs.service }}"
steps:
  - excel.read_rows: {path: "{{ inputs.fichier }}"}
    save: lignes
  - data.set: {value: "Bearer {{ secrets.jeton }}"}
    save: entete
  - data.set: {value: 3}
    save: seuil
  - for_each: "{{ lignes }}"
    as: ligne
    key: ligne.Ref
    distribute: true
    save: vus
    collect:
      annee: "{{ ligne.Date.year }}"
      bureau: "{{ vars.bureau }}"
      au_dela: "{{ ligne.N > seuil }}"
      longueur_du_jeton: "{{ secrets.jeton | length }}"
    steps:
      - log: "{{ ligne.Ref }} {{ ligne.Date.isoformat() }}"
  - log: "{{ vus | length }} lignes vues par la flotte"
"""


def rows_file(folder: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Ref", "Date", "N"])
    for number in range(1, 7):
        sheet.append([f"R-{number}", dt.datetime(2026, 12, number), number])
    path = folder / "lignes.xlsx"
    book.save(path)
    return path


def test_workers_see_typed_rows_inputs_vars_and_saved_results_and_no_secret_travels(
    fleet_url: str,  # noqa: F811
    workers: Workers,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A loop with no browser goes to the fleet's own queue; the worker has the secret in its own environment.
    worker = workers.start("bot-0", "--queues", "robo", secrets={"ROBO_SECRET_JETON": JETON})
    wait_until(lambda: workers.alive() == 1, timeout=120)
    recorder = EventRecorder()
    outcome = run_workflow(workflow_file(tmp_path), options(fleet_url, tmp_path, recorder))
    assert outcome.status == "succeeded", [d.message for d in outcome.diagnostics] + [workers.log("bot-0")]
    finished = sorted(recorder.of("item_finished"), key=lambda event: event.key)
    assert {event.worker for event in finished} == {"bot-0"}
    outcomes = [event.outcome for event in finished]
    assert [o["annee"] for o in outcomes] == [2026] * 6  # a date, not its text
    assert {o["bureau"] for o in outcomes} == {"Bureau Urbanisme"}
    assert [o["au_dela"] for o in outcomes] == [False, False, False, True, True, True]
    assert {o["longueur_du_jeton"] for o in outcomes} == {len(JETON)}  # the worker's own secret
    # The saved value that holds the secret stayed behind, and the run said so.
    warnings = [e.message for e in recorder.of("log") if e.level == "warning"]
    assert any("'entete'" in message for message in warnings), warnings
    engine = create_engine(fleet_url)
    with engine.connect() as connection:
        shared = connection.execute(text("SELECT CAST(context AS TEXT), source FROM fleet_loops")).one()
        jobs = [str(row[0]) for row in connection.execute(text("SELECT args FROM procrastinate_jobs"))]
    engine.dispose()
    assert JETON not in shared[0]
    sent = set(json.loads(shared[0]))
    assert {"inputs", "vars", "seuil"} <= sent and not {"entete", "secrets", "env"} & sent
    assert "lignes" not in sent  # the items themselves go one by one through the ledger, not twice
    assert not any("'lignes'" in message for message in warnings)
    assert jobs and not [args for args in jobs if JETON in args or "jeton" in args.lower()]
    worker_files = [path for path in (tmp_path / "logs-bot-0").rglob("*") if path.is_file()]
    assert worker_files and not [path for path in worker_files if JETON.encode() in path.read_bytes()]
    assert worker.poll() is None  # still at work for the next run


def workflow_file(folder: Path) -> Path:
    path = folder / "contexte.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    return path


def options(url: str, folder: Path, recorder: EventRecorder) -> RunOptions:
    return RunOptions(
        inputs={"fichier": str(rows_file(folder))},
        logs_dir=folder / "logs",
        store_url=url,
        environ={"ROBO_SECRET_JETON": JETON},
        extra_sinks=[recorder],
        distributor=fleet_distributor(),
    )


def test_a_worker_without_the_secret_stops_the_loop_and_the_run_says_which_and_why(
    fleet_url: str,  # noqa: F811
    workers: Workers,  # noqa: F811
    tmp_path: Path,
) -> None:
    workers.start("bot-sans-secret", "--queues", "robo", secrets={})
    wait_until(lambda: workers.alive() == 1, timeout=120)
    outcome = run_workflow(workflow_file(tmp_path), options(fleet_url, tmp_path, EventRecorder()))
    assert outcome.status == "failed"
    [diagnostic] = outcome.diagnostics
    assert "worker bot-sans-secret: missing secret: jeton" in diagnostic.message
    assert diagnostic.span.line == 16  # the loop, in the workflow file
