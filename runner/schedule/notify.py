"""Tell someone how a scheduled run went: an email and/or a JSON webhook, on failure, recovery or success.

Who is told, and when, comes from the workflow's `notify:` section (`email`, `webhook`, `send_on`); what is
not there comes from the environment: `ROBO_NOTIFY_TO` (addresses, comma-separated) and `ROBO_NOTIFY_WEBHOOK`.
How mail is sent always comes from the environment, so that no password sits in a workflow:
`ROBO_SMTP_HOST`, `ROBO_SMTP_PORT` (587, or 465 for TLS from the start), `ROBO_SMTP_USER`,
`ROBO_SMTP_PASSWORD`, `ROBO_SMTP_STARTTLS` (true unless "false"), `ROBO_SMTP_CA_FILE` (a certificate to trust),
`ROBO_SMTP_FROM` (default robo@<host>).

A notification that cannot be sent is reported back to the caller, which logs it: it never stops the service.
"""

from __future__ import annotations

import email.policy
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from robots.kit import RoboError, Security, SmtpServer, send_message, tls_context
from runner.record import AUDIT_LOG_NAME
from runner.review import REPORT_NAME
from runner.schedule.settings import FAILURE, SMTP_TIMEOUT, SUCCESS, WEBHOOK_TIMEOUT

EVENTS = ("failure", "recovery", "success")
_REPORT_LIMIT = 10 * 1024 * 1024
_TRUE = {"1", "true", "yes", "oui", "on"}
_FALSE = {"0", "false", "no", "non", "off"}


@dataclass(frozen=True)
class RunSummary:
    """What a notification says about one run."""

    workflow: str
    schedule: str
    status: str
    workflow_file: str = ""
    due_at: str | None = None
    started_at: str | None = None
    duration: float | None = None
    run_id: str | None = None
    run_dir: str | None = None
    exit_code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    host: str = field(default_factory=socket.gethostname)

    @property
    def audit_log(self) -> str | None:
        return str(Path(self.run_dir) / AUDIT_LOG_NAME) if self.run_dir else None

    @property
    def report(self) -> Path | None:
        path = Path(self.run_dir) / REPORT_NAME if self.run_dir else None
        return path if path is not None and path.is_file() else None


def notification_event(status: str, previous: str | None) -> str | None:
    """`failure`, `recovery` (the first success after a failure), `success`, or None (an interrupted run)."""
    if status in FAILURE:
        return "failure"
    if status in SUCCESS:
        return "recovery" if previous in FAILURE else "success"
    return None


@dataclass(frozen=True)
class NotifyTargets:
    emails: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    send_on: frozenset[str] = frozenset({"failure", "recovery"})

    @classmethod
    def resolve(cls, settings: Mapping[str, Any] | None, environ: Mapping[str, str]) -> NotifyTargets:
        """The workflow's `notify:` section, completed by `ROBO_NOTIFY_TO` and `ROBO_NOTIFY_WEBHOOK`."""
        settings = settings or {}
        emails = list(settings.get("email") or _split(environ.get("ROBO_NOTIFY_TO", "")))
        webhook = settings.get("webhook") or environ.get("ROBO_NOTIFY_WEBHOOK", "").strip()
        send_on = settings.get("send_on") or ("failure", "recovery")
        return cls(tuple(emails), (webhook,) if webhook else (), frozenset(send_on))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    ca_file: str | None = None
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SmtpSettings | None:
        host = environ.get("ROBO_SMTP_HOST", "").strip()
        if not host:
            return None
        starttls_text = environ.get("ROBO_SMTP_STARTTLS", "true").strip().lower()
        if starttls_text not in _TRUE | _FALSE:
            raise ValueError(f"ROBO_SMTP_STARTTLS should be true or false, not {starttls_text!r}")
        port_text = environ.get("ROBO_SMTP_PORT", "").strip()
        return cls(
            host=host,
            port=int(port_text) if port_text else 587,
            user=environ.get("ROBO_SMTP_USER") or None,
            password=environ.get("ROBO_SMTP_PASSWORD") or None,
            starttls=starttls_text in _TRUE,
            sender=environ.get("ROBO_SMTP_FROM") or f"robo@{socket.getfqdn()}",
            ca_file=environ.get("ROBO_SMTP_CA_FILE") or None,
        )


