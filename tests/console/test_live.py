"""A run's page while the run is going: its progress read from the store and the audit log, as JSON for the page's
script and in the page itself (a reload without JavaScript shows the same), and the script served from the
package under the strict Content-Security-Policy."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from runner.console import CONTENT_SECURITY_POLICY, PAGES
from runner.console.access import Role
from runner.console.live import LoopTotalsReader
from runner.record import RunStore, default_store_url
from runner.review import run_page_link
from runner.run import RunOutcome
from tests.console.conftest import TestClient, add_users, console_app, log_in, log_out
from tests.running import WorkflowRunner
from tests.waiting import wait_until

# The third item waits for its go-ahead file: the test looks at the run while it is stuck there.
GATED = """
name: Saisie des dossiers
steps:
  - for_each: [DOS-1, "DOS-2 <b>gras</b>", DOS-3, DOS-4]
    as: d
    key: d
    steps:
      - name: Refuser le deuxième
        probe.refuse: {reason: "SIRET <script>alert(1)</script> invalide"}
        when: d.startswith('DOS-2')
      - name: Attendre le feu vert
        files.wait_for_file: {folder: feux, pattern: "DOS-3.go", stable_for: 0, timeout: 60, interval: 0.05}
        when: d == 'DOS-3'
      - probe.echo: {value: "{{ d }}"}
