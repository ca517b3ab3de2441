"""An HTTP exchange's deadline: every connect, read and write of httpx's connections ends at it.

httpx's timeouts bound each network operation; a server sending one byte every second would otherwise never time
out. The `http` robot runs each exchange inside `deadline_at`, wraps its client's transports with
`cut_at_deadline` and reads bodies through `body_chunks`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import ssl

    import httpcore
    import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("robo_http_deadline", default=None)
"""When (time.monotonic()) the exchange under way must be over: every connect, read and write is cut there."""


@contextmanager
def deadline_at(when: float) -> Iterator[None]:
    """Make the exchange run inside the block end at `when` (a `time.monotonic()` value)."""
    token = _DEADLINE.set(when)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _remaining(timeout: float | None, exception: type[Exception]) -> float | None:
    """The timeout of one network operation, cut to what is left of the exchange's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exception("the exchange's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A connection whose every read and write ends at the exchange's deadline (an `httpcore.NetworkStream`).

    httpx's timeouts bound each read; a server sending one byte every second would otherwise never time out.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        return self._stream.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        self._stream.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        import httpcore

        timeout = _remaining(timeout, httpcore.ConnectTimeout)
        return cast(
            "httpcore.NetworkStream",
            _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout)),
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    """Opens `_DeadlineStream` connections (an `httpcore.NetworkBackend`)."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        import httpcore

        timeout = _remaining(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return cast("httpcore.NetworkStream", _DeadlineStream(stream))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        import httpcore

        timeout = _remaining(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return cast("httpcore.NetworkStream", _DeadlineStream(stream))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def cut_at_deadline(transport: object) -> None:
    """Make the connections of one of httpx's transports (direct, or through a proxy) end at the deadline.

    httpx offers no setting for this: the network backend of the transport's httpcore pool is wrapped. A
    transport of another kind is left as it is; `body_chunks` still checks the deadline between pieces of an answer.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is not None and backend is not None and not isinstance(backend, _DeadlineBackend):
        pool._network_backend = _DeadlineBackend(backend)


def body_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body's pieces, as they come; past the exchange's deadline, a read timeout.

    The connections cut every read at the deadline already (`cut_at_deadline`); this also holds on a transport
    whose connections could not be wrapped.
    """
    import httpx

    for chunk in response.iter_bytes():
        yield chunk
        deadline = _DEADLINE.get()
        if deadline is not None and time.monotonic() > deadline:
            raise httpx.ReadTimeout("the exchange's deadline has passed", request=response.request)
