"""A web server of the tests' own, on 127.0.0.1, for pages that need one (a script's fetch, fonts, images)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def http_served(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on 127.0.0.1 in a thread while the block runs; yields the server's address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that does not log each request on the test's output."""

    def log_message(self, *args: Any) -> None:
        pass
