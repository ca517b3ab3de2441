"""Fixtures of the console's Must-show tests (tests/conftest.py imports them by name): the session's store
filled by real runs on the mock intranet with `robo dashboard` serving it, and a headless Chromium (Debian's, through
Playwright's `executable_path`; never `playwright install`).

Screenshots of the pages go to build/console-screenshots/ (ignored by git; the path is printed) to be looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.record import AUDIT_KEY_VARIABLE
from tests.console.intranet_runs import FilledStore, fill_store
from tests.console.live_dashboard import Dashboard, running_dashboard
from tests.e2e.conftest import ROOT, SECRETS
from tests.mock_intranet.server import MockIntranet

SCREENSHOTS = ROOT / "build" / "console-screenshots"
WIDTH, HEIGHT = 1280, 900


@dataclass(frozen=True)
class World:
    """The session's store filled by real runs, the dashboard serving it, the intranet the runs entered into, and
    the audit key the runs, the dashboard and the runs it starts all sign with."""

    store: FilledStore
    dashboard: Dashboard
    intranet: MockIntranet
    audit_key: Path


@pytest.fixture(scope="session")
def console_world(
    mock_intranet_server: MockIntranet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Made once per session (per xdist worker): the real runs take tens of seconds."""
    folder = tmp_path_factory.mktemp("console-world")
    key = folder / "audit.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(AUDIT_KEY_VARIABLE, str(key))
        filled = fill_store(mock_intranet_server, folder)
    dropped = {"ROBO_STORE_URL", "PYTEST_CURRENT_TEST"}
    environ = {name: value for name, value in os.environ.items() if name not in dropped}
    environ |= {**SECRETS, AUDIT_KEY_VARIABLE: str(key), "ROBO_LANG": "en"}
    with running_dashboard(filled.logs, environ) as dashboard:
        yield World(filled, dashboard, mock_intranet_server, key)


@pytest.fixture(scope="module")
def console_browser() -> Iterator[Any]:
    """Per module: Playwright's sync API allows one instance at a time in a thread, and other modules start theirs."""
    from playwright.sync_api import sync_playwright

    from robots.browser import find_browser

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_browser()), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """The whole page saved as build/console-screenshots/NAME.png (printed, to be looked at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"console screenshot: {shot}")
    assert shot.stat().st_size > 5_000
    return shot
