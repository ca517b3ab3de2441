"""The mock intranet driven by a real Chromium, as the browser robot will drive it."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest

from tests.mock_intranet import MockIntranet

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.async_api")


async def _fill_case(page: object, intranet: MockIntranet, name: str, attachment: bytes) -> str:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    await page.goto(f"{intranet.url}/dossiers/nouveau")
    await page.get_by_label("Nom du demandeur", exact=True).fill(name)
    await page.get_by_label("Prénom", exact=True).fill("Élodie")
    await page.get_by_label("SIRET", exact=True).fill("73282932000074")
    await page.get_by_label("Adresse").fill("12 rue des Lilas")
    await page.get_by_label("Code postal").fill("69003")
    await page.get_by_label("Ville").fill("Lyon")
    await page.get_by_label("Courriel", exact=True).fill("elodie@example.fr")
    await page.get_by_label("Montant demandé", exact=True).fill("1 500,00")
    await page.get_by_label("Type de demande", exact=True).select_option(label="Formation")
    await page.get_by_label("Urgente", exact=True).check()
    await page.get_by_label("Pièces justificatives fournies", exact=True).check()
    await page.get_by_label("Date de la demande", exact=True).fill("2025-06-30")
    await page.get_by_label("Observations", exact=True).fill("Saisi par le navigateur.")
    await page.get_by_label("Pièce jointe", exact=True).set_input_files(
        {"name": "justificatif.pdf", "mimeType": "application/pdf", "buffer": attachment}
    )
    await page.get_by_role("button", name="Enregistrer").click()
    return await page.locator("#numero-dossier").inner_text()


async def _log_in(page: object, intranet: MockIntranet, username: str, password: str) -> None:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    await page.goto(f"{intranet.url}/connexion")
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_role("button", name="Se déconnecter").wait_for()


async def _scenario(intranet: MockIntranet) -> dict[str, object]:
    from playwright.async_api import async_playwright

    results: dict[str, object] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            contexts = [await browser.new_context() for _ in range(4)]
            pages = [await context.new_page() for context in contexts]
            accounts = [account for account in intranet.accounts if account.active][:4]
            await asyncio.gather(
                *(
                    _log_in(page, intranet, a.username, a.password)
                    for page, a in zip(pages, accounts, strict=True)
                )
            )

            results["numbers"] = await asyncio.gather(
                *(
                    _fill_case(page, intranet, f"Navigateur{index}", bytes([index]) * 500)
                    for index, page in enumerate(pages)
                )
            )

            page = pages[0]
            await page.goto(f"{intranet.url}/attente?delai=300")
            await page.locator("#resultat").wait_for(timeout=5000)
            results["delayed"] = await page.locator("#reference-traitement").inner_text()

            await page.goto(f"{intranet.url}/dialogues")
            page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.get_by_role("button", name="Supprimer le brouillon").click()
            results["confirm"] = await page.locator("#resultat-confirmation").inner_text()
            await page.get_by_role("button", name="Envoyer la demande").click()
            await page.get_by_role("dialog").get_by_role("button", name="Confirmer").click()
            results["modal"] = await page.locator("#resultat-fenetre").inner_text()

            intranet.state.sessions.expire_all()
            await page.goto(f"{intranet.url}/dossiers")
            results["expired"] = await page.locator(".avertissement").inner_text()
            for context in contexts:
                await context.close()
        finally:
            await browser.close()
    return results


def test_four_browser_contexts_fill_the_form_by_label(mock_intranet: MockIntranet) -> None:
    results = asyncio.run(_scenario(mock_intranet))
    numbers = results["numbers"]
    assert isinstance(numbers, list)
    assert len(set(numbers)) == 4
    with httpx.Client(base_url=mock_intranet.url, headers=mock_intranet.test_headers) as api:
        stored = api.get("/api/test/dossiers").json()
    assert stored["counts"]["total"] == 4
    assert stored["counts"]["documents"] == 4
    case = stored["dossiers"][0]
    assert (case["type_demande"], case["priorite"], case["pieces_fournies"]) == ("Formation", "Urgente", True)
    assert (case["montant"], case["date_demande"]) == ("1500.00", "2025-06-30")
    assert str(results["delayed"]).startswith("TRT-")
    assert results["confirm"] == "Brouillon supprimé."
    assert results["modal"] == "Demande envoyée."
    assert "Votre session a expiré" in str(results["expired"])
