"""Tell someone how a scheduled run went: an email and/or a JSON webhook, on failure, recovery or success.

Who is told, and when, comes from the workflow's `notify:` section (`email`, `webhook`, `send_on`); what is
not there comes from the environment: `ROBO_NOTIFY_TO` (addresses, comma-separated) and `ROBO_NOTIFY_WEBHOOK`.
With `ROBO_DASHBOARD_URL` (where the console is served), the e-mail and the webhook carry the link to the run's
page (`RunSummary.console_link`, made by the caller with `runner.review.run_page_link`).
How mail is sent always comes from the environment, so that no password sits in a workflow:
`ROBO_SMTP_HOST`, `ROBO_SMTP_PORT` (587, or 465 for TLS from the start), `ROBO_SMTP_USER`,
`ROBO_SMTP_PASSWORD`, `ROBO_SMTP_STARTTLS` (true unless "false"), `ROBO_SMTP_CA_FILE` (a certificate to trust),
`ROBO_SMTP_FROM` (default robo@<host>).

A notification that cannot be sent is reported back to the caller, which logs it: it never stops the service.

What a person reads (the e-mail's subject and body, a webhook's `text` and `body`) is in the service's language,
its moments in the schedule's zone, labelled; a webhook's other fields are for machines and never translated.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from robots.kit import (
    N_,
    RoboError,
    Security,
    SmtpServer,
    _,
    current_language,
    format_duration,
    format_number,
    ngettext,
    send_message,
    tls_context,
)
from runner.record import AUDIT_LOG_NAME
from runner.review import REPORT_NAME
from runner.schedule.moments import schedule_moment
from runner.schedule.settings import FAILURE, SMTP_TIMEOUT, SUCCESS, WEBHOOK_TIMEOUT, fire_status_text

EVENTS = ("failure", "recovery", "success")
_REPORT_LIMIT = 10 * 1024 * 1024
_TRUE = {"1", "true", "yes", "oui", "on"}
_FALSE = {"0", "false", "no", "non", "off"}


@dataclass(frozen=True)
class RunSummary:
    """What a notification says about one run (its fields are a webhook's machine fields, as they are)."""

    workflow: str
    schedule: str
    status: str
    workflow_file: str = ""
    due_at: str | None = None  # `2026-05-04 07:00:00 CEST`, as webhooks always had it
    started_at: str | None = None  # ISO 8601 with its offset
    duration: float | None = None
    run_id: str | None = None
    run_dir: str | None = None
    exit_code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    host: str = field(default_factory=socket.gethostname)
    scheduled_for: str | None = (
        None  # the due time, ISO 8601 in the schedule's zone (as `ROBO_SCHEDULED_FOR`)
    )
    timezone: str | None = None  # the schedule's zone: the one people read its moments in
    console_link: str | None = None  # the run's page in the console (`ROBO_DASHBOARD_URL`), when it is served

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
            raise ValueError(
                _("{variable} should be true or false, not {value}").format(
                    variable="ROBO_SMTP_STARTTLS", value=repr(starttls_text)
                )
            )
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
                lines.append(_("email not sent: {variable} is not set").format(variable="ROBO_SMTP_HOST"))
            else:
                send_email(smtp, build_email(summary, event, smtp.sender, targets.emails))
                lines.append(_("email sent to {addresses}").format(addresses=", ".join(targets.emails)))
        except (RoboError, OSError, ValueError) as exc:
            # The shared sender's errors name the server and what happened; the line still starts with the
            # name of what failed underneath (ConnectionRefusedError, SMTPAuthenticationError…), as it always did.
            what = type(exc.__cause__ or exc).__name__
            lines.append(
                _("email to {addresses} failed: {what}: {error}").format(
                    addresses=", ".join(targets.emails), what=what, error=exc
                )
            )
    for url in targets.webhooks:
        try:
            post_webhook(url, webhook_payload(summary, event))
            lines.append(_("webhook {url} called").format(url=_safe_url(url)))
        except Exception as exc:  # httpx's errors, a bad URL: reported, never raised into the service
            lines.append(
                _("webhook {url} failed: {what}: {error}").format(
                    url=_safe_url(url), what=type(exc).__name__, error=exc
                )
            )
    return lines


_HEADLINES = {
    "failure": N_("[Rob'O] Failed: {workflow} ({schedule})"),
    "recovery": N_("[Rob'O] Recovered: {workflow} ({schedule})"),
    "success": N_("[Rob'O] Succeeded: {workflow} ({schedule})"),
}


def headline(summary: RunSummary, event: str) -> str:
    """The e-mail's subject, and a webhook's first words."""
    return _(_HEADLINES[event]).format(workflow=summary.workflow, schedule=summary.schedule)


def _moment(iso: str | None, summary: RunSummary) -> str | None:
    """An ISO 8601 moment of the summary as people read it (in the schedule's zone, labelled)."""
    if not iso:
        return None
    try:
        return schedule_moment(dt.datetime.fromisoformat(iso), summary.timezone)
    except ValueError:
        return iso


def counts_text(counts: dict[str, int]) -> str:
    """`Steps: 40 (1 failed); items: 18 done, 2 failed` (« 40 étapes (1 en échec) ; dossiers : 18 traités, … »)."""
    steps, steps_failed = counts.get("steps", 0), counts.get("steps_failed", 0)
    done, failed, to_check = (
        counts.get("items_done", 0),
        counts.get("items_failed", 0),
        counts.get("items_to_check", 0),
    )
    items = [
        ngettext("{n} done", "{n} done", done).format(n=format_number(done)),
        ngettext("{n} failed", "{n} failed", failed).format(n=format_number(failed)),
    ]
    if to_check:
        items.append(
            ngettext("{n} to check (maybe entered)", "{n} to check (maybe entered)", to_check).format(
                n=format_number(to_check)
            )
        )
    return _("{steps} ({steps_failed}); items: {items}").format(
        steps=ngettext("Steps: {n}", "Steps: {n}", steps).format(n=format_number(steps)),
        steps_failed=ngettext("{n} failed", "{n} failed", steps_failed).format(n=format_number(steps_failed)),
        items=", ".join(items),
    )


def body_text(summary: RunSummary, event: str) -> str:
    """The e-mail's text (and a webhook's `body`): what ran, when, how it ended, where to look."""
    lines = [headline(summary, event), ""]
    lines.append(
        _("Workflow: {workflow} ({file})").format(workflow=summary.workflow, file=summary.workflow_file)
    )
    due = _moment(summary.scheduled_for, summary) or summary.due_at
    if due:
        lines.append(_("Schedule: {schedule}, due {moment}").format(schedule=summary.schedule, moment=due))
    else:
        lines.append(_("Schedule: {schedule}").format(schedule=summary.schedule))
    status = fire_status_text(summary.status)
    if summary.exit_code is not None:
        status = _("{status} (exit code {code})").format(status=status, code=summary.exit_code)
    lines.append(_("Status: {status}").format(status=status))
    started = _moment(summary.started_at, summary)
    if started:
        if summary.duration is not None:
            lines.append(
                _("Started: {moment}, {duration}").format(
                    moment=started, duration=format_duration(summary.duration)
                )
            )
        else:
            lines.append(_("Started: {moment}").format(moment=started))
    if summary.counts:
        lines.append(counts_text(summary.counts))
    if summary.first_error:
        lines.append(_("First error: {error}").format(error=summary.first_error))
    if summary.run_id:
        lines.append(_("Run: {run}").format(run=summary.run_id))
    if summary.console_link:
        lines.append(_("In the console: {link}").format(link=summary.console_link))
    if summary.audit_log:
        lines.append(_("Audit log: {path}").format(path=summary.audit_log))
    lines.append(_("Host: {host}").format(host=summary.host))
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
    """JSON for chat tools: `text` is what Mattermost, Rocket.Chat or Slack show, `body` the e-mail's text, both in
    the service's language (`language`); the other fields are for machines and never translated."""
    text = headline(summary, event)
    if summary.first_error:
        text = _("{headline}: {error}").format(headline=text, error=summary.first_error)
    if summary.console_link:  # chat tools make a link of an address alone on its line
        text = f"{text}\n{summary.console_link}"
    return {
        "text": text,
        "event": event,
        **asdict(summary),
        "audit_log": summary.audit_log,
        "body": body_text(summary, event),
        "language": current_language(),
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