"""


def start_in_background(run_yaml: WorkflowRunner, text: str) -> tuple[threading.Thread, list[RunOutcome]]:
    outcomes: list[RunOutcome] = []

    def run() -> None:
        outcome, _events = run_yaml(text)
        outcomes.append(outcome)

    thread = threading.Thread(target=run, name="gated-run")
    thread.start()
    return thread, outcomes


def progress_of(client: TestClient, run_id: str) -> dict[str, Any]:
    answer = client.get(f"/runs/{run_id}/live.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    result: dict[str, Any] = answer.json()
    return result


def test_a_running_run_shows_its_progress_current_item_and_failures_as_they_come(
    run_yaml: WorkflowRunner, tmp_path: Path
) -> None:
    (tmp_path / "feux").mkdir()
    logs = tmp_path / "logs"
    thread, outcomes = start_in_background(run_yaml, GATED)
    try:
        # The run made its store and its folder first: open the store only then, not while it is being made.
        run_dir = wait_until(lambda: next(logs.glob("*/*/audit.jsonl"), None), timeout=60).parent
        with RunStore(default_store_url(logs)) as store:

            def first_run() -> str | None:
                found = store.list_runs(limit=1)
                return found[0].id if found else None

            run_id = wait_until(first_run, timeout=60)
            assert run_dir.name == run_id or run_id in str(run_dir)
            users = add_users(store)
            with TestClient(console_app(store, logs, users), follow_redirects=False) as client:
                assert log_in(client, "valerie").status_code == 303

                def stuck_on_the_third() -> dict[str, Any] | None:
                    progress = progress_of(client, run_id)
                    return progress if [c["key"] for c in progress["current"]] == ["DOS-3"] else None

                progress = wait_until(stuck_on_the_third, timeout=60)
                assert progress["running"] is True and progress["status"] == "running"
                assert (progress["done"], progress["failed"], progress["to_check"]) == (1, 1, 0)
                assert (progress["total"], progress["left"]) == (4, 2)
                assert progress["numbers"]["left"] == "2"
                assert [f["key"] for f in progress["failures"]] == ["DOS-2 <b>gras</b>"]
                assert "SIRET <script>alert(1)</script> invalide" in progress["failures"][0]["error"]

                page = client.get(f"/runs/{run_id}")
                assert page.status_code == 200
                assert 'data-running="true"' in page.text
                assert 'src="http://testserver/static/live.js"' in page.text
                assert f'data-url="http://testserver/runs/{run_id}/live.json"' in page.text
                live_part = page.text.split('id="live"')[1].split("</section>")[0]
                assert "DOS-3" in live_part.split('id="live-current"')[1].split("</ul>")[0]
                assert "DOS-2 &lt;b&gt;gras&lt;/b&gt;" in live_part
                assert "SIRET &lt;script&gt;alert(1)&lt;/script&gt; invalide" in live_part
                assert "<script>alert" not in page.text
                assert '<dd id="live-left">2</dd>' in live_part

                (tmp_path / "feux" / "DOS-3.go").write_text("go", encoding="utf-8")
                thread.join(timeout=60)
                assert not thread.is_alive()
                assert outcomes and outcomes[0].status == "completed_with_errors"

                finished = progress_of(client, run_id)
                assert finished["running"] is False and finished["status"] == "completed_with_errors"
                assert (finished["done"], finished["failed"], finished["left"]) == (3, 1, 0)
                assert finished["current"] == []
                done_page = client.get(f"/runs/{run_id}").text
                assert 'data-running="false"' in done_page and "static/live.js" not in done_page
    finally:
        (tmp_path / "feux" / "DOS-3.go").touch()
        thread.join(timeout=60)


def test_the_progress_route_is_for_viewers_and_an_unknown_run_is_not_found(
    run_yaml: WorkflowRunner, tmp_path: Path
) -> None:
    (tmp_path / "feux").mkdir()
    (tmp_path / "feux" / "DOS-3.go").write_text("go", encoding="utf-8")
    outcome, _events = run_yaml(GATED)
    assert outcome.status == "completed_with_errors", outcome.diagnostics
    logs = tmp_path / "logs"
    assert {page.name: page.role for page in PAGES}["run_live"] == Role.VIEWER
    with RunStore(default_store_url(logs)) as store:
        users = add_users(store)
        client = TestClient(console_app(store, logs, users), follow_redirects=False)
        anonymous = client.get(f"/runs/{outcome.run_id}/live.json")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
        assert log_in(client, "valerie").status_code == 303
        assert client.get("/runs/<nothing>/live.json").status_code == 404
        # The link the e-mails, webhooks and `robo run` give opens this run's page.
        link = run_page_link(outcome.run_id, {"ROBO_DASHBOARD_URL": "http://testserver/"})
        assert link is not None and client.get(link).status_code == 200
        assert f"<dd>{outcome.run_id}</dd>" in client.get(link).text
        progress = progress_of(client, str(outcome.run_id))
        assert (progress["running"], progress["done"], progress["failed"], progress["left"]) == (
            False,
            3,
            1,
            0,
        )
        # Worked out in a worker thread, still in the reader's language.
        french = client.get(f"/runs/{outcome.run_id}/live.json", params={"lang": "fr"}).json()
        assert french["status_text"] == "terminé avec des erreurs"
        script = client.get("/static/live.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "innerHTML" not in script.text and "textContent" in script.text
        log_out(client)
        assert client.get(f"/runs/{outcome.run_id}/live.json").status_code == 303  # the script then stops


class TestLoopTotals:
    def test_only_what_was_appended_is_read_and_a_half_written_record_waits(self, tmp_path: Path) -> None:
        log = tmp_path / "audit.jsonl"
        log.write_bytes(
            b'{"seq":1,"event":"run_started"}\n'
            b'{"seq":2,"event":"loop_started","loop":"s1","total":3}\n'
            b'{"seq":3,"event":"step_finished","name":"\\"event\\":\\"loop_started\\""}\n'
        )
        reader = LoopTotalsReader()
        assert reader.totals(log) == {"s1": 3}
        with log.open("ab") as file:
            file.write(b'{"seq":4,"event":"loop_started","loop":"s2","tot')
        assert reader.totals(log) == {"s1": 3}
        with log.open("ab") as file:
            file.write(
                b'al":5}\nnot json "event":"loop_started"\n{"seq":6,"event":"loop_started","loop":"s1","total":-2}\n'
            )
        assert reader.totals(log) == {"s1": 3, "s2": 5}
        log.write_bytes(b'{"seq":1,"event":"loop_started","loop":"s9","total":7}\n')  # replaced: read again
        assert reader.totals(log) == {"s9": 7}
        assert reader.totals(tmp_path / "missing.jsonl") == {}
