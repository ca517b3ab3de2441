"""The `email` robot."""

from __future__ import annotations

from robots.base import Robot


class Email(Robot):
    """Send mail over SMTP and read it over IMAP."""

    name = "email"
