"""What a workflow's templates may read of the environment: every variable except credentials."""

from __future__ import annotations

import fnmatch
import re
import urllib.parse
from collections.abc import Iterable, Mapping

_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:(?P<password>[^/@\s]+)@")


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """Whether `name` matches one of the shell-style `patterns`, letter case ignored."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in patterns)


CREDENTIAL_VARIABLES = (
    "ROBO_SECRET_*",  # the secrets themselves: a workflow declares those it uses under `secrets:`
    "ROBO_SMTP_*",  # the mail server Rob'O sends its notifications through, with its password
    "ROBO_STORE_URL",  # the run store, whose URL may hold its password
    "ROBO_BROKER_URL",  # the fleet's broker, likewise
    "ROBO_NOTIFY_WEBHOOK",  # a webhook address is its own credential
    "ROBO_*_KEY",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*SECRET*",
    "*TOKEN*",
    "*CREDENTIAL*",
    "*API_KEY*",
    "*APIKEY*",
    "*PRIVATE_KEY*",
)
"""Environment variables that templates never see in `env` (names compared in upper case). A variable whose value
is a URL with a password (`postgresql://robo:…@host/db`) is left out too, whatever its name."""


def url_password(value: str) -> str | None:
    """The password of a URL that holds one (`scheme://user:password@host`), decoded; else None."""
    found = _URL_PASSWORD.match(value.strip())
    return urllib.parse.unquote(found.group("password")) if found else None


def is_credential_variable(name: str, value: str = "") -> bool:
    """Whether templates must not see this environment variable (see `CREDENTIAL_VARIABLES`)."""
    return matches_any(name, CREDENTIAL_VARIABLES) or url_password(value) is not None


def template_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment as templates see it (`env`): without Rob'O's own credentials nor anyone's passwords."""
    return {name: value for name, value in environ.items() if not is_credential_variable(name, value)}
