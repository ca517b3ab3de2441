"""Pytest fixtures: one mock intranet per test session, reset before each test that asks for it.

`tests/conftest.py` imports them. Fixtures:

- `mock_intranet_server` (session): the running MockIntranet, started once on free ports; its SMTP server
  accepts AUTH without TLS too (smtp_auth_require_tls=False), so tests can use either.
- `mock_intranet` (function): the same instance, after its data, faults and settings have been reset.
- `intranet_url` (function): its base URL, e.g. "http://127.0.0.1:45123".
- `intranet_account` (function): the default test account (agent1).
- `smtp_endpoint` (function): host, port, credentials and certificate of the mail server, and its store.
- `intranet_test_api` (function): an httpx.Client on the intranet that sends the X-Test-Token header.
- `intranet_agent` (function): an IntranetAgent (httpx, through the forms) already logged in as agent1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .accounts import DEFAULT_ACCOUNT, TestAccount
from .http_agent import IntranetAgent
from .mail_store import MailStore
from .server import MockIntranet


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to send mail to the mock mail server."""

    host: str
    port: int
    username: str
    password: str
    certificate: Path
    store: MailStore


@pytest.fixture(scope="session")
def mock_intranet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockIntranet]:
    """The mock intranet and mail server, started once for the test session."""
    intranet = MockIntranet(tmp_path_factory.mktemp("mock_intranet"), smtp_auth_require_tls=False)
    with intranet:
        yield intranet


@pytest.fixture
def mock_intranet(mock_intranet_server: MockIntranet) -> Iterator[MockIntranet]:
    """The session's mock intranet, emptied, with no faults and the default settings."""
    if not mock_intranet_server.running:
        mock_intranet_server.start()
    mock_intranet_server.reset()
    yield mock_intranet_server
    if mock_intranet_server.running:
        # Leave no maintenance window or failure rate behind for tests that use the session fixture alone.
        mock_intranet_server.reset()


@pytest.fixture
def intranet_url(mock_intranet: MockIntranet) -> str:
    """Base URL of the reset mock intranet."""
    return mock_intranet.url


@pytest.fixture
def intranet_account() -> TestAccount:
    """The default agent account (agent1 / "Motdepasse-1!")."""
    return DEFAULT_ACCOUNT


@pytest.fixture
def smtp_endpoint(mock_intranet: MockIntranet) -> SmtpEndpoint:
    """The mock mail server of the reset intranet."""
    return SmtpEndpoint(
        host=mock_intranet.smtp_host,
        port=mock_intranet.smtp_port,
        username=mock_intranet.smtp_account.username,
        password=mock_intranet.smtp_account.password,
        certificate=mock_intranet.certificate.certificate,
        store=mock_intranet.mail_store,
    )


@pytest.fixture
def intranet_test_api(mock_intranet: MockIntranet) -> Iterator[httpx.Client]:
    """An httpx.Client for the test API (the token header is set)."""
    # Plain HTTP: verify=False only spares loading the CA bundle for every test.
    with httpx.Client(
        base_url=mock_intranet.url, headers=mock_intranet.test_headers, timeout=10, verify=False
    ) as client:
        yield client


@pytest.fixture
def intranet_agent(mock_intranet: MockIntranet, intranet_account: TestAccount) -> Iterator[IntranetAgent]:
    """An agent logged in through the login form."""
    with IntranetAgent(mock_intranet.url) as agent:
        response = agent.login(intranet_account.username, intranet_account.password)
        assert response.status_code == 303, response.text
        yield agent
