"""One HTTP exchange within its deadline: redirects followed (credentials kept to their origin), errors in words."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from robots.http.deadline import cut_at_deadline, deadline_at
from robots.kit import ApplicationError, BusinessError, ConfigurationError, _, format_number

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 20
_SAFE_ACROSS_ORIGINS = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "host", "connection"}
)
"""The only request headers sent on when a redirect leads to another origin: none can carry a credential."""
_NAME_NOT_FOUND = ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")


def new_client() -> httpx.Client:
    """A client following no redirect itself (`exchange` does), every connection cut at the exchange's deadline."""
    import httpx

    client = httpx.Client(
        follow_redirects=False,  # followed by `exchange`, which keeps credentials to their origin
        headers={"User-Agent": "RobO (httpx)"},
    )
    proxies = client._mounts.values()  # the proxies the environment names (HTTP_PROXY, …)
    for transport in (client._transport, *proxies):
        cut_at_deadline(transport)
    return client


@contextmanager
def exchange(
    client: httpx.Client, method: str, url: str, timeout: float, **send: Any
) -> Iterator[httpx.Response]:
    """Send a request, follow its redirects and hand over the final answer, its body not yet read.

    The whole exchange, up to the end of the block, must be over within `timeout` seconds.
    """
    started = time.monotonic()
    with deadline_at(started + timeout):
        with _plain_errors(method, url, timeout, started):
            request = client.build_request(method, url, timeout=timeout, **send)
            origin = request.url
            for _redirect in range(MAX_REDIRECTS + 1):
                response = client.send(request, stream=True)
                if response.next_request is None:
                    break
                response.close()
                redirected = response.next_request
                if not _same_origin(origin, redirected.url):
                    if redirected.method not in ("GET", "HEAD"):  # a 307 or 308 would send the body on
                        other = f"{redirected.url.scheme}://{redirected.url.netloc.decode('ascii')}"
                        raise BusinessError(
                            _(
                                "{method} {url}: the server redirects the data sent to another server, "
                                "{other}; it was not sent there"
                            ).format(method=method, url=url, other=other),
                            hint=_("if that server is to be trusted with the data, call it directly"),
                        )
                    for name in {name.lower() for name in redirected.headers}:
                        if name not in _SAFE_ACROSS_ORIGINS:
                            del redirected.headers[name]
                request = redirected
            else:
                raise ApplicationError(
                    _("{method} {url}: more than {n} redirects, one after the other").format(
                        method=method, url=url, n=MAX_REDIRECTS
                    ),
                    hint=_("the server sends the client round in circles; check the address"),
                )
            try:
                yield response
            finally:
                response.close()


@contextmanager
def _plain_errors(method: str, url: str, timeout: float, started: float) -> Iterator[None]:
    """Turn httpx's exceptions into Rob'O errors that say, in plain words, what happened to which URL."""
    import httpx

    try:
        yield
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigurationError(
            _("{method} {url}: not a web address that can be called ({problem})").format(
                method=method, url=url, problem=exc
            ),
            hint=_("a web address starts with http:// or https://"),
        ) from None
    except httpx.TimeoutException as exc:
        waited = format_number(time.monotonic() - started, decimals=1)
        if isinstance(exc, httpx.ConnectTimeout):
            message = _("{method} {url}: waited {waited} s to connect in vain (timeout: {timeout} s)")
        else:
            message = _(
                "{method} {url}: waited {waited} s for the whole answer in vain (timeout: {timeout} s)"
            )
        raise ApplicationError(
            message.format(method=method, url=url, waited=waited, timeout=format_number(timeout)),
            hint=_("the server is down, overloaded or too slow; raise `timeout` if it is normally this slow"),
        ) from None
    except httpx.ConnectError as exc:
        text = str(exc).lower()
        if "refused" in text:
            message = _("{method} {url}: the connection was refused")
        elif any(marker in text for marker in _NAME_NOT_FOUND):
            message = _("{method} {url}: the server name {name} could not be found")
        else:
            message = _("{method} {url}: could not connect ({problem})")
        raise ApplicationError(
            message.format(method=method, url=url, name=repr(urlsplit(url).hostname), problem=exc),
            hint=_("is the server running? check the address and port"),
        ) from None
    except httpx.HTTPError as exc:
        raise ApplicationError(
            _("{method} {url}: the exchange failed ({error}: {problem})").format(
                method=method, url=url, error=type(exc).__name__, problem=exc
            ),
            hint=_("the connection was cut or the server answered something unreadable"),
        ) from None


def _same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    """Whether two addresses share an origin; an upgrade from http to https on the same host counts as one."""

    def port(url: httpx.URL) -> int | None:
        return url.port or {"http": 80, "https": 443}.get(url.scheme)

    if url.host != other.host:
        return False
    if url.scheme == other.scheme:
        return port(url) == port(other)
    return (url.scheme, port(url), other.scheme, port(other)) == ("http", 80, "https", 443)
