"""Starting the third-party sites for tests: one process each, on 127.0.0.1, with its own SQLite database.

A `Site` knows what a user of it reads: its login labels, buttons and addresses, in its language, and reads back
what it stored (the database, the request log) for the tests to check.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Agent-pass-1"
USERNAME = "agent"
CRASH_TRIGGER = "crash-after-save"


@dataclass(frozen=True)
class Face:
    """What a framework shows in one language: the words a user reads on its pages and its addresses."""

    framework: str
    lang: str
    module: str
    table: str
    login_path: str
    add_path: str
    list_path: str  # the list of records, searched with the text appended
    username: str
    password: str
    login_button: str
    save_button: str
    refused_css: str  # where the page says the data was refused
    add_text: str  # a text that several elements of the add page repeat


FACES = {
    ("django", "fr"): Face(
        "django", "fr", "tests.thirdparty.django_site", "dossiers_dossier", "/admin/login/",
        "/admin/dossiers/dossier/add/", "/admin/dossiers/dossier/?q=", "Nom d'utilisateur", "Mot de passe",
        "Connexion", "Enregistrer", ".errornote", "Ajouter",
    ),
    ("django", "en"): Face(
        "django", "en", "tests.thirdparty.django_site", "dossiers_dossier", "/admin/login/",
        "/admin/dossiers/dossier/add/", "/admin/dossiers/dossier/?q=", "Username", "Password",
        "Log in", "Save", ".errornote", "Add",
    ),
    ("flask", "fr"): Face(
        "flask", "fr", "tests.thirdparty.flask_site", "dossier", "/admin/login/",
        "/admin/dossier/new/", "/admin/dossier/?search=", "Nom d'utilisateur", "Mot de passe",
        "Enregistrer", "Enregistrer", ".invalid-feedback, .alert-danger", "Dossier",
    ),
    ("flask", "en"): Face(
        "flask", "en", "tests.thirdparty.flask_site", "dossier", "/admin/login/",
        "/admin/dossier/new/", "/admin/dossier/?search=", "Username", "Password",
        "Save", "Save", ".invalid-feedback, .alert-danger", "Dossier",
    ),
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Site:
    """One third-party site in its own process; `start()` again after a crash keeps its port and database."""

    def __init__(self, face: Face, data: Path) -> None:
        self.face = face
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        data.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        env = {
            **os.environ,
            "ROBO_TP_DATA": str(self.data),
            "ROBO_TP_LANG": self.face.lang,
            "ROBO_TP_PASSWORD": PASSWORD,
            "PYTHONPATH": str(ROOT),
        }
        with (self.data / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.face.module, str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, timeout=60, interval=0.1)

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.data / "server.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"{self.face.module} stopped ({self.process.returncode}):\n{log[-3000:]}")
        try:
            return httpx.get(self.url + self.face.login_path, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def crash_on_next_save(self) -> None:
        """The next record saved is stored, then the server dies before it answers."""
        (self.data / CRASH_TRIGGER).touch()

    def records(self, reference_prefix: str) -> list[dict[str, Any]]:
        with sqlite3.connect(self.data / "site.sqlite3") as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(
                f"SELECT * FROM {self.face.table} WHERE reference LIKE ? ORDER BY id",
                (reference_prefix + "%",),
            ).fetchall()
        return [dict(row) for row in rows]

    def login_attempts(self) -> int:
        """How many times a login form was sent to the site since it was first started."""
        log = self.data / "requests.log"
        if not log.exists():
            return 0
        lines = log.read_text(encoding="utf-8").splitlines()
        return sum(line == f"POST {self.face.login_path}" for line in lines)
