"""What the schedule service tells people, in French under `LANG=fr_FR.UTF-8` and in English under `LANG=C`:
notification e-mails and webhooks, `robo schedule status` and `list`, the service's log lines. Moments are shown
in the schedule's zone (or the zone for humans), always named; machine fields stay as they were."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robots.kit import set_language
from runner.schedule import (
    NotifyTargets,
    RunSummary,
    ScheduleDatabase,
    list_schedules,
    print_schedules,
    send_notifications,
)
from runner.schedule.database import fire_key
from tests.mock_intranet.fixtures import SmtpEndpoint
from tests.running import robo_process
from tests.schedule.test_notify import smtp_environ
from tests.schedule.test_service import Harness
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
LOCALES = {"fr": "fr_FR.UTF-8", "en": "C"}
LANGUAGE_VARIABLES = ("ROBO_LANG", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")
DUE = dt.datetime(2026, 5, 4, 5, 0, tzinfo=dt.UTC)  # 07:00 in Paris (summer time)


@pytest.fixture(params=["fr", "en"])
def language(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process speaks as `LANG` says (fr_FR.UTF-8, then C), the suite's ROBO_LANG=en removed; people's zone
    is Paris whatever the machine's."""
    for name in LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", LOCALES[request.param])
    monkeypatch.setenv("ROBO_TIMEZONE", "Europe/Paris")
    assert set_language() == request.param  # chosen from the locale, as a service started by systemd would
    yield request.param
    set_language("en")  # the suite's language (ROBO_LANG=en), for the tests that follow


def failed_run(tmp_path: Path) -> RunSummary:
    run_dir = tmp_path / "logs" / "saisie" / "20260504-070000-abcdef"
    run_dir.mkdir(parents=True)
    return RunSummary(
        workflow="Saisie des dossiers",
        schedule="saisie/matin",
        status="completed_with_errors",
        workflow_file="/srv/workflows/saisie.yaml",
        due_at="2026-05-04 07:00:00 CEST",
        started_at="2026-05-04T05:00:01+00:00",
        duration=12.4,
        run_id="20260504-070000-abcdef",
        run_dir=str(run_dir),
        exit_code=3,
        counts={"steps": 40, "steps_failed": 1, "items_done": 1, "items_failed": 2, "items_to_check": 3},
        first_error="/srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
        scheduled_for="2026-05-04T07:00:00+02:00",
        timezone="Europe/Paris",
    )


MAIL = {
    "fr": {
        "subject": "[Rob'O] Échec : Saisie des dossiers (saisie/matin)",
        "lines": [
            "Workflow : Saisie des dossiers (/srv/workflows/saisie.yaml)",
            "Planification : saisie/matin, prévue le 04/05/2026 07:00:00 (Europe/Paris)",
            "État : terminé avec des erreurs (code de sortie 3)",
            "Début : 04/05/2026 07:00:01 (Europe/Paris), durée 12 s",
            # French plurals: one item done, several steps and items failed or to check.
            "40 étapes (1 en échec) ; dossiers : 1 traité, 2 en échec, 3 à vérifier (peut-être saisis)",
            "Première erreur : /srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
            "Traitement : 20260504-070000-abcdef",
        ],
        "sent": "e-mail envoyé à chef.service@mairie.example",
    },
    "en": {
        "subject": "[Rob'O] Failed: Saisie des dossiers (saisie/matin)",
        "lines": [
            "Workflow: Saisie des dossiers (/srv/workflows/saisie.yaml)",
            "Schedule: saisie/matin, due 2026-05-04 07:00:00 (Europe/Paris)",
            "Status: completed with errors (exit code 3)",
            "Started: 2026-05-04 07:00:01 (Europe/Paris), 12 s",
            "Steps: 40 (1 failed); items: 1 done, 2 failed, 3 to check (maybe entered)",
            "First error: /srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
            "Run: 20260504-070000-abcdef",
        ],
        "sent": "email sent to chef.service@mairie.example",
    },
}


