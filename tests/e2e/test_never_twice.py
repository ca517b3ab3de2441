"""A failure after a submit never makes a duplicate: real `robo` processes against the mock intranet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from runner.events import ItemStatus
from runner.record import RunStore
from tests.e2e.conftest import ROOT, SECRETS, Bot
from tests.mock_intranet.sample_data import SampleCase, generate_cases, write_xlsx
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
              - browser.click: {role: "button:Se connecter", error_when: {css: ".erreur"}}"""

# The typo: 'Reference externe' for 'Référence externe', in a log after the submit, on items 1, 3 and 5.
TYPO = "demande['Reference externe']"
FIXED = "demande['Référence externe']"


def workflow_text(*, checked: bool) -> str:
    text = f"""
name: Saisie avec une faute après l'envoi
inputs:
  fichier: {{type: file}}
  intranet: {{type: string}}
  pause: {{type: integer, default: 0, description: milliseconds to wait on the first item after its submit}}
secrets: [identifiant, mot_de_passe]
defaults:
  timeout: 15
steps:
  - excel.read_rows: {{path: "{{{{ inputs.fichier }}}}"}}
    save: demandes
  - name: Saisir chaque demande
    for_each: "{{{{ demandes }}}}"
    as: demande
    key: demande["Référence externe"]
    setup:
      - browser.open: {{url: "{{{{ inputs.intranet }}}}"}}
    steps:
      - browser.goto: {{url: "{{{{ inputs.intranet }}}}/dossiers/nouveau"}}{LOGIN}
      - name: Remplir et enregistrer le formulaire
        browser.fill_form:
          fields: "{{{{ demande }}}}"
          submit: Enregistrer
          error_when: {{css: ".resume-erreurs"}}
      - name: Relever le numéro de dossier
        browser.read_text: {{css: "#numero-dossier"}}
        save: numero
      - name: Attendre (le temps d'un arrêt brutal)
        when: inputs.pause > 0 and loop.first
        browser.goto: {{url: "{{{{ inputs.intranet }}}}/attente?delai={{{{ inputs.pause }}}}"}}
      - name: Attendre le résultat
        when: inputs.pause > 0 and loop.first
        browser.wait_for: {{css: "#resultat", timeout: 120}}
      - if: loop.index % 2 == 0
        then:
          - log: "{{{{ {TYPO} }}}} → {{{{ numero }}}}"
"""
    if checked:
        text += f"""    already_done:
      - browser.goto: {{url: "{{{{ inputs.intranet }}}}/dossiers?q={{{{ demande['Référence externe'] | urlencode }}}}"}}{LOGIN}
      - browser.goto: {{url: "{{{{ inputs.intranet }}}}/dossiers?q={{{{ demande['Référence externe'] | urlencode }}}}"}}
      - browser.exists: {{text: "{{{{ demande['Référence externe'] }}}}", within: table, exact: true}}
"""
    return text


def robo(*args: str, logs: Path) -> subprocess.CompletedProcess[str]:
    return robo_process(*args, "--logs", str(logs), cwd=ROOT, environ=SECRETS, timeout=600)


class Scene:
    """Five requests, a workflow file, and what the run store and the intranet say."""

    def __init__(self, bot: Bot, tmp_path: Path, *, checked: bool) -> None:
        self.bot = bot
        self.logs = tmp_path / "logs"
        self.cases: list[SampleCase] = generate_cases(5, seed=1010)
        self.source = write_xlsx(self.cases, tmp_path / "demandes.xlsx")
        self.workflow = tmp_path / "saisie.yaml"
        self.workflow.write_text(workflow_text(checked=checked), encoding="utf-8")
        self.references = [case.reference_externe for case in self.cases]

    def inputs(self) -> list[str]:
        return ["-i", f"fichier={self.source}", "-i", f"intranet={self.bot.intranet.url}"]

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return robo("run", str(self.workflow), *self.inputs(), *extra, logs=self.logs)

    def fix_the_typo(self) -> None:
        text = self.workflow.read_text(encoding="utf-8")
        self.workflow.write_text(text.replace(TYPO, FIXED), encoding="utf-8")

    def entered(self) -> Counter[str]:
        return Counter(case["reference_externe"] for case in self.bot.stored())

    def store(self) -> RunStore:
        return RunStore(f"sqlite:///{self.logs / 'robo.db'}")

    def run_id(self) -> str:
        store = self.store()
        try:
            return store.list_runs(limit=1)[0].id
        finally:
            store.close()

    def statuses(self, run_id: str) -> dict[str, str]:
        store = self.store()
        try:
            return {row["key"]: row["status"] for row in store.run_items(run_id)}
        finally:
            store.close()

    def report(self, run_id: str) -> str:
        store = self.store()
        try:
            record = store.get_run(run_id)
        finally:
            store.close()
        assert record is not None and record.run_dir
        return (Path(record.run_dir) / "report.html").read_text(encoding="utf-8")


