"""Signed session cookies: who is logged in and the session's CSRF token, signed with the console's secret
(itsdangerous), expiring after `AccessSettings.session_seconds`; HttpOnly, SameSite=Lax, Secure behind HTTPS."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "robo_session"
CSRF_FIELD = "csrf_token"  # the hidden field of every form
CSRF_HEADER = "x-csrf-token"  # or this header, for scripts (htmx)


@dataclass(frozen=True)
class AccessSettings:
    """How the console authenticates.

    `secret_key`: signs the session cookies (`console_secret` keeps one across restarts; a new one logs everyone
    out).
    `secure_cookies`: the cookie is sent over HTTPS only (set it when the console is behind HTTPS; the gate also
    sets it by itself for a request that came over HTTPS, directly or through a trusted proxy).
    `session_seconds`: a session ends this long after its login.
    `trusted_proxies`: the reverse proxies in front of the console (their `X-Forwarded-For` and
    `X-Forwarded-Proto` are believed; nobody else's). `user_header` (empty: none): the single sign-on mode, a
    request from a trusted proxy carrying this header is the user it names, if that user exists; the header is
    ignored from any other address.
    `metrics_token`: a monitoring scraper sending `Authorization: Bearer <token>` may read `/metrics` without
    logging in (None: `/metrics` needs a login like every page).
    """

    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secure_cookies: bool = False
    session_seconds: int = 8 * 3600
    same_site: str = "lax"
    trusted_proxies: tuple[str, ...] = ()
    user_header: str = ""
    metrics_token: str | None = field(default=None, repr=False)

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(proxy, strict=False) for proxy in self.trusted_proxies]


@dataclass(frozen=True)
class Session:
    """A visitor's session: the user once logged in (None before), the token every form carries, and the seal of
    the user's password stamp at login (`SessionCodec.seal`: a new password, or a name given again, ends it)."""

    user: str | None
    csrf: str
    seal: str = ""

    @classmethod
    def anonymous(cls) -> Session:
        return cls(None, secrets.token_urlsafe(32))

    @classmethod
    def logged_in(cls, user: str, seal: str) -> Session:
        """A new session (a new token) for `user`, logged in now with the password `seal` stands for."""
        return cls(user, secrets.token_urlsafe(32), seal)


class SessionCodec:
    def __init__(self, settings: AccessSettings) -> None:
        self.settings = settings
        self._serializer = URLSafeTimedSerializer(settings.secret_key, salt="robo-console-session")

    def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data: Any = self._serializer.loads(cookie, max_age=self.settings.session_seconds)
        except BadSignature:  # tampered, or expired (SignatureExpired is one)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        user, seal = data.get("user"), data.get("seal")
        return Session(
            user if isinstance(user, str) else None, data["csrf"], seal if isinstance(seal, str) else ""
        )

    def dump(self, session: Session) -> str:
        return self._serializer.dumps({"user": session.user, "csrf": session.csrf, "seal": session.seal})

    def seal(self, stamp: str) -> str:
        """A user's password stamp sealed with the secret: the cookie holds this, which tells nothing of the hash."""
        return hmac.new(self.settings.secret_key.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def cookie_header(self, session: Session, *, https: bool = False) -> str:
        """The Set-Cookie header's value for a session (`Secure` with `secure_cookies`, or for a request that came
        over `https`)."""
        parts = [
            f"{SESSION_COOKIE}={self.dump(session)}",
            "Path=/",
            f"Max-Age={self.settings.session_seconds}",
            "HttpOnly",
            f"SameSite={self.settings.same_site.capitalize()}",
        ]
        if self.settings.secure_cookies or https:
            parts.append("Secure")
        return "; ".join(parts)