def send_notifications(
    summary: RunSummary,
    event: str | None,
    targets: NotifyTargets,
    environ: Mapping[str, str],
) -> list[str]:
    """Send what `targets` ask for this event; returns a line per notification sent or failed."""
    if event is None or event not in targets.send_on:
        return []
    lines: list[str] = []
    if targets.emails:
        try:
            smtp = SmtpSettings.from_environ(environ)
            if smtp is None:
                lines.append("email not sent: ROBO_SMTP_HOST is not set")
            else:
                send_email(smtp, build_email(summary, event, smtp.sender, targets.emails))
                lines.append(f"email sent to {', '.join(targets.emails)}")
        except (RoboError, OSError, ValueError) as exc:
            # The shared sender's errors name the server and what happened; the line still starts with the
            # name of what failed underneath (ConnectionRefusedError, SMTPAuthenticationError…), as it always did.
            what = type(exc.__cause__ or exc).__name__
            lines.append(f"email to {', '.join(targets.emails)} failed: {what}: {exc}")
    for url in targets.webhooks:
        try:
            post_webhook(url, webhook_payload(summary, event))
            lines.append(f"webhook {_safe_url(url)} called")
        except Exception as exc:  # httpx's errors, a bad URL: reported, never raised into the service
            lines.append(f"webhook {_safe_url(url)} failed: {type(exc).__name__}: {exc}")
    return lines


def headline(summary: RunSummary, event: str) -> str:
    word = {"failure": "Failed", "recovery": "Recovered", "success": "Succeeded"}[event]
    return f"[Rob'O] {word}: {summary.workflow} ({summary.schedule})"


def body_text(summary: RunSummary, event: str) -> str:
    lines = [headline(summary, event), ""]
    lines.append(f"Workflow: {summary.workflow} ({summary.workflow_file})")
    lines.append(f"Schedule: {summary.schedule}" + (f", due {summary.due_at}" if summary.due_at else ""))
    status = summary.status + (f" (exit code {summary.exit_code})" if summary.exit_code is not None else "")
    lines.append(f"Status: {status}")
    if summary.started_at:
        duration = f", {summary.duration:.1f} s" if summary.duration is not None else ""
        lines.append(f"Started: {summary.started_at}{duration}")
    if summary.counts:
        counts = summary.counts
        lines.append(
            f"Steps: {counts.get('steps', 0)} ({counts.get('steps_failed', 0)} failed); "
            f"items: {counts.get('items_done', 0)} done, {counts.get('items_failed', 0)} failed"
            + (
                f", {counts['items_to_check']} to check (maybe entered)"
                if counts.get("items_to_check")
                else ""
            )
        )
    if summary.first_error:
        lines.append(f"First error: {summary.first_error}")
    if summary.run_id:
        lines.append(f"Run: {summary.run_id}")
    if summary.audit_log:
        lines.append(f"Audit log: {summary.audit_log}")
    lines.append(f"Host: {summary.host}")
    return "\n".join(lines) + "\n"


def build_email(summary: RunSummary, event: str, sender: str, to: Sequence[str]) -> EmailMessage:
    message = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = headline(summary, event)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body_text(summary, event))
    report = summary.report
    if report is not None and report.stat().st_size <= _REPORT_LIMIT:
        message.add_attachment(report.read_bytes(), maintype="text", subtype="html", filename="report.html")
    return message


def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send through the robots' SMTP sender: port 465 is TLS from the start, others STARTTLS unless turned off."""
    security: Security = "ssl" if settings.port == 465 else "starttls" if settings.starttls else "none"
    server = SmtpServer(
        settings.host,
        settings.port,
        security,
        user=settings.user,
        password=settings.password,
        tls=tls_context(Path(settings.ca_file) if settings.ca_file else None, verify=True),
        timeout=settings.timeout,
    )
    send_message(server, message)


def webhook_payload(summary: RunSummary, event: str) -> dict[str, Any]:
    """JSON for chat tools: `text` is what Mattermost, Rocket.Chat or Slack show; the rest is for machines."""
    text = headline(summary, event)
    if summary.first_error:
        text += f": {summary.first_error}"
    return {
        "text": text,
        "event": event,
        **asdict(summary),
        "audit_log": summary.audit_log,
    }


def post_webhook(url: str, payload: Mapping[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> None:
    import httpx

    response = httpx.post(url, json=dict(payload), timeout=timeout)
    response.raise_for_status()


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _safe_url(url: str) -> str:
    """A webhook's address without its path, which often holds the token."""
    import httpx

    try:
        parsed = httpx.URL(url)
        return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "") + "/…"
    except Exception:
        return "<webhook>"
