"""The console's settings from where they are kept: the session secret (the environment's `ROBO_CONSOLE_SECRET`,
or a file of the logs folder made on the first start, readable by its owner only), so a restart keeps everyone
logged in; the metrics token of a monitoring scraper (`ROBO_METRICS_TOKEN`)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from robots.kit import ConfigurationError, _, create_private_file
from runner.console.access.sessions import AccessSettings

SECRET_ENV = "ROBO_CONSOLE_SECRET"
METRICS_TOKEN_ENV = "ROBO_METRICS_TOKEN"
SECRET_FILE = ".console-secret"  # hidden: the console never serves a hidden file of the logs folder
MIN_SECRET_LENGTH = 32


def access_settings(
    logs_dir: Path,
    *,
    secure_cookies: bool = False,
    trusted_proxies: Sequence[str] = (),
    user_header: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AccessSettings:
    """The settings of a console over `logs_dir`: its kept secret, the metrics token, the Secure flag, the
    reverse proxies trusted (their `X-Forwarded-For`/`-Proto`, and `user_header` when single sign-on names the
    user)."""
    environ = os.environ if environ is None else environ
    if user_header and not trusted_proxies:
        raise ConfigurationError(
            _("a user header is believed from a trusted proxy only, and none is given"),
            hint=_("add --trusted-proxy with the reverse proxy's address"),
        )
    return AccessSettings(
        secret_key=console_secret(logs_dir, environ),
        secure_cookies=secure_cookies,
        trusted_proxies=tuple(_networks(trusted_proxies)),
        user_header=user_header or "",
        metrics_token=_metrics_token(environ),
    )


def _networks(proxies: Sequence[str]) -> list[str]:
    """The proxies' addresses or networks, each checked (a typo must not silently trust nobody, or everybody)."""
    for proxy in proxies:
        try:
            network = ipaddress.ip_network(proxy.strip(), strict=False)
        except ValueError:
            raise ConfigurationError(
                _("{proxy!r} is not an address or a network").format(proxy=proxy),
                hint=_("give the reverse proxy's address, e.g. 127.0.0.1 or 10.0.0.0/24"),
            ) from None
        if network.prefixlen == 0:
            raise ConfigurationError(
                _("trusting every address as a proxy ({proxy}) would let anyone name the user").format(
                    proxy=proxy
                ),
                hint=_("give the reverse proxy's address, e.g. 127.0.0.1 or 10.0.0.0/24"),
            )
    return [proxy.strip() for proxy in proxies]


def console_secret(logs_dir: Path, environ: Mapping[str, str]) -> str:
    """`ROBO_CONSOLE_SECRET` when set; else the secret file of `logs_dir`, made (mode 0600) when missing."""
    given = environ.get(SECRET_ENV, "")
    if given:
        if len(given) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                _("{variable} is too short: at least {count} characters").format(
                    variable=SECRET_ENV, count=MIN_SECRET_LENGTH
                ),
                hint=_("make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"),
            )
        return given
    path = logs_dir / SECRET_FILE
    if not path.exists():
        create_private_file(path, secrets.token_urlsafe(48) + "\n")  # another console's, if it won
    return _read(path)


def _read(path: Path) -> str:
    mode = path.lstat().st_mode
    if not stat.S_ISREG(mode) or mode & 0o077:
        raise ConfigurationError(
            _("the console's secret {path} must be a file only its owner can read").format(path=path),
            hint=_("chmod 600 {path}, or remove it: a new one is made (everyone logs in again)").format(
                path=path
            ),
        )
    secret = path.read_text(encoding="ascii", errors="replace").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            _("the console's secret {path} is damaged (too short)").format(path=path),
            hint=_("remove it: a new one is made at the next start (everyone logs in again)"),
        )
    return secret


def _metrics_token(environ: Mapping[str, str]) -> str | None:
    token = environ.get(METRICS_TOKEN_ENV, "").strip()
    if token and len(token) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            _("{variable} is too short: at least {count} characters").format(
                variable=METRICS_TOKEN_ENV, count=MIN_SECRET_LENGTH
            ),
            hint=_("make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"),
        )
    return token or None
