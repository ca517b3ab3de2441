"""Helpers for the recorder's tests: a person's actions in the recording browser, and `robo` as a process."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runner.recorder import RecordedWorkflow, RecordingRequest, record
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.mock_intranet.sample_data import SampleCase
from tests.running import robo_process

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = DEFAULT_ACCOUNT.password
SECRET_ENV = {"ROBO_SECRET_MOT_DE_PASSE": PASSWORD}


def record_as_person(
    request: RecordingRequest, person: Callable[[Any], Awaitable[None]]
) -> tuple[RecordedWorkflow, str]:
    """Record while `person` acts on the page; the workflow and everything the recorder said."""
    said: list[str] = []
    workflow = asyncio.run(record(request, said.append, drive=person))
    return workflow, "\n".join(said)


async def type_into(page: Any, name: str, text: str) -> None:
    """Click a field (by its id: how the person finds it does not matter) and type, key after key."""
    await page.locator(f"#{name}").click()
    await page.keyboard.type(text)


async def log_in(page: Any) -> None:
    await log_in_at(page, "**/dossiers/nouveau")


async def log_in_at(page: Any, then: str) -> None:
    """Log in on the login page the intranet showed, and wait for the page it leads to (`then`, a glob)."""
    await type_into(page, "identifiant", DEFAULT_ACCOUNT.username)
    await type_into(page, "mot_de_passe", PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(then)


async def fill_case(page: Any, case: SampleCase) -> None:
    """The case form, filled field by field with the keyboard and the mouse, then sent."""
    values = case.form_values()
    await type_into(page, "reference_externe", values["reference_externe"])
    await type_into(page, "nom", values["nom"])
    await type_into(page, "prenom", values["prenom"])
    await type_into(page, "siret", values["siret"])
    await type_into(page, "adresse", values["adresse"])
    await type_into(page, "code_postal", values["code_postal"])
    await type_into(page, "ville", values["ville"])
    await type_into(page, "courriel", values["courriel"])
    await type_into(page, "montant", values["montant"])
    await page.locator("#type_demande").select_option(label=values["type_demande"])
    await page.locator(f"#priorite-{values['priorite'].lower()}").click()  # chosen already or not
    if values["pieces_fournies"]:
        await page.locator("#pieces_fournies").check()
    await page.locator("#date_demande").fill(values["date_demande"])
    if values["observations"]:
        await type_into(page, "observations", values["observations"])
    await page.get_by_role("button", name="Enregistrer").click()
    await page.locator("#numero-dossier").wait_for()


def robo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`robo` in a process of its own, as a person runs it."""
    return robo_process(*args, cwd=ROOT, environ=env, timeout=300)
