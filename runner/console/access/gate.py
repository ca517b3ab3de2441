"""The gates every request to the console passes: ASGI middlewares that find who is asking, then let the request
reach its route only when that person's role is at least the one the route table gives the route.

- `AccessGate`, when users are configured: it reads the signed session cookie (a visitor without one is given an
  anonymous session, which carries the CSRF token of the login form), finds the logged-in user in the run store (a
  removed user or a changed role counts at the next request), checks the CSRF token of every unsafe request (POST,
  PUT, PATCH, DELETE: the form's `csrf_token` field or the `X-CSRF-Token` header, compared in constant time), and
  sends whoever is not logged in to the login page. A monitoring scraper may read `/metrics` with the metrics token.
- `LocalViewerGate`, when no user is configured: the console then listens on the loopback address only
  (`check_listen`), and whoever reaches it there (a person logged in on this machine) is a viewer.

Which role a route needs is declared once, beside its path, in the console's route table; a path the table does
not declare needs `Role.ADMIN` (a forgotten route is closed, not open).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robots.kit import _
from runner.console.access.listening import is_loopback
from runner.console.access.operators_log import OperatorsLog
from runner.console.access.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    AccessSettings,
    Session,
    SessionCodec,
)
from runner.console.access.throttle import LoginThrottle
from runner.console.access.users import Role, User, UserStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 16 * 1024 * 1024  # an unsafe request's body is read whole to check its token
LOGIN_PATH = "/login"
METRICS_PATH = "/metrics"  # the one page a scraper's bearer token opens

NeededRole = Callable[[Scope], Role | None]
"""The role the route answering a request needs (None: anyone), from the route table."""


class Gate(ABC):
    """What both gates share: the request reaches the app only when `role` allows the route's `needed_for`."""

    def __init__(self, app: ASGIApp, *, needed_for: NeededRole) -> None:
        self.app = app
        self.needed_for = needed_for

    async def guard(self, scope: Scope, receive: Receive, send: Send, role: Role | None) -> None:
        refusal = self.refusal(scope, receive, role)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, receive: Receive, role: Role | None) -> Response | None:
        """The answer refusing the request when `role` is below its route's (None: it may go on)."""
        needed = self.needed_for(scope)
        if needed is not None and (role is None or not role.allows(needed)):
            return self.refused(Request(scope, receive), needed, role)
        return None

    async def not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's start and stop pass; a websocket is closed: no route of the table is one, and one would need
        this gate's checks first."""
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

    @abstractmethod
    def refused(self, request: Request, needed: Role, role: Role | None) -> Response:
        """The answer to someone whose role (None: nobody logged in) is below the route's."""


