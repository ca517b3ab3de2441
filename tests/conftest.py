"""Shared pytest fixtures."""

from tests.e2e.conftest import bot  # noqa: F401  (a bot that runs workflows against the mock intranet)
from tests.mock_intranet.fixtures import (  # noqa: F401  (fixtures are found by name)
    intranet_account,
    intranet_agent,
    intranet_test_api,
    intranet_url,
    mock_intranet,
    mock_intranet_server,
    smtp_endpoint,
)
