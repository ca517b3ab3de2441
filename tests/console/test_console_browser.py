"""The console as an agent uses it: headless Chromium driven by Playwright against `robo dashboard` started by the
test on 127.0.0.1, over a store filled by real runs on the mock intranet. Log in, filter the runs, search a case
number, open a failed run and see its screenshot, retry its failed items as an operator and see the run succeed,
mark an item to check with a comment, and be refused as a viewer. Screenshots of the pages are saved to be looked
at (build/console-screenshots/)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runner.record import RunStore, default_store_url
from tests.console.live_dashboard import OPERATOR, VIEWER, csrf_of
from tests.console.world import HEIGHT, WIDTH, World, screenshot
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
SAISIE_NAME = "Saisie des dossiers dans l'intranet"


@pytest.fixture
def new_page(console_browser: Any, console_world: World) -> Iterator[Any]:
    """Pages of a fresh browser context each (their own cookies)."""
    contexts: list[Any] = []

    def opened() -> Any:
        context = console_browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT}, base_url=console_world.dashboard.url
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


def log_in(page: Any, user: tuple[str, str], *, shot: str | None = None) -> None:
    """Open the runs page, get sent to the login form, fill it like a person and land on the runs."""
    page.goto("/runs")
    assert "/login" in page.url
    page.get_by_label("User name").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/runs"))
    assert page.get_by_role("heading", name="Runs").is_visible()


def run_rows(page: Any) -> Any:
    return page.locator("table.runs tbody tr").filter(has=page.locator("a"))


def run_ids(page: Any) -> set[str]:
    return {text.strip() for text in run_rows(page).locator("td:last-child a").all_inner_texts()}


def choose_status(page: Any, status: str) -> None:
    field = page.get_by_label("Status", exact=True)
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(status)
    else:
        field.fill(status)


class TestReading:
    def test_an_operator_logs_in_and_sees_every_run(self, new_page: Any, console_world: World) -> None:
        page = new_page()
        log_in(page, OPERATOR, shot="login")
        store = console_world.store
        every = {store.entered.run_id, store.failed.run_id, store.to_check.run_id, store.hostile.run_id}
        assert every <= run_ids(page)
        screenshot(page, "runs")

    def test_the_runs_are_filtered_by_workflow_and_status(self, new_page: Any, console_world: World) -> None:
        page = new_page()
        log_in(page, VIEWER)
        store = console_world.store
        page.get_by_label("Workflow").select_option(SAISIE_NAME)
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"workflow="))
        assert run_ids(page) == {store.entered.run_id, store.failed.run_id}
        assert set(run_rows(page).locator("td:nth-child(2)").all_inner_texts()) == {SAISIE_NAME}

        page.get_by_label("Workflow").select_option("")
        choose_status(page, "completed_with_errors")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"status=completed_with_errors"))
        shown = run_ids(page)
        assert store.to_check.run_id in shown
        assert store.entered.run_id not in shown and store.hostile.run_id not in shown
        screenshot(page, "runs-filtered")

    def test_a_case_number_finds_the_runs_that_touched_it(self, new_page: Any, console_world: World) -> None:
        page = new_page()
        log_in(page, VIEWER)
        store = console_world.store
        case = store.entered_cases[1].reference_externe
        page.get_by_label("Item key").fill(case)
        page.get_by_label("Item key").press("Enter")
        page.wait_for_url(re.compile(r"item=" + re.escape(case)))
        assert run_ids(page) == {store.entered.run_id}
        page.get_by_label("Item key").fill(store.to_check_keys[0])
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"item=" + re.escape(store.to_check_keys[0])))
        assert run_ids(page) == {store.to_check.run_id}
        page.get_by_label("Item key").fill("REF-1999-9999")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"item=REF-1999-9999"))
        assert run_ids(page) == set()
        assert page.get_by_text("No run matches these filters.").is_visible()

    def test_a_failed_run_shows_its_failed_items_and_their_screenshot(
        self, new_page: Any, console_world: World
    ) -> None:
        page = new_page()
        log_in(page, VIEWER)
        failed = console_world.store.failed
        assert failed.run_id is not None
        page.get_by_role("link", name=failed.run_id).click()
        page.wait_for_url(re.compile(re.escape(failed.run_id) + "$"))
        assert page.get_by_role("heading", name=SAISIE_NAME).is_visible()
        for case in console_world.store.failed_cases:
            item = page.locator("details.item", has_text=case.reference_externe)
            assert "failed" in item.locator("summary").inner_text()
            assert "no field labelled 'Nom du demandeur'" in item.locator("summary").inner_text()
        images = page.locator("img[src$='.png']")
        assert images.count() >= 1
        image = images.first
        image.scroll_into_view_if_needed()  # loading="lazy": loaded once near the screen
        width = wait_until(lambda: image.evaluate("i => i.complete && i.naturalWidth"), timeout=15)
        assert width > 0
        source = image.get_attribute("src")
        assert page.request.get(source).headers["content-type"] == "image/png"
        screenshot(page, "run-failed")

    def test_the_items_to_look_at_list_failed_and_to_check_items(
        self, new_page: Any, console_world: World
    ) -> None:
        page = new_page()
        log_in(page, VIEWER)
        page.get_by_role("link", name="Items to look at").click()
        page.wait_for_url(re.compile(r"/items"))
        table = page.locator("table.items")
        for key in console_world.store.to_check_keys:
            assert table.locator("tr", has_text=key).count() >= 1
        screenshot(page, "items")


def status_of_run(dashboard_url: str, client: httpx.Client, run_id: str) -> str:
    """The run's status cell on the runs page (as a person polls it)."""
    page = client.get(f"{dashboard_url}/runs", params={"page": 1})
    row = re.search(
        r"<tr[^>]*>(?:(?!</tr>).)*?" + re.escape(run_id) + r".*?</tr>", page.text, flags=re.DOTALL
    )
    assert row is not None, page.text[:500]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), flags=re.DOTALL)
    return re.sub(r"<[^>]+>", "", cells[2]).strip()


