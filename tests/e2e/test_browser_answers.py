"""What the intranet answered, as real `robo` processes see it: a server killed during a submit, a wrong
password, a refusal that names its fields, and the new record read back without CSS.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.events import ItemStatus
from runner.record import RunStore
from tests.e2e.conftest import ROOT, SECRETS, Bot
from tests.mock_intranet.accounts import TEST_TOKEN_HEADER
from tests.mock_intranet.sample_data import generate_cases, write_xlsx
from tests.running import robo_process
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

LOGIN = """
      - name: Se connecter si l'intranet le demande
        try:
          - browser.exists: {label: Identifiant}
            save: connexion_demandee
          - if: connexion_demandee
            then:
              - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
              - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
              - name: Se connecter
                browser.click: {role: "button:Se connecter", error_when: {css: ".erreur"}}"""

WORKFLOW = (
    """
name: Saisie, et ce que l'intranet répond
inputs:
  fichier: {type: file}
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
defaults:
  timeout: 10
  retry: {attempts: 1}
steps:
  - excel.read_rows: {path: "{{ inputs.fichier }}"}
    save: demandes
  - name: Saisir chaque demande
    for_each: "{{ demandes }}"
    as: demande
    key: demande["Référence externe"]
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers/nouveau"}"""
    + LOGIN
    + """
      - name: Remplir et enregistrer le formulaire
        browser.fill_form:
          fields: "{{ demande }}"
          submit: Enregistrer
          error_when: "n'a pas été enregistré"
      - name: Vérifier l'enregistrement
        browser.assert_text: {expected: Dossier enregistré}
      - name: Lire le message
        browser.read_message: {}
        save: message
      - name: Lire le numéro dans l'adresse
        browser.read_url: {pattern: "/dossiers/(?P<numero>[^/]+)/confirmation"}
        save: adresse
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers?q={{ demande['Référence externe'] | urlencode }}"}
      - name: Lire la ligne du dossier
        browser.read_row: {contains: "{{ demande['Référence externe'] }}", column: Référence externe}
        save: ligne
      - log: "{{ message.kind }}|{{ adresse.numero }}|{{ ligne['Numéro'] }}|{{ ligne['Nom du demandeur'] }}"
"""
)


