"""Web sessions: an opaque id in a cookie, the user and the CSRF token in SQLite.

Sessions live in the database so that restarting the server keeps agents logged in, as a real intranet
behind a session store would. A session expires a fixed time after login (not after the last request),
so a bot working without pause still meets an expired session and has to log in again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .database import Database

ANONYMOUS_SESSION_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class WebSession:
    """A browser's session: anonymous (before login) or an agent's."""

    id: str
    username: str | None
    csrf_token: str
    created_at: float

    def is_expired(self, ttl_seconds: float, now: float) -> bool:
        """True for an agent's session older than `ttl_seconds`; anonymous sessions never expire here."""
        return self.username is not None and now - self.created_at > ttl_seconds


class SessionStore:
    """Creates, finds and ends web sessions."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.clock = clock

    def create(self, username: str | None) -> WebSession:
        """A new session with fresh id and CSRF token."""
        session = WebSession(secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), self.clock())
        with self.database.transaction() as connection:
            connection.execute(
                "DELETE FROM sessions WHERE identifiant IS NULL AND cree_le < ?",
                (session.created_at - ANONYMOUS_SESSION_LIFETIME_SECONDS,),
            )
            connection.execute(
                "INSERT INTO sessions (id, identifiant, jeton_csrf, cree_le) VALUES (?, ?, ?, ?)",
                (session.id, session.username, session.csrf_token, session.created_at),
            )
        return session

    def get(self, session_id: str) -> WebSession | None:
        """The session with this id, or None."""
        with self.database.connect() as connection:
            row = connection.execute(
                "SELECT id, identifiant, jeton_csrf, cree_le FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return WebSession(*row) if row else None

    def delete(self, session_id: str) -> None:
        """End a session."""
        with self.database.transaction() as connection:
            connection.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def expire_all(self) -> int:
        """Make every agent's session expired now (test helper); return how many there were."""
        with self.database.transaction() as connection:
            cursor = connection.execute("UPDATE sessions SET cree_le = 0 WHERE identifiant IS NOT NULL")
            return cursor.rowcount

    def clear(self) -> None:
        """End every session."""
        with self.database.transaction() as connection:
            connection.execute("DELETE FROM sessions")
