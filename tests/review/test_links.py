"""The link to a run's page in the console, from `ROBO_DASHBOARD_URL`: made for any address the console may be
served at (a port, a path behind a reverse proxy), refused with a hint when it cannot start a link."""

from __future__ import annotations

import pytest

from robots.kit import ConfigurationError
from runner.review import DASHBOARD_URL_VARIABLE, dashboard_url, run_page_link


@pytest.mark.parametrize(
    ("address", "link"),
    [
        ("https://robo.mairie.fr", "https://robo.mairie.fr/runs/R1"),
        ("https://robo.mairie.fr/", "https://robo.mairie.fr/runs/R1"),
        ("  http://robo01:8050//  ", "http://robo01:8050/runs/R1"),
        ("https://intranet.mairie.fr/outils/robo/", "https://intranet.mairie.fr/outils/robo/runs/R1"),
        ("http://[::1]:8050", "http://[::1]:8050/runs/R1"),
    ],
)
def test_the_link_joins_the_console_s_address_and_the_run_s_path(address: str, link: str) -> None:
    assert run_page_link("R1", {DASHBOARD_URL_VARIABLE: address}) == link


def test_no_address_or_no_run_gives_no_link() -> None:
    assert run_page_link("R1", {}) is None
    assert run_page_link("R1", {DASHBOARD_URL_VARIABLE: "   "}) is None
    assert run_page_link(None, {DASHBOARD_URL_VARIABLE: "https://robo.mairie.fr"}) is None


def test_a_run_id_is_one_path_segment_whatever_it_holds() -> None:
    link = run_page_link("../../admin?x=<1>#", {DASHBOARD_URL_VARIABLE: "https://robo.mairie.fr"})
    assert link == "https://robo.mairie.fr/runs/..%2F..%2Fadmin%3Fx%3D%3C1%3E%23"


@pytest.mark.parametrize(
    "address",
    [
        "robo.mairie.fr",  # no scheme
        "javascript:alert(1)",
        "ftp://robo.mairie.fr",
        "https://",
        "https://robo.mairie.fr/?page=1",
        "https://robo.mairie.fr/#runs",
        "https://robo mairie.fr",
        "https://robo.mairie.fr/\nBcc: everyone@mairie.fr",
        'https://robo.mairie.fr/"><script>',
    ],
)
def test_an_address_that_cannot_start_a_link_is_refused_with_a_hint(address: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        dashboard_url({DASHBOARD_URL_VARIABLE: address})
    assert "ROBO_DASHBOARD_URL is not the address of the console" in str(refused.value)
    assert refused.value.hint and "https://" in refused.value.hint
