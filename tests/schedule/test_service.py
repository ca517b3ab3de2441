"""The schedule service in this process (its runs are real `robo run` processes), with second-long intervals."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runner.language import validate_file
from runner.record import RunStore
from runner.schedule import ScheduleDatabase, ScheduleService, jobs, run_now
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.waiting import wait_until

T = TypeVar("T")

WRITE = """\
name: Relevé
inputs:
  out: {{type: folder}}
schedule:
  - name: rapide
    every: {every}
    inputs: {{out: {out}}}
steps:
  - data.write_json:
      data: {{due: "{{{{ env.ROBO_SCHEDULED_FOR }}}}"}}
      path: "{{{{ inputs.out }}}}/{{{{ run.id }}}}.json"
"""

# Each step waits for a file that is already there to stay unchanged for `stable_for` seconds: a run that
# lasts as long as wanted, and can be stopped between two steps.
SLOW = """\
name: Lent
inputs:
  gate: {{type: folder}}
schedule:
  - every: 1
    inputs: {{gate: {gate}}}
steps:
  - for_each: "{{{{ range({steps}) | list }}}}"
    steps:
      - files.wait_for_file: {{folder: "{{{{ inputs.gate }}}}", pattern: "{pattern}", stable_for: 0.5, timeout: 60}}
"""


class Harness:
    """A folder of workflows, a run store, and a service serving them from a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "workflows"
        self.folder.mkdir()
        self.logs = root / "logs"
        self.url = f"sqlite:///{root / 'logs' / 'robo.db'}"
        self.environ = dict(os.environ)
        self.service: ScheduleService | None = None
        self.thread: threading.Thread | None = None
        self.db = ScheduleDatabase(self.url)

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def start(self, **options: Any) -> ScheduleService:
        settings: dict[str, Any] = {"poll_seconds": 0.2, "beat_seconds": 0.5, "stop_timeout": 5.0}
        settings.update(options)
        self.service = ScheduleService(
            self.folder, store_url=self.url, logs_dir=self.logs, environ=self.environ, **settings
        )
        self.thread = threading.Thread(target=self.service.serve, kwargs={"install_signals": False})
        self.thread.start()
        assert self.service.ready.wait(10)
        return self.service

    def stop(self, *, now: bool = False) -> None:
        if self.service is not None and self.thread is not None:
            self.service.stop(now=now)
            self.thread.join(60)
            assert not self.thread.is_alive()
            self.service = None

    def fires(self, status: str | None = None) -> list[dict[str, Any]]:
        rows = self.db.fires()
        return [row for row in rows if status is None or row["status"] == status]

    def runs(self) -> list[Any]:
        store = RunStore(self.url)
        try:
            return store.list_runs(limit=1000)
        finally:
            store.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.stop(now=True)
    harness.db.close()


class TestFiring:
    def test_an_overlapping_fire_is_refused_while_the_previous_run_lasts(self, harness: Harness) -> None:
        gate = harness.root / "gate"
        gate.mkdir()
        (gate / "present").write_text("x")
        harness.write("lent.yaml", SLOW.format(gate=gate, steps=4, pattern="present"))
        harness.start()
        wait_until(lambda: harness.fires("running"))
        wait_until(lambda: len(harness.fires("skipped_overlap")) >= 1, timeout=15)
        finished = wait_until(lambda: harness.fires("succeeded"), timeout=30)
        harness.stop(now=True)
        runs = [row for row in harness.fires() if row["started_at"] is not None]
        # Each run started on time (its process, that is: Python's start-up comes after), and is in the run store.
        assert all(row["started_at"] - _epoch(row["fire_time"]) < 2.0 for row in runs)
        assert {row["run_id"] for row in finished} <= {run.id for run in harness.runs()}
        spans = sorted((row["started_at"], row["finished_at"] or time.time()) for row in runs)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end  # one run at a time
        (first,) = [row for row in finished if row["id"] == min(r["id"] for r in finished)]
        overlapped = [
            row for row in harness.fires("skipped_overlap") if row["fire_time"] > first["fire_time"]
        ]
        assert overlapped and all("still going" in row["detail"] for row in overlapped)

    def test_pause_and_resume_are_honoured(self, harness: Harness) -> None:
        out = harness.root / "out"
        out.mkdir()
        harness.write("releve.yaml", WRITE.format(every=1, out=out))
        harness.db.set_paused(["releve/rapide"], True, by="test")
        harness.start()
        wait_until(lambda: harness.fires("skipped_paused"))
        assert harness.fires("running") == [] and list(out.glob("*.json")) == []
        harness.db.set_paused(["releve/rapide"], False, by="test")
        wait_until(lambda: list(out.glob("*.json")))

    def test_run_now_goes_through_the_service_when_it_is_alive(self, harness: Harness) -> None:
        out = harness.root / "out"
        out.mkdir()
        harness.write("releve.yaml", WRITE.format(every=3600, out=out))
        harness.start()
        said: list[str] = []
        code = run_now("releve", harness.folder, harness.url, harness.logs, said.append, said.append)
        assert code == 0, said
        assert said[0].startswith("releve/rapide: started by service ")
        manual = wait_until(lambda: harness.fires("succeeded"))
        assert manual[0]["kind"] == "manual" and manual[0]["owner"] == harness.service.id  # type: ignore[union-attr]

    def test_run_now_runs_here_without_a_service(self, harness: Harness) -> None:
        out = harness.root / "out"
        out.mkdir()
        harness.write("releve.yaml", WRITE.format(every=3600, out=out))
        said: list[str] = []
        code = run_now("releve/rapide", harness.folder, harness.url, harness.logs, said.append, said.append)
        assert code == 0, said
        assert said[0].startswith("releve/rapide: succeeded (run ")
        assert len(list(out.glob("*.json"))) == 1
        assert run_now("nothing", harness.folder, harness.url, harness.logs, said.append, said.append) == 1
        assert said[-1].startswith("error: no schedule 'nothing' (schedules: releve/rapide)")