class TestNotification:
    def test_the_mail_of_a_failed_run_is_in_the_language_of_the_service_with_its_moments_named(
        self, language: str, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        targets = NotifyTargets(("chef.service@mairie.example",), (), frozenset({"failure"}))
        lines = send_notifications(failed_run(tmp_path), "failure", targets, smtp_environ(smtp_endpoint))
        expected = MAIL[language]
        assert lines == [expected["sent"]]
        (mail,) = smtp_endpoint.store.wait_for(1, timeout=10)
        assert mail.subject == expected["subject"]
        body = mail.body("plain").splitlines()
        assert body[0] == expected["subject"]
        for line in expected["lines"]:
            assert line in body, (line, body)

    def test_a_webhook_gets_the_human_text_in_french_and_the_machine_fields_unchanged(
        self, language: str, tmp_path: Path
    ) -> None:
        from runner.schedule.notify import webhook_payload

        summary = failed_run(tmp_path)
        payload = webhook_payload(summary, "failure")
        json.dumps(payload)  # all of it is JSON
        assert (
            payload["text"]
            == {
                "fr": "[Rob'O] Échec : Saisie des dossiers (saisie/matin) : "
                "/srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
                "en": "[Rob'O] Failed: Saisie des dossiers (saisie/matin): "
                "/srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
            }[language]
        )
        assert payload["language"] == language
        assert MAIL[language]["lines"][1] in payload["body"].splitlines()
        # What machines read stays as it was, whatever the language.
        assert (payload["event"], payload["status"], payload["due_at"], payload["started_at"]) == (
            "failure",
            "completed_with_errors",
            "2026-05-04 07:00:00 CEST",
            "2026-05-04T05:00:01+00:00",
        )
        assert payload["counts"]["items_failed"] == 2 and payload["timezone"] == "Europe/Paris"


def robo(*args: str, language: str) -> subprocess.CompletedProcess[str]:
    """`robo` in a process whose language comes from `LANG` only, people's zone being Paris."""
    return robo_process(
        *args,
        cwd=ROOT,
        without=LANGUAGE_VARIABLES,
        environ={"LANG": LOCALES[language], "ROBO_TIMEZONE": "Europe/Paris"},
    )


STATUS = {
    "fr": [
        (
            r"service a1b2c3 : en cours \(machine \S+, pid \d+\), dernier signe de vie il y a \d+(,\d)? s, "
            r"2 planifications lues dans /srv/workflows, démarré le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(Europe/Paris\)"
        ),
        (
            r"en cours : releve/matin prévu le 04/05/2026 07:00:00 \(Europe/Paris\) "
            r"\(déclenchement n° \d+, pid du traitement \d+, depuis \d+(,\d)? s\)"
        ),
    ],
    "en": [
        (
            r"service a1b2c3: running \(host \S+, pid \d+\), last beat \d+(\.\d)? s ago, "
            r"2 schedules loaded from /srv/workflows, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe/Paris\)"
        ),
        (
            r"running: releve/matin due 2026-05-04 07:00:00 \(Europe/Paris\) "
            r"\(fire #\d+, run pid \d+, for \d+(\.\d)? s\)"
        ),
    ],
}


@pytest.fixture
def busy_store(tmp_path: Path) -> Iterator[str]:
    """A store where a service is alive with two schedules, and runs one of them.

    Made for each test: its heartbeat is fresh when `robo schedule status` reads it (a store shared by both
    languages was read as a silent service once the machine was slow enough between them).
    """
    url = f"sqlite:///{tmp_path / 'robo.db'}"
    db = ScheduleDatabase(url)
    db.register_service("a1b2c3", "/srv/workflows")
    db.beat("a1b2c3", state="running", schedules=2)
    claim = db.claim_fire("releve/matin", fire_key(DUE), kind="scheduled", owner="a1b2c3", ttl=3600)
    assert claim.fire_id is not None
    db.fire_started(claim.fire_id, run_pid=os.getpid(), started_at=time.time(), output="fire.json")
    db.close()
    yield url


@pytest.mark.parametrize("language", ["fr", "en"])
def test_robo_schedule_status_speaks_the_language_of_lang(busy_store: str, language: str) -> None:
    result = robo("schedule", "status", "--store", busy_store, language=language)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    for line, pattern in zip(lines, STATUS[language], strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


SCHEDULED = """\
name: Relevé
schedule:
  - name: matin
    cron: "0 8 * * 1-5"
    timezone: America/Cayenne
steps:
  - log: relevé
"""


def test_robo_schedule_list_names_the_zone_of_each_schedule_and_its_days(
    language: str, tmp_path: Path
) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "releve.yaml").write_text(SCHEDULED, encoding="utf-8")
    friday = dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC)
    rows, catalogue = list_schedules(folder, f"sqlite:///{tmp_path / 'robo.db'}", count=2, now=friday)
    catalogue.close()
    said: list[str] = []
    print_schedules(rows, said.append)
    # The schedule's own zone (Cayenne), not the zone for humans (Paris): 8:00 is when its author meant.
    assert (
        said[2]
        == {
            "fr": "  prochains déclenchements (America/Cayenne) : lun. 04/05/2026 08:00:00, mar. 05/05/2026 08:00:00",
            "en": "  next (America/Cayenne): Mon 2026-05-04 08:00:00, Tue 2026-05-05 08:00:00",
        }[language]
    )
    assert said[3] == {"fr": "  dernier traitement : aucun", "en": "  last run: none"}[language]
    assert rows[0]["next"][0] == "2026-05-04T08:00:00-03:00"  # the JSON output stays ISO 8601


