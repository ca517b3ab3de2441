"""Choosing a recorded element's target (runner/recorder/checking.py) when the page changed before the check."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright

from robots.browser import LAUNCH_ARGS, Target, find_browser
from runner.recorder.checking import target_of, unique_target


def _checked_after_the_page_was_replaced(tmp_path: Path) -> Target | None:
    """A button clicked on one page, checked once its click has already led to the next page."""
    form = tmp_path / "formulaire.html"
    form.write_text('<!doctype html><form><button type="button">Envoyer</button></form>', encoding="utf-8")
    received = tmp_path / "recu.html"
    received.write_text('<!doctype html><p id="recu">Reçu</p>', encoding="utf-8")

    async def check() -> Target | None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(find_browser(headless=True)), args=list(LAUNCH_ARGS)
            )
            try:
                page = await browser.new_page()
                await page.goto(form.as_uri())
                element = await page.query_selector("button")
                await page.goto(received.as_uri())
                candidates = [("role", "button:Envoyer", 1), ("css", "body > form > button", 1)]
                return await unique_target(page, element, candidates)
            finally:
                await browser.close()

    return asyncio.run(check())


def test_a_page_replaced_before_the_check_leaves_the_count_at_the_action_to_decide(tmp_path: Path) -> None:
    """The next page has no such button: that says nothing of the page clicked, whose own count (one) decides."""
    assert _checked_after_the_page_was_replaced(tmp_path) == target_of("role", "button:Envoyer")
