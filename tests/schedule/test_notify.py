"""Notifications of scheduled runs: when they are sent, and what the mail server and a webhook receive."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.review import run_page_link
from runner.schedule import NotifyTargets, RunSummary, SmtpSettings, notification_event, send_notifications
from tests.mock_intranet.fixtures import SmtpEndpoint


def smtp_environ(endpoint: SmtpEndpoint) -> dict[str, str]:
    return {
        "ROBO_SMTP_HOST": endpoint.host,
        "ROBO_SMTP_PORT": str(endpoint.port),
        "ROBO_SMTP_USER": endpoint.username,
        "ROBO_SMTP_PASSWORD": endpoint.password,
        "ROBO_SMTP_STARTTLS": "false",
        "ROBO_SMTP_FROM": "robo@mairie.example",
    }


def summary(tmp_path: Path, status: str = "failed", console_link: str | None = None) -> RunSummary:
    run_dir = tmp_path / "logs" / "saisie" / "20260504-070000-abcdef"
    run_dir.mkdir(parents=True)
    (run_dir / "report.html").write_text("<html><body>rapport</body></html>", encoding="utf-8")
    return RunSummary(
        workflow="Saisie des dossiers",
        schedule="saisie/matin",
        status=status,
        workflow_file="/srv/workflows/saisie.yaml",
        due_at="2026-05-04 07:00:00 CEST",
        started_at="2026-05-04T07:00:01+02:00",
        duration=12.5,
        run_id="20260504-070000-abcdef",
        run_dir=str(run_dir),
        exit_code=1,
        counts={"steps": 40, "steps_failed": 1, "items_done": 18, "items_failed": 2},
        first_error="/srv/workflows/saisie.yaml:14:5: Le SIRET est invalide",
        console_link=console_link,
    )


class TestWhen:
    @pytest.mark.parametrize(
        ("status", "previous", "event"),
        [
            ("failed", None, "failure"),
            ("completed_with_errors", "succeeded", "failure"),
            ("invalid", "failed", "failure"),
            ("crashed", None, "failure"),
            ("succeeded", "failed", "recovery"),
            ("succeeded", "completed_with_errors", "recovery"),
            ("succeeded", "succeeded", "success"),
            ("succeeded", None, "success"),
            ("interrupted", "failed", None),
        ],
    )
    def test_events(self, status: str, previous: str | None, event: str | None) -> None:
        assert notification_event(status, previous) == event

    def test_targets_come_from_the_workflow_then_the_environment(self) -> None:
        environ = {"ROBO_NOTIFY_TO": "a@x.fr, b@x.fr", "ROBO_NOTIFY_WEBHOOK": "http://chat/hook"}
        assert NotifyTargets.resolve(None, environ) == NotifyTargets(
            ("a@x.fr", "b@x.fr"), ("http://chat/hook",), frozenset({"failure", "recovery"})
        )
        own = NotifyTargets.resolve({"email": ["chef@x.fr"], "send_on": ["success"]}, environ)
        assert own.emails == ("chef@x.fr",)
        assert own.send_on == {"success"}

    def test_nothing_is_sent_for_an_event_not_asked_for(self, tmp_path: Path) -> None:
        targets = NotifyTargets(("a@x.fr",), (), frozenset({"failure"}))
        assert send_notifications(summary(tmp_path, "succeeded"), "success", targets, {}) == []

    def test_smtp_settings(self) -> None:
        settings = SmtpSettings.from_environ({"ROBO_SMTP_HOST": "smtp.mairie.fr", "ROBO_SMTP_FROM": "r@m.fr"})
        assert settings is not None
        assert (settings.port, settings.starttls, settings.user) == (587, True, None)
        assert SmtpSettings.from_environ({}) is None
        with pytest.raises(ValueError, match="ROBO_SMTP_STARTTLS"):
            SmtpSettings.from_environ({"ROBO_SMTP_HOST": "h", "ROBO_SMTP_STARTTLS": "peut-être"})


class TestEmail:
    def test_a_failure_is_mailed_with_the_summary_and_the_report(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        targets = NotifyTargets(("chef.service@mairie.example",), (), frozenset({"failure"}))
        lines = send_notifications(summary(tmp_path), "failure", targets, smtp_environ(smtp_endpoint))
        assert lines == ["email sent to chef.service@mairie.example"]
        (mail,) = smtp_endpoint.store.wait_for(1, timeout=10)
        assert mail.subject == "[Rob'O] Failed: Saisie des dossiers (saisie/matin)"
        assert mail.envelope_to == ["chef.service@mairie.example"]
        body = mail.body("plain")
        assert "Status: failed (exit code 1)" in body
        assert "First error: /srv/workflows/saisie.yaml:14:5: Le SIRET est invalide" in body
        assert "items: 18 done, 2 failed" in body
        assert "Audit log: " in body and body.split("Audit log: ")[1].split("\n")[0].endswith("audit.jsonl")
        assert [attachment.filename for attachment in mail.attachments] == ["report.html"]
        assert "console" not in body  # no ROBO_DASHBOARD_URL: no link

    def test_with_the_console_s_address_the_mail_links_to_the_run_s_page(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        link = run_page_link("20260504-070000-abcdef", {"ROBO_DASHBOARD_URL": "https://robo.mairie.example/"})
        assert link == "https://robo.mairie.example/runs/20260504-070000-abcdef"
        targets = NotifyTargets(("chef.service@mairie.example",), (), frozenset({"failure"}))
        send_notifications(
            summary(tmp_path, console_link=link), "failure", targets, smtp_environ(smtp_endpoint)
        )
        (mail,) = smtp_endpoint.store.wait_for(1, timeout=10)
        body = mail.body("plain")
        assert f"In the console: {link}\n" in body
        assert body.index("Run: ") < body.index("In the console: ")

    def test_a_mail_server_that_is_away_is_reported_not_raised(self, tmp_path: Path) -> None:
        targets = NotifyTargets(("a@x.fr",), (), frozenset({"failure"}))
        environ = {"ROBO_SMTP_HOST": "127.0.0.1", "ROBO_SMTP_PORT": "9", "ROBO_SMTP_STARTTLS": "false"}
        (line,) = send_notifications(summary(tmp_path), "failure", targets, environ)
        assert line.startswith("email to a@x.fr failed: ConnectionRefusedError")

    def test_a_refused_login_is_reported_with_the_server_it_came_from(
        self, tmp_path: Path, smtp_endpoint: SmtpEndpoint
    ) -> None:
        targets = NotifyTargets(("a@x.fr",), (), frozenset({"failure"}))
        environ = {**smtp_environ(smtp_endpoint), "ROBO_SMTP_PASSWORD": "mauvais"}
        (line,) = send_notifications(summary(tmp_path), "failure", targets, environ)
        assert line == (
            "email to a@x.fr failed: SMTPAuthenticationError: the SMTP server "
            f"{smtp_endpoint.host}:{smtp_endpoint.port} refused the login of {smtp_endpoint.username!r} (535)"
        )
        assert "mauvais" not in line
        assert smtp_endpoint.store.count() == 0

    def test_without_smtp_settings_the_log_says_what_is_missing(self, tmp_path: Path) -> None:
        targets = NotifyTargets(("a@x.fr",), (), frozenset({"failure"}))
        assert send_notifications(summary(tmp_path), "failure", targets, {}) == [
            "email not sent: ROBO_SMTP_HOST is not set"
        ]


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200 if self.path == "/hooks/secret-token" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


class TestWebhook:
    def test_a_recovery_is_posted_as_json(
        self, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
    ) -> None:
        base, received = webhook
        targets = NotifyTargets((), (f"{base}/hooks/secret-token",), frozenset({"recovery"}))
        lines = send_notifications(summary(tmp_path, "succeeded"), "recovery", targets, {})
        assert lines == [f"webhook {base}/… called"]  # the path, which holds the token, is not logged
        (payload,) = received
        assert payload["text"].startswith("[Rob'O] Recovered: Saisie des dossiers (saisie/matin)")
        assert payload["event"] == "recovery"
        assert payload["status"] == "succeeded"
        assert payload["audit_log"].endswith("audit.jsonl")
        assert payload["console_link"] is None and "console" not in payload["text"]

    def test_a_failure_s_webhook_carries_the_link_to_the_run_s_page(
        self, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
    ) -> None:
        base, received = webhook
        link = run_page_link("20260504-070000-abcdef", {"ROBO_DASHBOARD_URL": "http://robo01:8050"})
        targets = NotifyTargets((), (f"{base}/hooks/secret-token",), frozenset({"failure"}))
        send_notifications(summary(tmp_path, console_link=link), "failure", targets, {})
        (payload,) = received
        assert payload["console_link"] == "http://robo01:8050/runs/20260504-070000-abcdef"
        assert payload["text"].endswith(
            "Le SIRET est invalide\nhttp://robo01:8050/runs/20260504-070000-abcdef"
        )
        assert f"In the console: {link}" in payload["body"]

    def test_a_refused_webhook_is_reported(
        self, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
    ) -> None:
        base, _received = webhook
        targets = NotifyTargets((), (f"{base}/wrong",), frozenset({"failure"}))
        (line,) = send_notifications(summary(tmp_path), "failure", targets, {})
        assert line.startswith(f"webhook {base}/… failed: HTTPStatusError")
