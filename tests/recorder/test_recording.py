"""`robo record` end to end: a person's actions in the recording browser (Playwright, headless) on the mock
intranet become a workflow that `robo validate` accepts as written and `robo run` replays to the same record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.recorder import RecordingRequest
from tests.mock_intranet.sample_data import COLUMN_FIELDS, generate_cases, write_xlsx
from tests.mock_intranet.server import MockIntranet
from tests.recorder.recording import PASSWORD, SECRET_ENV, fill_case, log_in, record_as_person, robo

pytestmark = pytest.mark.slow

# What the intranet stores of a case, apart from what it adds itself (its number, dates, who entered it): the
# spreadsheet's columns.
CASE_FIELDS = COLUMN_FIELDS


def stored(intranet: MockIntranet) -> list[dict[str, Any]]:
    import httpx

    response = httpx.get(f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=10)
    response.raise_for_status()
    cases: list[dict[str, Any]] = response.json()["dossiers"]
    return cases


def fields_of(case: dict[str, Any]) -> dict[str, Any]:
    return {name: case.get(name) for name in CASE_FIELDS}


class TestRecordingAForm:
    def test_a_form_recorded_as_a_person_fills_it_is_valid_and_replays_to_the_same_record(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        case = next(c for c in generate_cases(30, seed=19) if c.valid and c.observations)
        output = tmp_path / "saisie.yaml"

        async def person(page: Any) -> None:
            await log_in(page)
            await fill_case(page, case)

        request = RecordingRequest(f"{mock_intranet.url}/dossiers/nouveau", output, headless=True)
        workflow, said = record_as_person(request, person)

        assert workflow.valid, workflow.diagnostics
        text = output.read_text(encoding="utf-8")
        assert text == workflow.text
        assert text.startswith("# "), "a comment header says when and where it was recorded"
        assert mock_intranet.url in text.splitlines()[0]
        assert "browser.fill_form:" in text, "the form's fields, filled one by one, are folded into one step"
        assert 'label: Mot de passe, value: "{{ secrets.mot_de_passe }}"' in text
        assert "secrets: [mot_de_passe]" in text
        assert 'role: "button:Enregistrer"' in text
        [recorded] = stored(mock_intranet)

        checked = robo("validate", str(output))
        assert checked.returncode == 0, checked.stdout + checked.stderr

        replay = robo("run", str(output), "--logs", str(tmp_path / "logs"), env=SECRET_ENV)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        first, second = stored(mock_intranet)
        assert first["numero"] == recorded["numero"]
        assert fields_of(second) == fields_of(recorded)
        assert second["reference_externe"] == case.reference_externe

        for seen in (text, said, checked.stdout + checked.stderr, replay.stdout + replay.stderr):
            assert PASSWORD not in seen

    def test_field_by_field_keeps_one_step_per_field_and_consecutive_keys_are_one_fill(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        output = tmp_path / "champ_par_champ.yaml"

        async def person(page: Any) -> None:
            await log_in(page)
            await page.locator("#nom").click()
            await page.keyboard.type("Duponte")
            await page.keyboard.press("Backspace")
            await page.keyboard.type("d")
            await page.locator("#ville").click()
            await page.keyboard.type("Nantes")
            await page.locator("#code_postal").click()
            await page.keyboard.type("44000")
            await page.locator("#pieces_fournies").check()  # a click that loads no page
            await page.goto(f"{mock_intranet.url}/dossiers")  # an address typed in the address bar

        request = RecordingRequest(f"{mock_intranet.url}/dossiers/nouveau", output, fold=False, headless=True)
        workflow, _said = record_as_person(request, person)

        assert workflow.valid, workflow.diagnostics
        assert "fill_form" not in workflow.text
        assert workflow.text.count("browser.fill:") == 5  # identifiant, mot de passe, nom, ville, code postal
        assert "{label: Nom du demandeur, value: Dupontd}" in workflow.text
        assert 'value: "44000"' in workflow.text
        assert workflow.text.count("browser.goto:") == 1, "the page the login leads to is the click's doing"
        assert f'browser.goto: {{url: "{mock_intranet.url}/dossiers"}}' in workflow.text


class TestRecordingOverASpreadsheet:
    def test_values_of_the_first_row_become_columns_and_the_form_a_loop_replayed_for_every_row(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        cases = [c for c in generate_cases(40, seed=7) if c.valid and c.observations][:3]
        data = write_xlsx(cases, tmp_path / "demandes.xlsx")
        output = tmp_path / "saisie_tableur.yaml"

        async def person(page: Any) -> None:
            await log_in(page)
            await fill_case(page, cases[0])

        request = RecordingRequest(f"{mock_intranet.url}/dossiers/nouveau", output, data=data, headless=True)
        workflow, said = record_as_person(request, person)

        assert workflow.valid, workflow.diagnostics
        text = workflow.text
        assert "for_each:" in text and "as: demande" in text
        assert (
            "key: 'demande[\"Référence externe\"]'" in text
            or 'key: "demande[\\"Référence externe\\"]"' in text
        )
        assert '{{ demande[\\"Nom du demandeur\\"] }}' in text
        assert "default: demandes.xlsx" in text
        assert f"'{cases[0].nom}' replaced by {{{{ demande[\"Nom du demandeur\"] }}}}" in said
        assert "Identifiant" in text.split("for_each:")[0], "the login stays before the loop"
        assert PASSWORD not in text + said

        stored(mock_intranet)  # the recording's own record
        replay = robo("run", str(output), "--logs", str(tmp_path / "logs"), env=SECRET_ENV)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        replayed = stored(mock_intranet)[1:]
        assert sorted(c["reference_externe"] for c in replayed) == sorted(c.reference_externe for c in cases)
        by_reference = {c["reference_externe"]: c for c in replayed}
        for case in cases:
            entered = by_reference[case.reference_externe]
            assert (entered["nom"], entered["prenom"], entered["siret"], entered["ville"]) == (
                case.nom,
                case.prenom,
                case.siret,
                case.ville,
            )
            assert entered["priorite"] == case.priorite
            assert entered["type_demande"] == case.type_demande