def robo(*args: str, logs: Path, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return robo_process(*args, "--logs", str(logs), cwd=ROOT, environ=environ or SECRETS, timeout=600)


def statuses(logs: Path) -> tuple[str, dict[str, str]]:
    store = RunStore(f"sqlite:///{logs / 'robo.db'}")
    try:
        run_id = store.list_runs(limit=1)[0].id
        return run_id, {row["key"]: row["status"] for row in store.run_items(run_id)}
    finally:
        store.close()


class ServedIntranet:
    """The mock intranet in its own process (`python -m tests.mock_intranet serve`), so that it can be killed."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.headers: dict[str, str] = {}

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.mock_intranet", "serve", "--json"]  # noqa: RUF005
            + ["--data", str(self.data), "--port", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        described = json.loads(self.process.stdout.readline())
        self.url = described["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.headers = {TEST_TOKEN_HEADER: described["test_token"]}

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def stored(self) -> Counter[str]:
        response = httpx.get(f"{self.url}/api/test/dossiers", headers=self.headers, timeout=10)
        return Counter(case["reference_externe"] for case in response.json()["dossiers"])

    def faults(self, **faults: Any) -> None:
        httpx.put(
            f"{self.url}/api/test/faults", json=faults, headers=self.headers, timeout=10
        ).raise_for_status()


def test_a_server_killed_during_a_submit_leaves_the_item_to_check_and_a_retry_enters_none_twice(
    tmp_path: Path,
) -> None:
    cases = generate_cases(3, seed=1212)
    references = [case.reference_externe for case in cases]
    source = write_xlsx(cases, tmp_path / "demandes.xlsx")
    workflow = tmp_path / "saisie.yaml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    logs = tmp_path / "logs"
    intranet = ServedIntranet(tmp_path / "intranet")
    intranet.start()
    output = tmp_path / "run.err"
    run: subprocess.Popen[bytes] | None = None
    try:
        intranet.faults(hang_after_submit=True)
        with output.open("wb") as err:
            run = subprocess.Popen(
                [sys.executable, "-m", "runner.cli", "run", str(workflow), "-i", f"fichier={source}"]  # noqa: RUF005
                + ["-i", f"intranet={intranet.url}", "--logs", str(logs)],
                cwd=ROOT,
                env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_until(lambda: intranet.stored(), timeout=120, interval=0.1)  # the first request is saved
        intranet.kill()  # while the browser waits for the answer to its submit
        run.wait(timeout=300)
        stderr = output.read_text(encoding="utf-8")
        assert run.returncode == 3, stderr
        run_id, first = statuses(logs)
        assert first[references[0]] == ItemStatus.TO_CHECK
        assert "the page did not load after submitting the form with 'Enregistrer'" in stderr
        assert "the data was refused" not in stderr and "refused the data" not in stderr

        intranet.start()  # the same data, the same port, no fault
        retry = robo("runs", "retry", run_id, logs=logs)
        assert retry.returncode == 3, retry.stderr  # the first item is still to check
        assert intranet.stored() == Counter(references)  # each once: the first was not entered again
        assert statuses(logs)[1] == {
            references[0]: ItemStatus.TO_CHECK,
            references[1]: ItemStatus.DONE,
            references[2]: ItemStatus.DONE,
        }
        assert f"entered? check {references[0]}" in retry.stderr
    finally:
        intranet.kill()
        if run is not None and run.poll() is None:
            run.kill()
            run.wait(timeout=30)


def test_a_wrong_password_is_tried_once_and_stops_the_run(bot: Bot, tmp_path: Path) -> None:
    source = write_xlsx(generate_cases(3, seed=1213), tmp_path / "demandes.xlsx")
    workflow = tmp_path / "saisie.yaml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    logs = tmp_path / "logs"
    wrong = {**SECRETS, "ROBO_SECRET_MOT_DE_PASSE": "pas-le-bon"}
    result = robo(
        "run", str(workflow), "-i", f"fichier={source}", "-i", f"intranet={bot.intranet.url}",
        logs=logs, environ=wrong,
    )  # fmt: skip
    assert result.returncode != 0
    refused = httpx.get(
        f"{bot.intranet.url}/api/test/logins", headers=bot.intranet.test_headers, timeout=10
    ).json()["refused"]
    assert refused == 1  # one attempt in total, not one per row
    assert "the login was refused: Identifiant ou mot de passe incorrect" in result.stderr
    assert "the run stops at once" in result.stderr
    assert list(statuses(logs)[1].values()) == [ItemStatus.FAILED_BUSINESS]
    assert bot.stored() == []


def test_a_refusal_names_the_fields_and_a_saved_record_is_read_back_without_css(
    bot: Bot, tmp_path: Path
) -> None:
    good, bad = generate_cases(2, seed=1214)
    bad = dataclasses.replace(bad, nom="N" * 201, observations="texte " * 400)
    source = write_xlsx([good, bad], tmp_path / "demandes.xlsx")
    workflow = tmp_path / "saisie.yaml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    logs = tmp_path / "logs"
    result = robo(
        "run", str(workflow), "-i", f"fichier={source}", "-i", f"intranet={bot.intranet.url}", logs=logs
    )
    assert result.returncode == 3, result.stderr
    assert (
        "the page refused the data: Le dossier n'a pas été enregistré : 2 erreurs à corriger.;"
        " Nom du demandeur : 200 caractères au maximum.; Observations : 2000 caractères au maximum."
        in result.stderr
    )
    [stored] = bot.stored()
    numero = stored["numero"]
    assert f"success|{numero}|{numero}|{good.nom}" in result.stderr
    assert statuses(logs)[1] == {
        good.reference_externe: ItemStatus.DONE,
        bad.reference_externe: ItemStatus.FAILED_BUSINESS,
    }
