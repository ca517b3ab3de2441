"""The operators' actions from the console, through the app over real runs: each does what its command does (a
retry enters the failed items, a mark stores the verdict and its comment, a pause is kept), each is written to the
operators' log before it is done, a tampered log stops it, a viewer cannot act, hostile input is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.console.access import operators_log_path, verify_operators_log
from runner.record import RunRecord, RunStore, default_store_url
from runner.review import reported
from runner.run import RunOptions, run_workflow
from runner.schedule import ScheduleDatabase
from tests.console.conftest import TestClient, add_users, console_app, csrf_of, log_in
from tests.waiting import wait_until

RELANCE = """\
name: Relance des dossiers
inputs:
  fichier: {type: file, description: Le tableau des dossiers}
  priorite: {type: string, default: normale, choices: [normale, urgente]}
schedule:
  - {cron: "0 7 * * 1-5", name: matin, inputs: {fichier: dossiers.csv}}
steps:
  - data.read_csv: {path: "{{ inputs.fichier }}"}
    save: dossiers
  - for_each: "{{ dossiers }}"
    as: dossier
    key: dossier.reference
    steps:
      - fail: "le nom du dossier {{ dossier.reference }} manque"
        when: not dossier.nom
      - files.copy: {source: "{{ inputs.fichier }}", target: "sortie/{{ dossier.reference }}.csv", on_conflict: overwrite}
      - fail: "pas de réponse après l'envoi de {{ dossier.reference }}"
        when: dossier.etat == 'perdu'
"""
# D1 done, D2 failed (no name), D3 to check (no answer after the copy, a change).
DOSSIERS = "reference;nom;etat\nD1;Martin;ok\nD2;;ok\nD3;Lefèvre;perdu\n"
CORRECTED = "reference;nom;etat\nD1;Martin;ok\nD2;Durand;ok\nD3;Lefèvre;ok\n"

ATTENTE = """\
name: Attente des pièces
steps:
  - for_each: [A1, A2]
    as: ref
    key: ref
    steps:
      - files.wait_for_file: {folder: arrivee, pattern: "{{ ref }}.ok", timeout: 120, stable_for: 0}
"""
ACTIONS_ONLY = ("login", "logout")  # the gate logs these too


@dataclass
class Desk:
    operator: TestClient  # logged in as oscar
    viewer: TestClient  # logged in as valerie
    store: RunStore
    logs: Path
    workflows: Path
    run: RunRecord  # of RELANCE: D1 done, D2 failed, D3 to check

    def act(self, path: str, **fields: str) -> Any:
        """A form posted by the operator as a browser does from a page of the console (its CSRF token with it)."""
        return self.post(path, fields)

    def post(self, path: str, fields: dict[str, str], *, role: str = "operator", csrf: bool = True) -> Any:
        client = self.operator if role == "operator" else self.viewer
        token = {"csrf_token": csrf_of(client, "/runs")} if csrf else {}
        return client.post(path, data={**fields, **token})

    def page(self, path: str, role: str = "operator") -> Any:
        return (self.operator if role == "operator" else self.viewer).get(path)

    def items(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        return {row["key"]: row for row in self.store.run_items(run_id or self.run.id)}

    def status(self, run_id: str | None = None) -> str:
        record = self.store.get_run(run_id or self.run.id)
        assert record is not None
        return reported(record).status

    def operator_records(self) -> list[dict[str, Any]]:
        path = operators_log_path(self.logs)
        if not path.is_file():
            return []
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [record for record in records if record["action"] not in ACTIONS_ONLY]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    workflows = tmp_path / "flux"
    workflows.mkdir()
    (workflows / "relance.yaml").write_text(RELANCE, encoding="utf-8")
    (workflows / "dossiers.csv").write_text(DOSSIERS, encoding="utf-8")
    logs = tmp_path / "logs"
    outcome = run_workflow(
        workflows / "relance.yaml",
        RunOptions(inputs={"fichier": str(workflows / "dossiers.csv")}, logs_dir=logs, environ={}),
    )
    assert outcome.status == "completed_with_errors" and outcome.run_id
    with RunStore(default_store_url(logs)) as store:
        record = store.get_run(outcome.run_id)
        assert record is not None
        app = console_app(store, logs, add_users(store), workflows_dir=workflows)
        with (
            TestClient(app, follow_redirects=False) as operator,
            TestClient(app, follow_redirects=False) as viewer,
        ):
            assert log_in(operator, "oscar").status_code == 303
            assert log_in(viewer, "valerie").status_code == 303
            desk = Desk(operator, viewer, store, logs, workflows, record)
            assert {key: row["status"] for key, row in desk.items().items()} == {
                "D1": "done",
                "D2": "failed_business",
                "D3": "to_check",
            }
            yield desk


def paused(desk: Desk) -> set[str]:
    return ScheduleDatabase(desk.store.url, engine=desk.store.engine).paused()


def started_after_logged(desk: Desk, action: str) -> dict[str, Any]:
    """The operators' record of `action`, checked intact."""
    [record] = [r for r in desk.operator_records() if r["action"] == action]
    assert record["user"] == "oscar" and record["address"] == "testclient"
    assert verify_operators_log(desk.logs).intact
    return record