class TestReloading:
    def test_an_invalid_edit_keeps_the_previous_version_scheduled(
        self, harness: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        out = harness.root / "out"
        out.mkdir()
        path = harness.write("releve.yaml", WRITE.format(every=1, out=out))
        service = harness.start()
        wait_until(lambda: harness.fires("succeeded"))
        before = service.scheduler.get_job("releve/rapide")
        with caplog.at_level(logging.INFO, logger="robo.schedule"):
            path.write_text(WRITE.format(every=1, out=out).replace("  - name: rapide", "  - nom: rapide"))
            wait_until(lambda: "previous version stays scheduled" in caplog.text)
        assert "releve.yaml:5:5: error[unknown-key]: 'schedule' has no key 'nom'" in caplog.text
        after = service.scheduler.get_job("releve/rapide")
        assert after is not None and after.kwargs["fingerprint"] == before.kwargs["fingerprint"]
        edited_at = time.time()
        # The schedule keeps firing; the run itself reads the file as it is now, and says why it cannot run.
        late = wait_until(lambda: [row for row in harness.fires() if (row["started_at"] or 0) > edited_at])
        wait_until(lambda: harness.db.fire(late[0]["id"])["status"] == "invalid")  # type: ignore[index]

        path.write_text(WRITE.format(every=2, out=out))
        wait_until(
            lambda: (
                service.scheduler.get_job("releve/rapide").kwargs["fingerprint"]
                != before.kwargs["fingerprint"]
            )
        )
        path.unlink()
        wait_until(lambda: service.scheduler.get_job("releve/rapide") is None)

    def test_a_file_added_later_is_scheduled(self, harness: Harness) -> None:
        out = harness.root / "out"
        out.mkdir()
        service = harness.start()
        assert service.scheduler.get_jobs() == []
        harness.write("releve.yaml", WRITE.format(every=1, out=out))
        wait_until(lambda: list(out.glob("*.json")))

    def test_a_file_read_while_it_was_being_written_is_read_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        out = tmp_path / "out"
        path = tmp_path / "releve.yaml"
        path.write_text("")  # an editor or `cp` has created the file and not written it yet
        real = validate_file

        def read_then_finish_writing(target: Path) -> Any:
            result = real(target)
            path.write_text(WRITE.format(every=1, out=out))  # the writer finishes just after the read
            return result

        monkeypatch.setattr(jobs, "validate_file", read_then_finish_writing)
        loaded = jobs.load_schedules(path)
        assert not loaded.ok  # it was read empty
        assert loaded.changed()  # ... so the next look at the folder reads it again
        monkeypatch.setattr(jobs, "validate_file", real)
        again = jobs.load_schedules(path)
        assert again.ok and [spec.job_id for spec in again.specs] == ["releve/rapide"]
        assert not again.changed()


class TestStopping:
    def test_sigterm_lets_the_run_stop_after_its_step_and_records_it_interrupted(
        self, harness: Harness
    ) -> None:
        gate = harness.root / "gate"
        gate.mkdir()
        (gate / "present").write_text("x")
        harness.write("lent.yaml", SLOW.format(gate=gate, steps=60, pattern="present"))
        harness.start(stop_timeout=0.5, term_timeout=20)
        running = wait_until(lambda: harness.fires("running"))
        wait_until(lambda: [run for run in harness.runs() if run.status == "running"])  # its handlers are set
        started = time.monotonic()
        harness.stop()
        assert time.monotonic() - started < 10
        fire = harness.db.fire(running[0]["id"])
        assert fire is not None and fire["status"] == "interrupted" and fire["exit_code"] == 130
        (run,) = [run for run in harness.runs() if run.id == fire["run_id"]]
        assert run.status == "interrupted"
        assert [row["state"] for row in harness.db.services()] == ["stopped"]

    def test_a_run_that_does_not_stop_is_killed(self, harness: Harness) -> None:
        gate = harness.root / "gate"
        gate.mkdir()
        (gate / "present").write_text("x")
        harness.write("lent.yaml", SLOW.format(gate=gate, steps=60, pattern="present"))
        harness.start(stop_timeout=0, term_timeout=0)
        running = wait_until(lambda: harness.fires("running"))
        harness.stop(now=True)
        fire = harness.db.fire(running[0]["id"])
        assert fire is not None and fire["status"] == "interrupted"


class TestNotifications:
    def test_a_failing_run_is_mailed_and_so_is_the_recovery(
        self, harness: Harness, smtp_endpoint: SmtpEndpoint
    ) -> None:
        harness.environ.update(
            ROBO_SMTP_HOST=smtp_endpoint.host,
            ROBO_SMTP_PORT=str(smtp_endpoint.port),
            ROBO_SMTP_USER=smtp_endpoint.username,
            ROBO_SMTP_PASSWORD=smtp_endpoint.password,
            ROBO_SMTP_STARTTLS="false",
            ROBO_DASHBOARD_URL="https://robo.mairie.example/console/",
        )
        failing = (
            "name: Relance\n"
            "notify: {email: [chef.service@mairie.example]}\n"
            "schedule:\n  - every: 1\n"
            "steps:\n"
            "  - fail: Le fichier des relances est vide\n"
        )
        path = harness.write("relance.yaml", failing)
        harness.start()
        first = smtp_endpoint.store.wait_for(1, timeout=20)[0]
        assert first.subject == "[Rob'O] Failed: Relance (relance/1)"
        body = first.body("plain")
        assert "Status: failed (exit code 1)" in body
        assert f"First error: {path}:6:5: step 'fail' failed: Le fichier des relances est vide" in body
        assert "/logs/relance/" in body and "audit.jsonl" in body
        run_id = body.split("Run: ")[1].split("\n")[0]
        assert f"In the console: https://robo.mairie.example/console/runs/{run_id}\n" in body
        [report] = first.attachments
        assert report.filename == "report.html"
        assert b"The run stopped at step &#39;fail&#39;: Le fichier des relances est vide" in report.content
        path.write_text(
            failing.replace("  - fail: Le fichier des relances est vide", "  - log: Rien à relancer")
        )
        recovered = wait_until(
            lambda: [
                mail for mail in smtp_endpoint.store.all() if mail.subject.startswith("[Rob'O] Recovered")
            ]
        )
        assert recovered[0].subject == "[Rob'O] Recovered: Relance (relance/1)"
        harness.stop(now=True)
        # Later successes are not mailed (send_on: failure, recovery).
        subjects = [mail.subject for mail in smtp_endpoint.store.all()]
        assert subjects.count(recovered[0].subject) == 1


def _epoch(key: str) -> float:
    from runner.schedule import parse_fire_key

    return parse_fire_key(key).timestamp()


class TestNames:
    def test_a_schedule_is_named_by_its_id_its_file_or_its_workflows_name(self, harness: Harness) -> None:
        from runner.schedule import Catalogue

        harness.write("releve.yaml", WRITE.format(every=60, out=harness.root))
        catalogue = Catalogue.open(harness.folder, harness.url)
        try:
            assert catalogue.resolve("releve/rapide") == ["releve/rapide"]
            assert catalogue.resolve("releve") == ["releve/rapide"]
            assert catalogue.resolve("Relevé") == ["releve/rapide"]
            assert catalogue.resolve("autre") == []
        finally:
            catalogue.close()
