"""A console over a store filled by real runs of small workflows, with its users, and a client that logs in."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from runner.console import create_app
from runner.console.access import AccessSettings, OperatorsLog, Role, UserStore
from runner.record import RunStore, default_store_url
from runner.run import RunOutcome
from tests.running import WorkflowRunner

with warnings.catch_warnings():  # Starlette 1.x prefers `httpx2` for its test client; httpx works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient as TestClient

HOSTILE = """
name: "Saisie <script>alert('nom')</script>"
steps:
  - for_each:
      - {ref: DOS-001, nom: Dupont}
      - {ref: "<script>alert('clé')</script>", nom: Martin}
      - {ref: DOS-003, nom: "=HYPERLINK(\\"http://x\\")"}
    as: d
    key: d.ref
    steps:
      - name: Saisir le dossier
        probe.echo: {value: "{{ d.nom }}"}
      - name: Envoyer le formulaire
        probe.refuse_with_screenshot: {reason: "SIRET invalide pour {{ d.nom }}"}
        when: d.ref == 'DOS-003'
"""

PLAIN = """
name: Relevés
steps:
  - for_each: [REL-1, REL-2, DOS-001]
    as: r
    key: r
    steps:
      - probe.echo: {value: "{{ r }}"}
"""


FAST = PasswordHasher(
    time_cost=1, memory_cost=1024, parallelism=1
)  # the tests' hashes: quick, still argon2id
PASSWORD = "correct horse battery"
USERS = {"valerie": Role.VIEWER, "oscar": Role.OPERATOR, "adele": Role.ADMIN}


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token in the form of the page at `path` (the login page: the anonymous session's)."""
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, (path, page.status_code, page.text[:500])
    return found.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD, next_path: str = "/") -> httpx.Response:
    """Log in through the login form, as a browser does (its CSRF token included)."""
    data = {"username": name, "password": password, "next": next_path, "csrf_token": csrf_of(client)}
    answer = client.post("/login", data=data)
    assert isinstance(answer, httpx.Response)
    return answer


def log_out(client: TestClient) -> None:
    """Log out with the Log out button of a page's header."""
    answer = client.post("/logout", data={"csrf_token": csrf_of(client, "/runs")})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def add_users(store: RunStore) -> UserStore:
    """A viewer `valerie`, an operator `oscar` and an admin `adele`, all with `PASSWORD`."""
    users = UserStore(store.engine, hasher=FAST)
    for name, role in USERS.items():
        users.add(name, role, PASSWORD)
    return users


def console_app(store: RunStore, logs: Path, users: UserStore | None = None, **options: Any) -> Starlette:
    """The console as `robo dashboard` makes it (the gate of the store's users), with the tests' quick hashes and
    a secret of its own unless `settings` is given."""
    options.setdefault("settings", AccessSettings())
    options.setdefault("operators_log", OperatorsLog(logs, fsync=False))
    return create_app(store, logs, users=users or UserStore(store.engine, hasher=FAST), **options)


@dataclass
class Filled:
    client: TestClient
    store: RunStore
    logs: Path
    hostile: RunOutcome
    plain: RunOutcome

    def log_in(self, name: str) -> None:
        """Change the client's user (a viewer at first), logged in or not before."""
        if self.client.get("/runs").status_code == 200:
            log_out(self.client)
        assert log_in(self.client, name).status_code == 303


@pytest.fixture
def filled(run_yaml: WorkflowRunner, tmp_path: Path) -> Iterator[Filled]:
    """The console over two real runs, its client logged in as the viewer `valerie`."""
    hostile, _ = run_yaml(HOSTILE)
    plain, _ = run_yaml(PLAIN)
    assert hostile.status == "completed_with_errors"
    assert plain.status == "succeeded"
    logs = tmp_path / "logs"
    with RunStore(default_store_url(logs)) as store:
        users = add_users(store)
        with TestClient(console_app(store, logs, users), follow_redirects=False) as client:
            assert log_in(client, "valerie").status_code == 303
            yield Filled(client, store, logs, hostile, plain)
