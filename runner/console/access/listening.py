"""Where the console may listen: on another machine's reach only once someone can log in."""

from __future__ import annotations

import ipaddress

from robots.kit import ConfigurationError, _
from runner.console.access.users import UserStore
from runner.record import RunStore

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class ListenRefused(ConfigurationError):
    """The console would be open to the network with nobody able to log in."""


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost); `0.0.0.0`, `::` and names
    of the machine are not."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_listen(host: str, store: RunStore | UserStore) -> None:
    """Refuse (`ListenRefused`) to listen on `host` when it is not a loopback address and the store has no
    users: such a console would have no login, and the network would reach it."""
    if is_loopback(host):
        return
    users = store if isinstance(store, UserStore) else UserStore(store.engine)
    if users.count() == 0:
        raise ListenRefused(
            _("the console will not listen on {host}: no user is configured, so nobody could log in").format(
                host=host
            ),
            hint=_("add one with 'robo users add NAME --role admin', or listen on 127.0.0.1"),
        )