def test_a_failure_after_the_submit_leaves_items_to_check_that_a_retry_does_not_enter_again(
    bot: Bot, tmp_path: Path
) -> None:
    scene = Scene(bot, tmp_path, checked=False)
    first = scene.run()
    assert first.returncode == 3, first.stderr
    run_id = scene.run_id()
    odd, even = scene.references[0::2], scene.references[1::2]
    assert scene.entered() == Counter(scene.references)  # the intranet saved all five
    assert scene.statuses(run_id) == {
        **dict.fromkeys(odd, ItemStatus.TO_CHECK),
        **dict.fromkeys(even, ItemStatus.DONE),
    }

    retry = robo("runs", "retry", run_id, logs=scene.logs)
    assert retry.returncode == 3, retry.stderr
    assert scene.entered() == Counter(scene.references)  # exactly five records: none entered twice
    assert scene.statuses(run_id) == {
        **dict.fromkeys(odd, ItemStatus.TO_CHECK),
        **dict.fromkeys(even, ItemStatus.DONE),
    }
    assert "3 items to check (not done again):" in retry.stderr
    assert all(f"  {reference}: entered? check {reference}" in retry.stderr for reference in odd)
    assert f"robo runs mark {run_id} KEY --done" in retry.stderr

    shown = robo("runs", "show", run_id, logs=scene.logs)
    assert shown.returncode == 0, shown.stderr
    listed_apart = shown.stdout.split("3 items to check")[1]
    assert all(reference in listed_apart for reference in odd)
    assert not any(reference in listed_apart for reference in even)
    report = scene.report(run_id)
    assert "All 5 items done" not in report
    assert "Items to check (3): they may have been entered" in report
    assert "correct it, then run the item again" not in report

    marked = robo("runs", "mark", run_id, odd[0], "--done", logs=scene.logs)
    assert marked.returncode == 0, marked.stderr
    assert scene.statuses(run_id)[odd[0]] == ItemStatus.DONE
    verify = robo("audit", "verify", run_id, logs=scene.logs)
    assert verify.returncode == 0, verify.stdout

    scene.fix_the_typo()
    forced = robo("runs", "retry", run_id, "--force", logs=scene.logs)
    assert forced.returncode == 0, forced.stderr
    # --force did the two items still to check again (entered twice, as it warns); the marked one was left.
    assert scene.entered() == Counter(scene.references) + Counter(odd[1:])
    assert set(scene.statuses(run_id).values()) == {ItemStatus.DONE}


def test_with_already_done_a_retry_checks_the_items_and_enters_none_again(bot: Bot, tmp_path: Path) -> None:
    scene = Scene(bot, tmp_path, checked=True)
    first = scene.run()
    assert first.returncode == 3, first.stderr
    run_id = scene.run_id()
    assert scene.entered() == Counter(scene.references)
    scene.fix_the_typo()
    retry = robo("runs", "retry", run_id, logs=scene.logs)
    assert retry.returncode == 0, retry.stderr
    assert scene.entered() == Counter(scene.references)  # checked, found, not entered again
    assert set(scene.statuses(run_id).values()) == {ItemStatus.DONE}
    assert retry.stderr.count("was already done before the interruption: not entered again") == 3


def test_killed_after_the_submit_the_resumed_run_leaves_the_item_to_check(bot: Bot, tmp_path: Path) -> None:
    scene = Scene(bot, tmp_path, checked=False)
    scene.fix_the_typo()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(scene.workflow),
            *scene.inputs(),
            "-i",
            "pause=120000",
            "--logs",
            str(scene.logs),
        ],
        cwd=ROOT,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that the kill takes the browser down with it, as a crash would
    )
    try:
        wait_until(lambda: scene.entered(), timeout=120, interval=0.1)  # the first request is saved
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    run_id = scene.run_id()
    first = scene.references[0]
    assert scene.entered() == Counter([first])
    resumed = scene.run("--resume", run_id, "-i", "pause=0")
    assert resumed.returncode == 3, resumed.stderr
    assert scene.entered() == Counter(scene.references)  # the first one once, not twice
    assert scene.statuses(run_id) == {
        first: ItemStatus.TO_CHECK,
        **dict.fromkeys(scene.references[1:], ItemStatus.DONE),
    }
    assert f"entered? check {first}" in resumed.stderr
