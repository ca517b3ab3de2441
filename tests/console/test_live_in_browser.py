"""The run's page in headless Chromium while the run goes: the script served from the package (under the strict
Content-Security-Policy) updates the progress in place, puts hostile keys and errors in the page as text, and
loads the page again when the run ends. Screenshots in build/console-screenshots/ are saved to be looked at."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.record import RunStore, default_store_url
from runner.run import RunOutcome
from tests.console.conftest import PASSWORD, add_users, console_app
from tests.running import WorkflowRunner
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"

# Two gates: the page is opened while the first item waits, the second gate holds the run at its third item.
TWO_GATES = """
name: Saisie des dossiers
steps:
  - for_each: [DOS-1, "DOS-2 <b>gras</b>", DOS-3, DOS-4]
    as: d
    key: d
    steps:
      - name: Attendre le feu vert
        files.wait_for_file: {folder: feux, pattern: "{{ d }}.go", stable_for: 0, timeout: 120, interval: 0.05}
        when: d in ['DOS-1', 'DOS-3']
      - name: Refuser le deuxième
        probe.refuse: {reason: "SIRET <img src=x onerror=alert(1)> invalide"}
        when: d.startswith('DOS-2')
      - probe.echo: {value: "{{ d }}"}
"""


class Served:
    """The console served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def browser() -> Iterator[Any]:
    from robots.browser import find_browser

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(find_browser()), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_page_follows_the_run_in_place_then_shows_its_end(
    run_yaml: WorkflowRunner, tmp_path: Path, browser: Any
) -> None:
    gates = tmp_path / "feux"
    gates.mkdir()
    logs = tmp_path / "logs"
    outcomes: list[RunOutcome] = []
    running = threading.Thread(target=lambda: outcomes.append(run_yaml(TWO_GATES)[0]), name="gated-run")
    running.start()
    try:
        wait_until(lambda: next(logs.glob("*/*/audit.jsonl"), None), timeout=60)
        with RunStore(default_store_url(logs)) as store:
            app = console_app(store, logs, add_users(store))
            run_id = wait_until(lambda: [run.id for run in store.list_runs(limit=1)], timeout=60)[0]
            with Served(app) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
                problems: list[str] = []
                # Console errors other than failed loads (a CSP refusal, a script error), and failed requests by
                # address (the page's icon included: a /favicon.ico the console does not declare would be refused).
                page.on(
                    "console",
                    lambda message: (
                        problems.append(message.text)
                        if message.type == "error" and not message.text.startswith("Failed to load resource")
                        else None
                    ),
                )
                page.on(
                    "response",
                    lambda answer: (
                        problems.append(f"{answer.status} {answer.url}") if answer.status >= 400 else None
                    ),
                )
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.goto(f"{base}/runs/{run_id}?lang=en")
                page.get_by_label("User name").fill("valerie")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(re.compile(rf"/runs/{run_id}"))
                assert page.locator("#live").get_attribute("data-running") == "true"
                page.locator("#live-current li", has_text="DOS-1").wait_for()
                page.evaluate("window.stillTheSamePage = true")

                (gates / "DOS-1.go").write_text("go", encoding="utf-8")  # on to the refused one, then DOS-3
                page.locator("#live-current li", has_text="DOS-3").wait_for(timeout=20_000)
                failure = page.locator("#live-failures li").first
                failure.wait_for()
                assert failure.locator(".key").text_content() == "DOS-2 <b>gras</b>"
                assert "<img src=x onerror=alert(1)>" in (failure.locator(".error").text_content() or "")
                assert page.locator("#live-failures b, #live-failures img").count() == 0  # text, not HTML
                assert page.locator("#live-done").text_content() == "1"
                assert page.locator("#live-left").text_content() == "2"
                assert page.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "live-run-going.png"), full_page=True)

                (gates / "DOS-3.go").write_text("go", encoding="utf-8")
                # (a locator: the CSP refuses Playwright's evaluated predicates too)
                page.locator('#live[data-running="false"]').wait_for(timeout=20_000)
                assert page.evaluate("window.stillTheSamePage") is None  # the page was loaded again, whole
                assert page.locator("#live-left").text_content() == "0"
                assert page.locator("#live-current-part").is_hidden()
                assert page.locator("#run-status").text_content() == "completed with errors"
                page.screenshot(path=str(SCREENSHOTS / "live-run-ended.png"), full_page=True)
                print(f"screenshots: {SCREENSHOTS}")
                assert problems == [], problems  # no script refused by the CSP, no error
    finally:
        for name in ("DOS-1.go", "DOS-3.go"):
            (gates / name).touch()
        running.join(timeout=60)
    assert outcomes and outcomes[0].status == "completed_with_errors"