class TestActing:
    def test_an_operator_retries_the_failed_items_and_the_run_succeeds(
        self, new_page: Any, console_world: World
    ) -> None:
        store, intranet = console_world.store, console_world.intranet
        assert intranet.running
        failed = store.failed
        run_id = failed.run_id
        assert run_id is not None
        page = new_page()
        log_in(page, OPERATOR)
        page.goto(f"/runs/{run_id}")
        retry = page.get_by_role("button", name="Retry failed items")
        assert retry.is_visible()
        retry.click()
        page.wait_for_url(re.compile(re.escape(run_id)))
        screenshot(page, "run-retry-started")

        with console_world.dashboard.logged_in(OPERATOR) as client:
            wait_until(
                lambda: status_of_run(console_world.dashboard.url, client, run_id) == "succeeded",
                timeout=180,
                interval=0.5,
            )
        page.goto(f"/runs/{failed.run_id}")
        for case in store.failed_cases:
            assert "done" in page.locator("details.item", has_text=case.reference_externe).inner_text()
        entered = httpx.get(f"{intranet.url}/api/test/dossiers", headers=intranet.test_headers, timeout=10)
        stored = {case["reference_externe"] for case in entered.json()["dossiers"]}
        assert {case.reference_externe for case in store.failed_cases} <= stored
        screenshot(page, "run-retried")
        actions = [record for record in operator_records(console_world) if record.get("action") == "retry"]
        assert actions and actions[-1]["user"] == OPERATOR[0]

    def test_an_operator_marks_an_item_to_check_with_a_comment(
        self, new_page: Any, console_world: World
    ) -> None:
        run = console_world.store.to_check
        key = console_world.store.to_check_keys[0]
        page = new_page()
        log_in(page, OPERATOR)
        page.goto(f"/runs/{run.run_id}")
        item = page.locator("details.item", has_text=key)
        assert "to check" in item.locator("summary").inner_text()
        # An item to check comes open for an operator, its form in view.
        assert item.get_attribute("open") is not None
        comment = f"vu dans l'intranet : {key} est bien saisi"
        item.get_by_label("Comment").fill(comment)
        screenshot(page, "run-to-check")
        item.get_by_role("button", name="Mark as done").click()
        page.wait_for_load_state()
        with RunStore(default_store_url(console_world.store.logs)) as runs:
            statuses = {row["key"]: row["status"] for row in runs.run_items(run.run_id or "")}
        assert statuses[key] == "done"
        assert comment in page.content()
        marks = [record for record in operator_records(console_world) if record.get("action") == "mark"]
        assert marks and marks[-1]["user"] == OPERATOR[0]
        assert comment in json.dumps(marks[-1], ensure_ascii=False)
        screenshot(page, "run-marked")


def operator_records(world: World) -> list[dict[str, Any]]:
    """The operators' audit log's records, flattened (who, what, details) whatever the event's nesting."""
    path = world.store.logs / "operators" / "audit.jsonl"
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        flat: dict[str, Any] = {}
        for part in (record, record.get("data") or {}, record.get("event") or {}):
            if isinstance(part, dict):
                flat |= {name: value for name, value in part.items() if not isinstance(value, dict)}
        flat["raw"] = record
        records.append(flat)
    return records


class TestViewer:
    def test_a_viewer_sees_no_acting_button(self, new_page: Any, console_world: World) -> None:
        page = new_page()
        log_in(page, VIEWER)
        for run in (console_world.store.failed, console_world.store.to_check):
            page.goto(f"/runs/{run.run_id}")
            assert page.get_by_role("heading", level=1).is_visible()
            for item in page.locator("details.item").all():  # every item opened: its forms would show
                item.locator("summary").click()
            assert page.get_by_text("to check").count() >= 1 or run is console_world.store.failed
            for name in ("Retry failed items", "Resume this run", "Mark as done", "Mark to redo"):
                assert page.get_by_role("button", name=name).count() == 0, name
        screenshot(page, "run-as-viewer")

    def test_a_forged_post_by_a_viewer_is_refused(self, console_world: World) -> None:
        dashboard = console_world.dashboard
        run, key = console_world.store.to_check, console_world.store.to_check_keys[-1]
        with RunStore(default_store_url(console_world.store.logs)) as runs:
            before = {row["key"]: row["status"] for row in runs.run_items(run.run_id or "")}
        with dashboard.logged_in(VIEWER) as viewer:
            token = csrf_of(viewer.get("/runs").text)
            retry = viewer.post(
                f"/runs/{console_world.store.failed.run_id}/retry", data={"csrf_token": token}
            )
            mark = viewer.post(
                "/items/mark",
                data={
                    "csrf_token": token,
                    "run_id": run.run_id,
                    "key": key,
                    "outcome": "done",
                    "comment": "x",
                },
            )
        assert retry.status_code == 403
        assert mark.status_code == 403
        with RunStore(default_store_url(console_world.store.logs)) as runs:
            after = {row["key"]: row["status"] for row in runs.run_items(run.run_id or "")}
        assert after == before
        assert after[key] in ("to_check", "pending")