class TestRetry:
    def test_retry_enters_the_failed_item_in_a_process_of_its_own_logged_first(self, desk: Desk) -> None:
        (desk.workflows / "dossiers.csv").write_text(CORRECTED, encoding="utf-8")
        answer = desk.act(f"/runs/{desk.run.id}/retry")
        assert answer.status_code == 303
        assert answer.headers["location"].endswith(f"/runs/{desk.run.id}?done=retry")
        record = started_after_logged(desk, "retry")
        output = record["details"].pop("output")
        assert record["details"] == {"run": desk.run.id, "workflow": "Relance des dossiers"}
        wait_until(lambda: desk.items()["D2"]["status"] == "done" and desk.status() != "running", timeout=60)
        items = desk.items()
        assert items["D1"]["status"] == "done"
        assert items["D3"]["status"] == "to_check"  # maybe entered: a retry never does it again blindly
        after = desk.store.get_run(desk.run.id)
        assert after is not None and after.session_started_at
        assert record["at"] < after.session_started_at  # written before the run started
        launches = list((desk.logs / "operators" / "launches").glob("*-retry-*.log"))
        assert [launch.relative_to(desk.logs).as_posix() for launch in launches] == [output]
        page = desk.page(f"/runs/{desk.run.id}?done=retry")
        assert "The failed items are being done again" in page.text
        assert "retry failed items" in page.text and "oscar" in page.text  # the operator actions
        printed = desk.page(f"/artifacts/{output}", role="viewer")  # linked from the run's page
        assert f'href="http://testserver/artifacts/{output}"' in page.text
        assert printed.status_code == 200 and "D2" in printed.text

    def test_a_double_click_enters_the_failed_item_once(self, desk: Desk) -> None:
        (desk.workflows / "dossiers.csv").write_text(CORRECTED, encoding="utf-8")
        assert desk.act(f"/runs/{desk.run.id}/retry").status_code == 303
        second = desk.act(f"/runs/{desk.run.id}/retry")  # before the first one started, or refused as running
        assert second.status_code in (303, 409)
        launches = desk.logs / "operators" / "launches"

        def ended() -> list[str]:
            # each process ends by naming its run's files, or refused as the run is being resumed
            texts = [path.read_text(encoding="utf-8") for path in launches.iterdir()]
            done = all("artifacts:" in text or "already-running" in text for text in texts)
            return texts if done and len(texts) == (2 if second.status_code == 303 else 1) else []

        texts = wait_until(ended, timeout=60)
        assert sum(text.count("copied dossiers.csv → sortie/D2.csv") for text in texts) == 1
        assert desk.items()["D2"]["status"] == "done"

    def test_a_run_with_nothing_to_retry_is_refused(self, desk: Desk) -> None:
        (desk.workflows / "vide.csv").write_text("reference;nom;etat\nD9;Petit;ok\n", encoding="utf-8")
        done = run_workflow(
            desk.workflows / "relance.yaml",
            RunOptions(inputs={"fichier": str(desk.workflows / "vide.csv")}, logs_dir=desk.logs, environ={}),
        )
        assert done.status == "succeeded" and done.run_id
        answer = desk.act(f"/runs/{done.run_id}/retry")
        assert answer.status_code == 409
        assert "has no failed item to do again" in answer.text
        assert desk.operator_records() == []


