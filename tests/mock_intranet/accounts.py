"""Test accounts and tokens of the mock intranet, defined in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestAccount:
    """A user known to the mock intranet (web login or SMTP AUTH)."""

    __test__ = False  # not a pytest test class, despite the name

    username: str
    password: str
    display_name: str
    active: bool = True


WEB_ACCOUNTS: tuple[TestAccount, ...] = (
    TestAccount("agent1", "Motdepasse-1!", "Camille Martin"),
    TestAccount("agent2", "Motdepasse-2!", "Julien Bernard"),
    TestAccount("agent3", "Motdepasse-3!", "Sophie Petit"),
    TestAccount("agent4", "Motdepasse-4!", "Nicolas Durand"),
    # A disabled account: logging in with the right password is refused, a business error for a bot.
    TestAccount("agent.inactif", "Motdepasse-0!", "Compte désactivé", active=False),
)

SMTP_ACCOUNTS: tuple[TestAccount, ...] = (TestAccount("robot", "Courriel-1!", "Robot Rob'O"),)

DEFAULT_ACCOUNT = WEB_ACCOUNTS[0]
DEFAULT_SMTP_ACCOUNT = SMTP_ACCOUNTS[0]

TEST_TOKEN_HEADER = "X-Test-Token"
TEST_TOKEN = "robo-test-token"


def find_web_account(username: str) -> TestAccount | None:
    """The web account with this username, or None."""
    return next((account for account in WEB_ACCOUNTS if account.username == username), None)