FAILING = """\
name: Relance
notify: {email: [chef.service@mairie.example]}
schedule:
  - every: 1
steps:
  - fail: Le fichier des relances est vide
"""

SERVICE_LINES = {
    "fr": [
        r"relance/1 planifiée : .+ ; prochain déclenchement le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(Europe/Paris\)",
        r"prêt : 1 planification dans 1 fichier",
        (
            r"relance/1 prévu le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(Europe/Paris\) : traitement lancé "
            r"\(planifié, pid \d+, \d+,\d{3} s après l'heure prévue\)"
        ),
        r"relance/1 prévu le .+ \(Europe/Paris\) : échoué en \d+(,\d)? s \(traitement \S+, code de sortie 1\)",
        r"relance/1 : e-mail envoyé à chef.service@mairie.example",
    ],
    "en": [
        r"scheduled relance/1: .+; next fire at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe/Paris\)",
        r"ready: 1 schedule from 1 file",
        (
            r"relance/1 due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe/Paris\): run started "
            r"\(scheduled, pid \d+, \d+\.\d{3} s after the due time\)"
        ),
        r"relance/1 due .+ \(Europe/Paris\): failed in \d+(\.\d)? s \(run \S+, exit code 1\)",
        r"relance/1: email sent to chef.service@mairie.example",
    ],
}


def test_a_scheduled_run_that_fails_is_logged_and_mailed_in_the_language_of_the_service(
    language: str,
    tmp_path: Path,
    smtp_endpoint: SmtpEndpoint,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger("robo"), "propagate", True)  # `setup_logging` may have cut it off
    harness = Harness(tmp_path)
    harness.environ.update(smtp_environ(smtp_endpoint))
    harness.write("relance.yaml", FAILING)
    try:
        with caplog.at_level(logging.INFO, logger="robo.schedule"):
            harness.start()
            (mail,) = smtp_endpoint.store.wait_for(1, timeout=30)
            wait_until(lambda: "chef.service@mairie.example" in caplog.text)
    finally:
        harness.stop(now=True)
        harness.db.close()
    said = [record.getMessage() for record in caplog.records if record.name == "robo.schedule"]
    for pattern in SERVICE_LINES[language]:
        assert any(re.fullmatch(pattern, line) for line in said), (pattern, said)
    subject: dict[str, Any] = {
        "fr": "[Rob'O] Échec : Relance (relance/1)",
        "en": "[Rob'O] Failed: Relance (relance/1)",
    }
    assert mail.subject == subject[language]
    status = {"fr": "État : échoué (code de sortie 1)", "en": "Status: failed (exit code 1)"}[language]
    assert status in mail.body("plain").splitlines()
