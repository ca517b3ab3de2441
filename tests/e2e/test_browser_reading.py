"""The browser robot reading and exchanging documents with the mock intranet: tables, uploads, downloads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.sample_data import generate_cases

pytestmark = pytest.mark.slow

LOGIN = """
  - browser.open: {url: "{{ inputs.intranet }}/connexion"}
  - browser.fill: {label: Identifiant, value: "{{ secrets.identifiant }}"}
  - browser.fill: {label: Mot de passe, value: "{{ secrets.mot_de_passe }}"}
  - browser.click: {role: "button:Se connecter"}
"""
HEAD = """
inputs:
  intranet: {type: string}
secrets: [identifiant, mot_de_passe]
steps:
"""


def enter_cases(bot: Bot, count: int) -> list[str]:
    with IntranetAgent(bot.intranet.url) as agent:
        agent.login(DEFAULT_ACCOUNT.username, DEFAULT_ACCOUNT.password)
        return [agent.submit_case(case.form_values()).numero or "" for case in generate_cases(count, seed=7)]


class TestReadTable:
    def test_the_paginated_case_list_is_read_whole(self, bot: Bot, tmp_path: Path) -> None:
        numbers = enter_cases(bot, 45)
        output = tmp_path / "liste.json"
        outcome, _ = bot.run(
            "name: Lire la liste"
            + HEAD
            + LOGIN
            + f"""
  - browser.goto: {{url: /dossiers}}
  - browser.read_table: {{next_page: Suivant}}
    save: lignes
  - data.write_json: {{data: "{{{{ lignes }}}}", path: "{output}"}}
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        rows = json.loads(output.read_text(encoding="utf-8"))
        assert sorted(row["Numéro"] for row in rows) == sorted(numbers)
        assert len(rows) == 45
        assert {"Numéro", "Nom du demandeur", "Prénom", "Montant demandé"} <= set(rows[0])


class TestDocuments:
    def test_upload_then_download_byte_for_byte(self, bot: Bot, tmp_path: Path) -> None:
        [number] = enter_cases(bot, 1)
        original = tmp_path / "justificatif.pdf"
        original.write_bytes(bytes(range(256)) * 97 + "é fin".encode())
        outcome, _ = bot.run(
            "name: Pièces"
            + HEAD
            + LOGIN
            + f"""
  - browser.goto: {{url: /dossiers/{number}}}
  - browser.upload: {{label: Document, files: "{original}"}}
  - browser.click: {{role: "button:Téléverser"}}
  - browser.assert_text: {{expected: "téléversé"}}
  - browser.download: {{role: "link:justificatif.pdf", to: "{tmp_path}/retour/"}}
    save: fichier
  - log: "{{{{ fichier.sha256 }}}}"
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        returned = tmp_path / "retour" / "justificatif.pdf"
        assert returned.read_bytes() == original.read_bytes()
        [case] = bot.stored()
        assert [d["nom_fichier"] for d in case["documents"]] == ["justificatif.pdf"]
        assert (
            hashlib.sha256(returned.read_bytes()).hexdigest()
            == hashlib.sha256(original.read_bytes()).hexdigest()
        )


class TestWaiting:
    def test_an_element_that_appears_late_is_waited_for(self, bot: Bot) -> None:
        outcome, recorder = bot.run(
            "name: Attente"
            + HEAD
            + LOGIN
            + """
  - browser.goto: {url: "/attente?delai=1500"}
  - browser.read_text: {css: "#reference-traitement", timeout: 10}
    save: reference
  - browser.click: {role: "button:Continuer"}
  - browser.wait_for: {text: Étape suivante atteinte.}
  - browser.exists: {text: Chargement en cours}
    save: encore
  - fail: "le chargement est encore affiché"
    when: encore
  - log: "{{ reference }}"
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        [message] = [e.message for e in recorder.of("log") if e.step]
        assert message.startswith("TRT-")
