"""Links to the console: where a run's page is, for whoever tells people about a run (the failure e-mail, the
webhook, the last lines of `robo run`), when `ROBO_DASHBOARD_URL` says where the console is served.

The path of a run's page is declared here once; `runner.console`'s route table serves it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from robots.kit import ConfigurationError, _

DASHBOARD_URL_VARIABLE = "ROBO_DASHBOARD_URL"
RUN_PAGE_PATH = "/runs/{run_id}"
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")


def dashboard_url(environ: Mapping[str, str]) -> str | None:
    """The console's address from `ROBO_DASHBOARD_URL` (without a trailing `/`), None when it is not set.

    Raises ConfigurationError when it is not an http(s) address a link can start with.
    """
    value = environ.get(DASHBOARD_URL_VARIABLE, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or _UNSAFE.search(value)
    ):
        raise ConfigurationError(
            _("{variable} is not the address of the console: {value}").format(
                variable=DASHBOARD_URL_VARIABLE, value=repr(value[:200])
            ),
            hint=_("give its address as people open it, e.g. https://robo.mairie.fr or http://robo01:8050"),
        )
    return value.rstrip("/")


def run_page_link(run_id: str | None, environ: Mapping[str, str]) -> str | None:
    """The address of a run's page in the console, None when there is no run or `ROBO_DASHBOARD_URL` is not set.

    Raises ConfigurationError when `ROBO_DASHBOARD_URL` is malformed (see `dashboard_url`).
    """
    base = dashboard_url(environ)
    if base is None or not run_id:
        return None
    return base + RUN_PAGE_PATH.format(run_id=quote(run_id, safe=""))
