"""Running the mock intranet: the web app under uvicorn and the mail server, in background threads."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from .accounts import DEFAULT_SMTP_ACCOUNT, TEST_TOKEN, TEST_TOKEN_HEADER, WEB_ACCOUNTS, TestAccount
from .app import create_app
from .faults import FaultConfig
from .mail_store import MailStore
from .smtp_server import MailServer
from .state import DEFAULT_SESSION_TTL_SECONDS, IntranetState
from .tls import CertificateFiles, ensure_self_signed_certificate

START_TIMEOUT_SECONDS = 15.0


def _listening_socket(host: str, port: int) -> socket.socket:
    # Bound here rather than by uvicorn so that port 0 yields the chosen port before serving starts,
    # without the race of "find a free port, close it, hope nobody takes it".
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every keep-alive answer waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


class WebServer:
    """An ASGI app served by uvicorn in a background thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:45123."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Serve; return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the web server is already running")
        self._socket = _listening_socket(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"mock-web-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError("the web server stopped during start-up (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the web server did not start within {START_TIMEOUT_SECONDS} s")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


class MockIntranet:
    """The mock intranet web app and mail server, sharing one data directory.

    Args:
        data_dir: Where cases, documents, sessions and mail are kept (survives restarts).
        session_ttl: Seconds an agent's session lasts after login.
        faults: Faults to inject from the start (and to restore on reset).
        host: Address both servers listen on.
        port: Web port; 0 picks a free one (kept across `restart()`).
        smtp_port: SMTP port; 0 picks a free one (kept across `restart()`).
        smtp_auth_required: Refuse mail from unauthenticated clients.
        smtp_auth_require_tls: Refuse AUTH before STARTTLS; False allows AUTH over plain text (tests).
        test_token: Value expected in the X-Test-Token header of the test API.

    Usage:
        with MockIntranet(tmp_path) as intranet:
            httpx.get(intranet.url + "/connexion")
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        session_ttl: float = DEFAULT_SESSION_TTL_SECONDS,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        smtp_port: int = 0,
        smtp_auth_required: bool = False,
        smtp_auth_require_tls: bool = True,
        test_token: str = TEST_TOKEN,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.session_ttl = session_ttl
        self.initial_faults = faults or FaultConfig()
        self.host = host
        self.port = port
        self.smtp_port = smtp_port
        self.smtp_auth_required = smtp_auth_required
        self.smtp_auth_require_tls = smtp_auth_require_tls
        self.test_token = test_token
        self.certificate: CertificateFiles = ensure_self_signed_certificate(self.data_dir / "tls")
        self.state = self._new_state()
        self._web: WebServer | None = None
        self._mail: MailServer | None = None

    accounts: tuple[TestAccount, ...] = WEB_ACCOUNTS
    smtp_account: TestAccount = DEFAULT_SMTP_ACCOUNT

    @property
    def url(self) -> str:
        """Base URL of the web app, e.g. http://127.0.0.1:45123."""
        return f"http://{self.host}:{self.port}"

    @property
    def smtp_host(self) -> str:
        """Host of the mail server."""
        return self.host

    @property
    def mail_store(self) -> MailStore:
        """The received messages."""
        return self.state.mails

    @property
    def test_headers(self) -> dict[str, str]:
        """Headers to send to the test API."""
        return {TEST_TOKEN_HEADER: self.test_token}

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._web is not None

    def _new_state(self) -> IntranetState:
        return IntranetState(
            self.data_dir,
            session_ttl=self.session_ttl,
            faults=self.initial_faults,
            test_token=self.test_token,
        )

    def start(self) -> MockIntranet:
        """Start both servers (re-reading the data directory, as a restarted process would)."""
        if self.running:
            raise RuntimeError("the mock intranet is already running")
        self.state = self._new_state()
        mail = MailServer(
            self.state.mails,
            self.certificate,
            host=self.host,
            port=self.smtp_port,
            auth_required=self.smtp_auth_required,
            auth_require_tls=self.smtp_auth_require_tls,
        )
        mail.start()
        web = WebServer(create_app(self.state), self.host, self.port)
        try:
            web.start()
        except BaseException:
            mail.stop()
            raise
        self._mail, self._web = mail, web
        self.smtp_port, self.port = mail.port, web.port
        return self

    def stop(self) -> None:
        """Stop both servers; the data directory keeps everything."""
        web, mail = self._web, self._mail
        self._web = self._mail = None
        if web is not None:
            web.stop()
        if mail is not None:
            mail.stop()

    def restart(self) -> None:
        """Stop and start again on the same ports."""
        self.stop()
        self.start()

    def reset(self) -> None:
        """Forget all data (cases, documents, sessions, mail) and restore the initial faults and settings."""
        self.state.reset()

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the faults at run time."""
        self.state.faults.configure(faults)

    def describe(self) -> dict[str, Any]:
        """URLs, ports, accounts and token, e.g. for `serve --json`."""
        return {
            "url": self.url,
            "smtp_host": self.smtp_host,
            "smtp_port": self.smtp_port,
            "smtp_certificate": str(self.certificate.certificate),
            "smtp_account": {"username": self.smtp_account.username, "password": self.smtp_account.password},
            "accounts": [
                {"username": account.username, "password": account.password, "active": account.active}
                for account in self.accounts
            ],
            "test_token_header": TEST_TOKEN_HEADER,
            "test_token": self.test_token,
            "data_dir": str(self.data_dir),
        }

    def __enter__(self) -> MockIntranet:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