class LocalViewerGate(Gate):
    """The gate of a console with no users: `Role.VIEWER` for a request from the loopback address (not forwarded
    by a proxy) to a loopback name (`localhost`, `127.0.0.1`, `[::1]`), nobody else. The name matters: a web page
    the user opens can give its own host name the address 127.0.0.1 (DNS rebinding) and then read the console as
    if it were its own site; its requests carry its own name in `Host`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.not_http(scope, receive, send)
            return
        client = scope.get("client")
        headers = Headers(scope=scope)
        # A request a proxy forwarded comes from elsewhere, even when the proxy runs on this machine.
        forwarded = "x-forwarded-for" in headers or "forwarded" in headers
        local = client and is_loopback(client[0]) and is_loopback(_host_name(headers.get("host", "")))
        role = Role.VIEWER if local and not forwarded else None
        scope.setdefault("state", {}).update(address=client[0] if client else None)
        await self.guard(scope, receive, send, role)

    def refused(self, request: Request, needed: Role, role: Role | None) -> Response:
        if role is None:
            return PlainTextResponse(_("this console answers this machine only"), status_code=403)
        return PlainTextResponse(
            _("this needs the role '{role}': configure users with `robo users add`").format(role=needed.word),
            status_code=403,
        )


class AccessGate(Gate):
    """The gate of a console with users: sessions, CSRF, login and roles (see the module's docstring).

    `throttle` limits the login attempts the login route accepts; logins and logouts go to the operators' `log`
    when one is given.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        needed_for: NeededRole,
        users: UserStore,
        settings: AccessSettings,
        throttle: LoginThrottle | None = None,
        log: OperatorsLog | None = None,
        login_path: str = LOGIN_PATH,
    ) -> None:
        super().__init__(app, needed_for=needed_for)
        self.users = users
        self.settings = settings
        self.codec = SessionCodec(settings)
        self.throttle = throttle or LoginThrottle()
        self.log = log
        self.login_path = login_path
        self._proxies = settings.proxy_networks()
        self._ended: dict[str, float] = {}  # the tokens of sessions logged out, until they would have expired

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.not_http(scope, receive, send)
            return
        if self._is_scraper(scope):
            scope.setdefault("state", {}).update(access=self, address=self.address(scope))
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        loaded = self.codec.load(request.cookies.get(SESSION_COOKIE))
        if loaded is not None and loaded.csrf in self._ended:
            loaded = None  # logged out: a copy of its cookie is worth nothing
        session = loaded or Session.anonymous()
        proxy_user = self._proxy_user(scope)
        name = proxy_user or session.user
        user = await run_in_threadpool(self.users.get, name) if name else None
        if (
            user is not None
            and not proxy_user
            and not hmac.compare_digest(session.seal, self.codec.seal(user.stamp))
        ):
            user = None  # the password changed after this login, or the name was removed and given again
        state = scope.setdefault("state", {})
        state.update(session=session, user=user, access=self, address=self.address(scope))
        send = self._with_cookie(send, session, scope) if loaded is None else send
        refusal = self.refusal(scope, receive, user.role if user else None)
        if refusal is not None:  # refused before its body is read: an anonymous upload costs nothing
            await refusal(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await PlainTextResponse(_("request too large"), 413)(scope, receive, send)
                return
            original = receive
            if not await self._csrf_ok(scope, _replay(body, original), session):
                await PlainTextResponse(
                    _("refused: the form has expired or did not come from the console (CSRF)"), 403
                )(scope, receive, send)
                return
            receive = _replay(body, original)
        await self.app(scope, receive, send)

    def refused(self, request: Request, needed: Role, role: Role | None) -> Response:
        if role is None:
            return self.refuse_anonymous(request)
        user = current_user(request)
        return PlainTextResponse(
            _("refused: this needs the role {role}, and {user} has the role {current}").format(
                role=needed.word, user=user.name if user else "?", current=role.word
            ),
            403,
        )

    def refuse_anonymous(self, request: Request) -> Response:
        """To the login page for a page's GET; 401 for anything else (a form posted after the session ended)."""
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{self.login_path}?next={quote(target, safe='')}", status_code=303)
        return PlainTextResponse(_("log in first"), 401)

    def end(self, scope: Scope) -> None:
        """Log the request's session out: its cookie, even copied elsewhere before, opens nothing after (in this
        process: a restart forgets it, the session then ends at its expiry)."""
        now = time.time()
        self._ended = {token: until for token, until in self._ended.items() if until > now}
        session = scope.get("state", {}).get("session")
        if isinstance(session, Session) and session.user is not None:
            self._ended[session.csrf] = now + self.settings.session_seconds

    def address(self, scope: Scope) -> str | None:
        """The client's address: the peer's, or from a trusted proxy the last one it forwarded for."""
        peer = scope["client"][0] if scope.get("client") else None
        if peer and self._trusted(peer):
            forwarded = Headers(scope=scope).get("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[-1].strip() or peer
        return peer

    def _is_scraper(self, scope: Scope) -> bool:
        """A GET of `/metrics` carrying `Authorization: Bearer <the metrics token>` (compared in constant time)."""
        token = self.settings.metrics_token
        if not token or scope["path"] != METRICS_PATH or scope["method"] not in ("GET", "HEAD"):
            return False
        scheme, _space, given = (Headers(scope=scope).get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    def _trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def _proxy_user(self, scope: Scope) -> str | None:
        if not self.settings.user_header or not scope.get("client") or not self._trusted(scope["client"][0]):
            return None
        return Headers(scope=scope).get(self.settings.user_header) or None

    async def _csrf_ok(self, scope: Scope, receive: Receive, session: Session) -> bool:
        token = Headers(scope=scope).get(CSRF_HEADER)
        if token is None:
            request = Request(scope, receive)
            try:
                form = await request.form()
            except Exception:  # a malformed body carries no valid token
                return False
            field = form.get(CSRF_FIELD)
            token = field if isinstance(field, str) else None
            await form.close()
        return token is not None and hmac.compare_digest(token.encode(), session.csrf.encode())

    def cookie(self, session: Session, scope: Scope) -> str:
        """The Set-Cookie value for `session`, Secure when asked or when the request came over HTTPS."""
        return self.codec.cookie_header(session, https=self.over_https(scope))

    def over_https(self, scope: Scope) -> bool:
        """Whether the browser reached the console over HTTPS: directly, or as a trusted proxy says."""
        if scope.get("scheme") == "https":
            return True
        peer = scope["client"][0] if scope.get("client") else None
        if peer and self._trusted(peer):
            proto = Headers(scope=scope).get("x-forwarded-proto", "")
            return proto.split(",")[0].strip().lower() == "https"
        return False

    def _with_cookie(self, send: Send, session: Session, scope: Scope) -> Send:
        """`send` adding the new session's cookie, unless the response sets one itself (a login, a logout)."""
        header = self.cookie(session, scope).encode("latin-1")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(
                    key.lower() == b"set-cookie" and value.startswith(SESSION_COOKIE.encode() + b"=")
                    for key, value in headers
                ):
                    headers.append((b"set-cookie", header))
                message = {**message, "headers": headers}
            await send(message)

        return sending


def _host_name(host: str) -> str:
    """The name of a `Host` header, without its port (`[::1]:8050` → `[::1]`)."""
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and (not name.startswith("[") or name.endswith("]")) else host


def current_user(request: Request) -> User | None:
    user = request.scope.get("state", {}).get("user")
    return user if isinstance(user, User) else None


def csrf_token(request: Request) -> str:
    """The token a form of this page must carry in its `csrf_token` field; empty with no session (no users)."""
    session = request.scope.get("state", {}).get("session")
    return session.csrf if isinstance(session, Session) else ""


def client_address(request: Request) -> str | None:
    address = request.scope.get("state", {}).get("address")
    return address if isinstance(address, str) else None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """A `receive` giving `body` once, then what the client sends next (its disconnection)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
