"""The console's read-only pages over real runs: lists, filters, search, a run's page, escaping, exports, metrics,
and the role each route needs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from runner.console import CONTENT_SECURITY_POLICY, create_app
from runner.console.access import Role
from runner.console.queries import RunFilter, run_page
from runner.record import RunStore, default_store_url
from tests.console.conftest import Filled, TestClient, log_out


def test_the_runs_page_lists_every_run_with_hostile_names_as_text(filled: Filled) -> None:
    page = filled.client.get("/runs")
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "Saisie &lt;script&gt;alert(&#39;nom&#39;)&lt;/script&gt;" in page.text
    assert "Relevés" in page.text
    assert filled.hostile.run_id and filled.hostile.run_id in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_run_page_shows_items_steps_screenshot_and_audit_verdict_escaped(filled: Filled) -> None:
    page = filled.client.get(f"/runs/{filled.hostile.run_id}")
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#39;clé&#39;)&lt;/script&gt;" in page.text  # the item's key, a cell value
    assert "Envoyer le formulaire" in page.text and "SIRET invalide" in page.text
    assert "intact" in page.text
    screenshots = [line for line in page.text.splitlines() if "<img" in line]
    assert screenshots, "the failure's screenshot is shown"
    source = screenshots[0].split('src="')[1].split('"')[0]
    image = filled.client.get(source)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_an_unknown_run_is_a_page_not_found(filled: Filled) -> None:
    page = filled.client.get("/runs/<b>nothing<i>")
    assert page.status_code == 404
    assert "&lt;b&gt;nothing&lt;i&gt;" in page.text


def test_filters_by_workflow_status_date_and_trigger(filled: Filled) -> None:
    client = filled.client
    assert (
        filled.plain.run_id
        and filled.plain.run_id not in client.get("/runs", params={"status": "completed_with_errors"}).text
    )
    only = client.get("/runs", params={"workflow": "Relevés"}).text
    assert filled.plain.run_id and filled.plain.run_id in only
    assert filled.hostile.run_id and filled.hostile.run_id not in only
    today = dt.datetime.now(dt.UTC).date()
    assert "2 runs" in client.get("/runs", params={"since": today.isoformat()}).text
    assert "0 runs" in client.get("/runs", params={"until": (today - dt.timedelta(days=2)).isoformat()}).text
    assert "0 runs" in client.get("/runs", params={"trigger": "retry"}).text
    assert "2 runs" in client.get("/runs", params={"trigger": "manual"}).text
    assert "2 runs" in client.get("/runs", params={"since": "not a date", "page": "-3", "trigger": "x"}).text


def test_search_by_item_key_finds_the_runs_that_touched_it(filled: Filled) -> None:
    both = filled.client.get("/runs", params={"item": "DOS-001"}).text
    assert "2 runs" in both
    one = filled.client.get("/runs", params={"item": "REL-2"}).text
    assert "1 run" in one and filled.plain.run_id and filled.plain.run_id in one
    assert "0 runs" in filled.client.get("/runs", params={"item": "DOS-00"}).text  # a key, not a part of one


def test_paging_keeps_the_filters(filled: Filled) -> None:
    first = run_page(filled.store.engine, RunFilter(), size=1)
    second = run_page(filled.store.engine, RunFilter(page=2), size=1)
    beyond = run_page(filled.store.engine, RunFilter(page=99), size=1)
    assert (first.total, first.pages) == (2, 2)
    assert first.rows[0]["id"] != second.rows[0]["id"]
    assert beyond.page == 2
    assert RunFilter(workflow="a b", page=3).query(page=4) == {"workflow": "a b", "page": "4"}


def test_items_to_look_at_with_their_history(filled: Filled) -> None:
    page = filled.client.get("/items")
    assert page.status_code == 200
    assert "DOS-003" in page.text and "SIRET invalide" in page.text
    assert f'href="http://testserver/runs/{filled.hostile.run_id}"' in page.text
    assert "REL-1" not in page.text  # done items are not listed
    assert "DOS-003" not in filled.client.get("/items", params={"item": "DOS-001"}).text


def test_exports_csv_json_and_junit(filled: Filled) -> None:
    client = filled.client
    listed = client.get("/export/runs.csv", params={"workflow": "Relevés"})
    rows = list(csv.DictReader(io.StringIO(listed.text)))
    assert [row["id"] for row in rows] == [filled.plain.run_id]
    assert json.loads(client.get("/export/runs.json").text)[0]["id"] in {
        filled.plain.run_id,
        filled.hostile.run_id,
    }
    items = list(csv.DictReader(io.StringIO(client.get(f"/runs/{filled.hostile.run_id}/export.csv").text)))
    assert {row["key"] for row in items} >= {"DOS-001", "DOS-003"}
    run = json.loads(client.get(f"/runs/{filled.hostile.run_id}/export.json").text)
    assert len(run["items"]) == 3
    suite = ET.fromstring(client.get(f"/runs/{filled.hostile.run_id}/export.junit").content)
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    assert suite.get("name") == "Saisie <script>alert('nom')</script>"
    assert (
        client.get(f"/runs/{filled.hostile.run_id}/export.exe").status_code == 403
    )  # no such format: closed


def test_a_csv_cell_that_looks_like_a_formula_is_not_one(filled: Filled) -> None:
    from runner.console.exports import as_csv

    text = as_csv([{"key": "=HYPERLINK(1)", "error": "+33 6", "status": "done"}], ("key", "error", "status"))
    assert "'=HYPERLINK(1)" in text and "'+33 6" in text


def test_metrics_and_health(filled: Filled) -> None:
    metrics = filled.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'robo_runs{status="succeeded",workflow="Relevés"} 1.0' in metrics.text
    assert "robo_schedule_service_up 0.0" in metrics.text
    log_out(filled.client)
    assert filled.client.get("/healthz").text == "ok"


def test_a_path_no_route_declares_needs_an_admin(filled: Filled) -> None:
    client = filled.client
    assert client.get("/nothing-here").status_code == 403
    filled.log_in("adele")
    assert client.get("/nothing-here").status_code == 404


def test_with_no_user_the_console_lets_this_machine_read_and_nobody_else(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    with RunStore(default_store_url(logs)) as store:
        app = create_app(store, logs)
        with TestClient(
            app, base_url="http://127.0.0.1:8050", client=("127.0.0.1", 50000), follow_redirects=False
        ) as local:
            assert local.get("/runs").status_code == 200
            assert local.get("/login").headers["location"] == "/"  # nothing to log in to
            assert "Log out" not in local.get("/runs").text
        with TestClient(app, client=("10.0.0.7", 50000)) as remote:
            assert remote.get("/runs").status_code == 403
            assert remote.get("/healthz").status_code == 200
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN


def test_the_schedules_page_says_no_service_ran(filled: Filled) -> None:
    page = filled.client.get("/schedules")
    assert page.status_code == 200
    assert "No schedule service has used this database." in page.text


def test_the_filters_offer_the_statuses_and_triggers_in_the_readers_words(filled: Filled) -> None:
    english = filled.client.get("/runs", params={"status": "completed_with_errors"}).text
    assert '<option value="completed_with_errors" selected>completed with errors</option>' in english
    french = filled.client.get("/runs", params={"lang": "fr"}).text
    assert '<option value="completed_with_errors">terminé avec des erreurs</option>' in french
    assert '<option value="manual">à la demande</option>' in french
    assert "<td>à la demande</td>" in french  # each run's trigger too, not the stored word


def test_a_run_page_names_the_worker_of_each_item_a_fleet_did(filled: Filled, tmp_path: Path) -> None:
    from tests.fleet.recorded import record_fleet_run

    done_by = {"DOS-101": "bot-1", "DOS-102": "<script>alert('bot')</script>", "DOS-103": "bot-1"}
    record_fleet_run(filled.store, "20261201-flotte", tmp_path / "logs" / "flotte", done_by)
    page = filled.client.get("/runs/20261201-flotte")
    assert page.status_code == 200
    assert "<script>" not in page.text
    names = re.findall(
        r'<span class="key">([^<]+)</span> — [^<]+ — <span class="worker">worker ([^<]+)</span>', page.text
    )
    assert names == [
        ("DOS-101", "bot-1"),
        ("DOS-102", "&lt;script&gt;alert(&#39;bot&#39;)&lt;/script&gt;"),
        ("DOS-103", "bot-1"),
    ]
    local = filled.client.get(f"/runs/{filled.plain.run_id}")  # a run without a fleet: no worker named
    assert local.status_code == 200 and 'class="worker"' not in local.text