class TestMark:
    def test_mark_done_stores_the_verdict_and_the_comment(self, desk: Desk) -> None:
        comment = "saisi le 12 <b>n° 4521</b> {{ 7*7 }} {note}"
        answer = desk.act(
            "/items/mark", run_id=desk.run.id, key="D3", outcome="done", comment=comment, loop="steps[1]"
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].endswith("?done=marked-done")
        row = desk.items()["D3"]
        assert row["status"] == "done"
        assert "marked done by oscar" in row["error"] and comment in row["error"]
        record = started_after_logged(desk, "mark")
        assert record["details"]["key"] == "D3" and record["details"]["comment"] == comment
        run_log = Path(desk.run.run_dir or "") / "audit.jsonl"
        marked = [json.loads(line) for line in run_log.read_text(encoding="utf-8").splitlines()][-1]
        assert marked["event"] == "item_marked" and marked["comment"] == comment
        assert record["at"] <= marked["at"]  # the operators' log first
        page = desk.page(f"/runs/{desk.run.id}")
        assert (
            "saisi le 12 &lt;b&gt;n° 4521&lt;/b&gt; {{ 7*7 }} {note}" in page.text
            and "<b>n°" not in page.text
        )

    def test_mark_to_redo_makes_the_next_retry_do_it(self, desk: Desk) -> None:
        answer = desk.act("/items/mark", run_id=desk.run.id, key="D3", outcome="redo", comment="pas trouvé")
        assert answer.status_code == 303
        row = desk.items()["D3"]
        assert row["status"] == "pending" and "pas trouvé" in row["error"]

    def test_the_run_page_offers_the_mark_only_for_items_to_check(self, desk: Desk) -> None:
        page = desk.page(f"/runs/{desk.run.id}").text
        assert page.count('action="http://testserver/items/mark"') == 1
        assert "Mark as done" in page and "Mark to redo" in page and "Comment" in page
        assert "Retry failed items" in page and "Resume this run" not in page

    def test_the_items_page_offers_the_mark_too(self, desk: Desk) -> None:
        page = desk.page("/items").text
        assert page.count('action="http://testserver/items/mark"') == 1  # D3; D2 failed: retried, not marked
        assert 'name="key" value="D3"' in page and 'name="loop" value="steps[1]"' in page
        answer = desk.act("/items/mark", run_id=desk.run.id, key="D3", loop="steps[1]", outcome="done")
        assert answer.status_code == 303 and desk.items()["D3"]["status"] == "done"

    def test_an_item_not_to_check_is_not_marked(self, desk: Desk) -> None:
        answer = desk.act("/items/mark", run_id=desk.run.id, key="D1", outcome="redo", comment="")
        assert answer.status_code == 409 and "is not to check" in answer.text
        assert desk.items()["D1"]["status"] == "done" and desk.operator_records() == []


