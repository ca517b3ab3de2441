"""Dialogs, uploads and downloads, recorded on the mock intranet's pages and replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.language import load_workflow_text
from runner.recorder import RecordingRequest
from tests.mock_intranet.http_agent import IntranetAgent
from tests.mock_intranet.sample_data import generate_cases
from tests.mock_intranet.server import MockIntranet
from tests.recorder.recording import SECRET_ENV, log_in_at, record_as_person, robo

pytestmark = pytest.mark.slow


def steps_of(text: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load_workflow_text(text).data["steps"]
    return steps


class TestDialogs:
    def test_a_confirmation_box_is_accepted_and_recorded_as_accept_dialog_on_the_button_that_opens_it(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        output = tmp_path / "dialogues.yaml"

        async def person(page: Any) -> None:
            await page.get_by_role("button", name="Envoyer la demande").click()
            await page.get_by_role("button", name="Confirmer").click()
            await page.get_by_role("button", name="Supprimer le brouillon").click()
            await page.get_by_text("Brouillon supprimé.").wait_for()

        request = RecordingRequest(f"{mock_intranet.url}/dialogues", output, headless=True)
        workflow, _said = record_as_person(request, person)

        assert workflow.valid, workflow.diagnostics
        kinds = [next(k for k in step if k.startswith("browser.")) for step in steps_of(workflow.text)]
        assert kinds == ["browser.open", "browser.click", "browser.click", "browser.accept_dialog"]
        assert steps_of(workflow.text)[3]["browser.accept_dialog"] == {
            "role": "button:Supprimer le brouillon"
        }
        replay = robo("run", str(output), "--logs", str(tmp_path / "logs"))
        assert replay.returncode == 0, replay.stdout + replay.stderr


class TestFiles:
    def test_an_upload_and_a_download_are_recorded_with_the_file_field_and_the_link(
        self, mock_intranet: MockIntranet, tmp_path: Path
    ) -> None:
        case = next(c for c in generate_cases(10, seed=3) if c.valid)
        with IntranetAgent(mock_intranet.url) as agent:
            agent.login("agent1", "Motdepasse-1!")
            numero = agent.submit_case(case.form_values()).numero
        assert numero is not None
        scan = tmp_path / "scan.txt"
        scan.write_text("pièce justificative\n", encoding="utf-8")
        output = tmp_path / "pieces.yaml"

        async def person(page: Any) -> None:
            await log_in_at(page, f"**/dossiers/{numero}")
            await page.locator("#document").set_input_files(str(scan))
            await page.get_by_role("button", name="Téléverser").click()
            async with page.expect_download() as download:
                await page.get_by_role("link", name="scan.txt").click()
            await download.value

        request = RecordingRequest(f"{mock_intranet.url}/dossiers/{numero}", output, headless=True)
        workflow, said = record_as_person(request, person)

        assert workflow.valid, workflow.diagnostics
        assert "put 'scan.txt' beside the workflow" in said
        steps = steps_of(workflow.text)
        [upload] = [s["browser.upload"] for s in steps if "browser.upload" in s]
        assert upload == {"label": "Document", "files": "scan.txt"}
        [download_step] = [s["browser.download"] for s in steps if "browser.download" in s]
        assert download_step == {"role": "link:scan.txt"}
        replay = robo("run", str(output), "--logs", str(tmp_path / "logs"), env=SECRET_ENV)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        downloaded = list((tmp_path / "logs").rglob("scan.txt"))
        assert downloaded and downloaded[0].read_text(encoding="utf-8") == "pièce justificative\n"
