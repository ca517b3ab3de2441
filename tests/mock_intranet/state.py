"""Everything one mock intranet instance holds: its stores, its faults and its settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .accounts import TEST_TOKEN
from .case_store import CaseStore
from .database import Database
from .faults import FaultConfig, FaultInjector
from .ged import DocumentStore
from .mail_store import MailStore
from .session_store import SessionStore

DEFAULT_SESSION_TTL_SECONDS = 1800.0
CASES_PER_PAGE = 20
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class IntranetState:
    """The data directory's stores plus the run-time settings shared by the web app and the test API.

    Layout of `data_dir`: `intranet.db` (cases, documents' metadata, sessions), `ged/` (documents' bytes),
    `courriels/` (received mail, one .eml and one .json per message), `tls/` (the SMTP certificate).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        session_ttl: float = DEFAULT_SESSION_TTL_SECONDS,
        faults: FaultConfig | None = None,
        test_token: str = TEST_TOKEN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(data_dir / "intranet.db")
        self.cases = CaseStore(self.database)
        self.sessions = SessionStore(self.database, clock)
        self.documents = DocumentStore(data_dir / "ged")
        self.mails = MailStore(data_dir / "courriels")
        self.faults = FaultInjector(faults)
        self.session_ttl = session_ttl
        self.test_token = test_token
        self.clock = clock
        self._initial_session_ttl = session_ttl
        self.refused_logins = 0  # wrong password or disabled account, since the start (a real one locks it)
        self._initial_faults = faults or FaultConfig()

    def reset(self) -> None:
        """Forget every case, document, session and message; restore the initial faults and settings."""
        self.cases.clear()
        self.documents.clear()
        self.sessions.clear()
        self.mails.clear()
        self.faults.configure(self._initial_faults)
        self.session_ttl = self._initial_session_ttl
        self.refused_logins = 0