class TestHostileInput:
    @pytest.mark.parametrize(
        ("fields", "said"),
        [
            ({"run_id": "../../etc/passwd", "key": "D3", "outcome": "done"}, "is not a run id"),
            ({"run_id": "<script>alert(1)</script>", "key": "D3", "outcome": "done"}, "&lt;script&gt;"),
            ({"run_id": "20990101-000000-abcdef", "key": "D3", "outcome": "done"}, "no run"),
            ({"key": "../../../x", "outcome": "done"}, "has no item &#39;../../../x&#39;"),
            (
                {"key": "<script>alert(1)</script>", "outcome": "done"},
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ({"key": "D3", "outcome": "rm -rf"}, "say whether the item is done or to redo"),
            ({"key": "D3", "outcome": "done", "comment": "x" * 2001}, "is too long"),
        ],
    )
    def test_a_mark_with_hostile_fields_is_refused_clearly(
        self, desk: Desk, fields: dict[str, str], said: str
    ) -> None:
        answer = desk.post("/items/mark", {"run_id": desk.run.id, **fields})
        assert answer.status_code in (400, 404, 409)
        assert said in answer.text and "<script>alert" not in answer.text
        assert "Traceback" not in answer.text
        assert desk.items()["D3"]["status"] == "to_check" and desk.operator_records() == []

    @pytest.mark.parametrize("run_id", ["..%2F..%2Fetc", "<script>", "x" * 65, "-rf"])
    def test_a_retry_of_a_hostile_run_id_is_refused(self, desk: Desk, run_id: str) -> None:
        answer = desk.act(f"/runs/{run_id}/retry")
        assert answer.status_code in (400, 403, 404)  # 403: a path that names no route once its dots are read
        assert "<script>" not in answer.text and desk.operator_records() == []

    @pytest.mark.parametrize(
        "workflow",
        ["../flux/relance", "/etc/passwd", "..", "relance.yaml/../../x", "<script>alert(1)</script>"],
    )
    def test_a_workflow_outside_the_workflows_folder_is_refused(self, desk: Desk, workflow: str) -> None:
        answer = desk.post("/workflows/run", {"workflow": workflow, "input.fichier": "dossiers.csv"})
        assert answer.status_code == 404
        assert "in the workflows folder" in answer.text and "<script>alert" not in answer.text
        assert desk.operator_records() == []

    def test_an_undeclared_or_wrong_input_is_refused_before_anything_starts(self, desk: Desk) -> None:
        unknown = desk.post(
            "/workflows/run", {"workflow": "relance", "input.fichier": "dossiers.csv", "input.x": "1"}
        )
        assert unknown.status_code == 400 and "has no input &#39;x&#39;" in unknown.text
        missing = desk.act("/workflows/run", workflow="relance")
        assert missing.status_code == 400 and "missing required input: fichier" in missing.text
        choice = desk.post(
            "/workflows/run",
            {"workflow": "relance", "input.fichier": "dossiers.csv", "input.priorite": "haute"},
        )
        assert choice.status_code == 400 and "must be one of normale, urgente" in choice.text
        assert desk.operator_records() == []
        assert not (desk.logs / "operators" / "launches").exists()

    def test_a_schedule_name_that_is_not_one_is_refused(self, desk: Desk) -> None:
        assert desk.act("/schedules/../../x/pause").status_code == 403  # no route once its dots are read
        for name in ("relance", "<script>", "relance/matin/../../x", "%2e%2e/relance"):
            answer = desk.act(f"/schedules/{name}/pause")
            assert answer.status_code == 404 and "no schedule" in answer.text
            assert "<script>" not in answer.text
        assert desk.operator_records() == []


class TestTamperedLog:
    def test_a_tampered_operators_log_stops_every_action(self, desk: Desk) -> None:
        assert desk.act("/schedules/relance/matin/pause").status_code == 303
        path = operators_log_path(desk.logs)
        path.write_text(path.read_text(encoding="utf-8").replace("oscar", "agent.autre"), encoding="utf-8")
        marked = desk.act("/items/mark", run_id=desk.run.id, key="D3", outcome="done", comment="ok")
        assert marked.status_code == 409
        assert "nothing was done: the operators&#39; log refuses new records" in marked.text
        assert desk.items()["D3"]["status"] == "to_check"
        retried = desk.act(f"/runs/{desk.run.id}/retry")
        assert retried.status_code == 409 and not list((desk.logs / "operators").glob("launches/*-retry-*"))
        assert desk.act("/schedules/relance/matin/resume").status_code == 409
        assert paused(desk) == {"relance/matin"}


class TestForgedForms:
    def test_a_form_without_its_csrf_token_does_nothing(self, desk: Desk) -> None:
        for path, fields in (
            ("/items/mark", {"run_id": desk.run.id, "key": "D3", "outcome": "done"}),
            (f"/runs/{desk.run.id}/retry", {}),
            ("/schedules/relance/matin/pause", {}),
            ("/workflows/run", {"workflow": "relance", "input.fichier": "dossiers.csv"}),
        ):
            answer = desk.post(path, fields, csrf=False)
            assert answer.status_code == 403 and "CSRF" in answer.text, path
            forged = desk.post(path, {**fields, "csrf_token": "x" * 43}, csrf=False)
            assert forged.status_code == 403, path
        assert desk.items()["D3"]["status"] == "to_check" and desk.operator_records() == []
        assert paused(desk) == set() and not (desk.logs / "operators" / "launches").exists()

    def test_every_form_of_the_pages_carries_the_token(self, desk: Desk) -> None:
        for path in (f"/runs/{desk.run.id}", "/items", "/schedules", "/workflows"):
            page = desk.page(path).text
            forms = page.split('<form method="post"')[1:]
            assert forms, path
            assert all('name="csrf_token"' in form.split("</form>")[0] for form in forms), path

    def test_nobody_logged_in_cannot_act(self, desk: Desk) -> None:
        with TestClient(desk.operator.app, follow_redirects=False) as stranger:
            token = csrf_of(stranger)  # the login form's, of an anonymous session
            answer = stranger.post(f"/runs/{desk.run.id}/retry", data={"csrf_token": token})
            assert answer.status_code == 401
        assert desk.operator_records() == []


class TestViewer:
    def test_a_viewer_sees_no_acting_button_and_is_refused(self, desk: Desk) -> None:
        for path in (f"/runs/{desk.run.id}", "/schedules", "/workflows", "/items"):
            page = desk.page(path, role="viewer").text.split("<main>")[1]  # the header has Log out
            for button in (
                "Retry failed items",
                "Mark as",
                "Mark to redo",
                "Run now",
                ">Pause<",
                ">Resume<",
                'method="post"',
            ):
                assert button not in page, (path, button)
        for path in (
            f"/runs/{desk.run.id}/retry",
            f"/runs/{desk.run.id}/resume",
            "/items/mark",
            "/workflows/run",
            "/schedules/relance/matin/pause",
            "/schedules/relance/matin/resume",
            "/schedules/relance/matin/run",
        ):
            fields = {"run_id": desk.run.id, "key": "D3", "outcome": "done", "workflow": "relance"}
            answer = desk.post(path, fields, role="viewer")
            assert answer.status_code == 403, path
        assert desk.items()["D3"]["status"] == "to_check" and desk.operator_records() == []


class TestSchedules:
    def test_pause_and_resume_a_schedule(self, desk: Desk) -> None:
        page = desk.page("/schedules").text
        assert "relance/matin" in page and "Pause" in page
        answer = desk.act("/schedules/relance/matin/pause")
        assert answer.status_code == 303 and answer.headers["location"].endswith("/schedules?done=paused")
        assert paused(desk) == {"relance/matin"}
        page = desk.page("/schedules?done=paused").text
        assert "The schedule is paused." in page and ">Resume</button>" in page
        assert desk.act("/schedules/relance/matin/resume").status_code == 303
        assert paused(desk) == set()
        assert [r["action"] for r in desk.operator_records()] == ["pause_schedule", "resume_schedule"]
        assert desk.operator_records()[0]["details"] == {"schedule": "relance/matin"}


class TestScheduleRunNow:
    def test_a_schedule_run_now_fires_it_with_its_inputs_as_robo_schedule_run_now(self, desk: Desk) -> None:
        assert ">Run now</button>" in desk.page("/schedules").text
        answer = desk.act("/schedules/relance/matin/run")
        assert answer.status_code == 303 and answer.headers["location"].endswith("/schedules?done=run")
        record = started_after_logged(desk, "run_schedule")
        assert record["details"]["schedule"] == "relance/matin"
        assert record["details"]["output"].startswith("operators/launches/")

        def fired() -> list[dict[str, Any]]:
            database = ScheduleDatabase(desk.store.url, engine=desk.store.engine)
            return [
                fire for fire in database.fires("relance/matin") if fire["run_id"] and fire["finished_at"]
            ]

        [fire] = wait_until(fired, timeout=60)
        assert fire["kind"] == "manual"
        run = desk.store.get_run(fire["run_id"])
        assert (
            run is not None and run.status == "completed_with_errors"
        )  # the schedule's dossiers.csv: D2 fails
        assert run.inputs["fichier"].endswith("dossiers.csv") and record["at"] < run.started_at


class TestRunNow:
    def test_the_workflows_page_shows_the_declared_inputs_as_a_form(self, desk: Desk) -> None:
        page = desk.page("/workflows").text
        assert "Relance des dossiers" in page and "Le tableau des dossiers" in page
        assert 'name="input.fichier"' in page and 'name="input.priorite"' in page
        assert '<option value="urgente">' in page and "Run now" in page
        assert 'name="workflow" value="relance"' in page

    def test_run_now_starts_the_workflow_with_its_inputs(self, desk: Desk) -> None:
        (desk.workflows / "corrige.csv").write_text(CORRECTED, encoding="utf-8")
        answer = desk.post(
            "/workflows/run",
            {"workflow": "relance", "input.fichier": "corrige.csv", "input.priorite": "urgente"},
        )
        assert answer.status_code == 303 and answer.headers["location"].endswith("/runs?done=run")
        record = started_after_logged(desk, "run")
        assert record["details"]["inputs"] == {"fichier": "corrige.csv", "priorite": "urgente"}

        def new_run() -> RunRecord | None:
            runs = [run for run in desk.store.list_runs(limit=5) if run.id != desk.run.id]
            return runs[0] if runs and runs[0].status == "succeeded" else None

        run = wait_until(new_run, timeout=60)
        assert run.inputs["priorite"] == "urgente" and run.inputs["fichier"].endswith("corrige.csv")
        assert record["at"] < run.started_at
        assert "The workflow has started" in desk.page("/runs?done=run").text


class TestResume:
    def test_a_crashed_run_is_resumed_where_it_stopped(self, desk: Desk) -> None:
        (desk.workflows / "attente.yaml").write_text(ATTENTE, encoding="utf-8")
        (desk.workflows / "arrivee").mkdir()
        (desk.workflows / "arrivee" / "A1.ok").write_text("1", encoding="utf-8")
        environment = {**os.environ, "ROBO_LOGS": str(desk.logs), "ROBO_STORE_URL": desk.store.url}
        process = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "run", str(desk.workflows / "attente.yaml")],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def waiting_for_a2() -> RunRecord | None:
            runs = [run for run in desk.store.list_runs(limit=5) if run.workflow == "Attente des pièces"]
            if (
                runs
                and {row["key"]: row["status"] for row in desk.store.run_items(runs[0].id)}.get("A1")
                == "done"
            ):
                return runs[0] if desk.store.run_items(runs[0].id)[-1]["status"] == "in_progress" else None
            return None

        try:
            run = wait_until(waiting_for_a2, timeout=60)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        wait_until(lambda: desk.status(run.id) == "crashed")
        page = desk.page(f"/runs/{run.id}").text
        assert "Resume this run" in page
        (desk.workflows / "arrivee" / "A2.ok").write_text("2", encoding="utf-8")
        answer = desk.act(f"/runs/{run.id}/resume")
        assert answer.status_code == 303 and answer.headers["location"].endswith("?done=resume")
        started_after_logged(desk, "resume")
        wait_until(lambda: desk.status(run.id) == "succeeded", timeout=60)
        assert {row["key"]: row["status"] for row in desk.store.run_items(run.id)} == {
            "A1": "done",
            "A2": "done",
        }

    def test_a_finished_run_is_not_resumed(self, desk: Desk) -> None:
        answer = desk.act(f"/runs/{desk.run.id}/resume")
        assert answer.status_code == 409 and "nothing to resume" in answer.text
        assert desk.operator_records() == []
