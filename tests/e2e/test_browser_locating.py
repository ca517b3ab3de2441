"""Workflows typed the way people type, on the mock intranet's traps (see its README, "Traps of real pages").

Labels with curly apostrophes, a framework's " :", a required marker inside the label, options with curly
apostrophes, an aside that repeats the button's text; a label typo that must fail in seconds, shown live; a text
that names two links equally well.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SECRETS, Bot
from tests.mock_intranet.sample_data import generate_cases

pytestmark = pytest.mark.slow

HEAD = """
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
"""
LOGIN = """
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {role: "button:Se connecter", error_when: {css: ".erreur"}}
"""
# The page says "Identifiant (nom d’utilisateur)", curly; a person types a straight apostrophe and a colon.
LOGIN_AS_TYPED = LOGIN.replace("label: Identifiant,", 'label: "Identifiant (nom d\'utilisateur) :",')


def test_a_case_typed_field_by_field_as_people_type_is_entered(bot: Bot) -> None:
    case = next(c for c in generate_cases(20, seed=12) if c.valid and c.type_demande == "Aide à l'emploi")
    values = case.form_values()
    outcome, _ = bot.run(
        "name: Saisie champ par champ"
        + HEAD
        + "steps:"
        + LOGIN_AS_TYPED
        + f"""
  - browser.goto: {{url: /dossiers/nouveau}}
  - browser.fill: {{label: Nom du demandeur, value: "{values["nom"]}"}}
  - browser.fill: {{label: "Prénom :", value: "{values["prenom"]}"}}
  - browser.fill: {{label: siret, value: "{values["siret"]}"}}
  - browser.fill: {{label: Adresse, value: "{values["adresse"]}"}}
  - browser.fill: {{label: Code postal, value: "{values["code_postal"]}"}}
  - browser.fill: {{label: "Ville :", value: "{values["ville"]}"}}
  - browser.fill: {{label: Courriel, value: "{values["courriel"]}"}}
  - browser.fill: {{label: Montant demandé, value: "{values["montant"]}"}}
  - browser.select: {{label: Type de demande, option: "Aide à l'emploi"}}
  - browser.choose: {{option: "{values["priorite"]}", group: Priorité}}
  - browser.fill: {{label: Date de la demande, value: "{values["date_demande"]}"}}
  - browser.fill: {{label: Référence externe, value: "{values["reference_externe"]}"}}
  - browser.click: {{text: Enregistrer, error_when: {{css: ".resume-erreurs"}}}}
  - browser.read_text: {{css: "#numero-dossier", timeout: 10}}
"""
    )
    assert outcome.status == "succeeded", outcome.diagnostics
    [stored] = bot.stored()
    assert stored["reference_externe"] == case.reference_externe
    assert (stored["adresse"], stored["code_postal"], stored["ville"]) == (
        case.adresse,
        case.code_postal,
        case.ville,
    )
    assert stored["type_demande"] == "Aide à l'emploi"


def test_a_text_that_names_two_links_equally_well_is_an_error_listing_them(bot: Bot) -> None:
    outcome, recorder = bot.run(
        "name: Deux liens"
        + HEAD
        + "steps:"
        + LOGIN
        + """
  - browser.goto: {url: /}
  - browser.click: {text: Nouveau dossier}
"""
    )
    assert outcome.status == "failed"
    [diagnostic] = outcome.diagnostics
    assert diagnostic.message == (
        "step 'browser.click' failed: the element with the text 'Nouveau dossier' matches 2 elements equally well on the page "
        "'Accueil — Portail des agents': <a> 'Nouveau dossier', <strong> 'Nouveau dossier'"
    )
    assert "within" in (diagnostic.hint or "")
    assert not recorder.of("retry_scheduled")  # a mistake in the workflow is not retried

    outcome, _ = bot.run(
        "name: Le lien de la page"
        + HEAD
        + "steps:"
        + LOGIN
        + """
  - browser.goto: {url: /}
  - browser.click: {text: Nouveau dossier, within: main}
  - browser.assert_text: {expected: Les champs marqués}
"""
    )
    assert outcome.status == "succeeded", outcome.diagnostics


TYPO = (
    "name: Une faute de frappe"
    + HEAD
    + """
steps:
  - for_each: [1, 2, 3, 4, 5, 6]
    as: n
    key: n
    setup:"""
    + LOGIN.replace("\n  - ", "\n      - ")
    + """
    steps:
      - browser.goto: {url: "{{ inputs.intranet }}/dossiers/nouveau"}
      - browser.fill: {label: Nom du demandeurr, value: "Dupont {{ n }}"}
"""
)


def test_a_label_typo_fails_in_seconds_shown_live_and_stops_the_run_after_three_items(
    bot: Bot, tmp_path: Path
) -> None:
    workflow = tmp_path / "faute.yaml"
    workflow.write_text(TYPO, encoding="utf-8")
    started = time.monotonic()
    command = [sys.executable, "-m", "runner.cli", "run", str(workflow), "-i", f"intranet={bot.intranet.url}"]
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        [*command, "--logs", str(tmp_path / "logs")],
        cwd=ROOT,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            assert process.stdout is not None
            # Read as the run prints it, each line with the moment it came.
            lines.extend((time.monotonic() - started, line.rstrip("\n")) for line in process.stdout)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    output = "\n".join(text for _, text in lines)
    assert process.returncode != 0, output
    failed = [
        (at, text) for at, text in lines if " ✗ failed: " in text
    ]  # an item's line: [1/3] key ✗ failed: …
    assert [text.split("] ", 1)[1].split(" ✗", 1)[0] for _, text in failed] == ["1", "2", "3"], output
    for _, text in failed:
        assert "the field labelled 'Nom du demandeurr' is not on the page" in text, text
        assert "did you mean 'Nom du demandeur'" in text, text  # live, with the item's line
    # Each item fails within seconds of the previous one: one short wait, no retries for minutes.
    assert failed[2][0] - failed[0][0] < 30, output
    assert "the same error on 3 items in a row, the run stops" in output
    assert "retry" not in output.lower().replace("--resume", ""), output
