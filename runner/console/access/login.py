"""The login and logout endpoints (declared in the console's route table), and the login page."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import NoMatchFound

from robots.kit import _, current_language, format_duration, page_templates
from runner.console.access.gate import LOGIN_PATH, AccessGate, client_address, csrf_token, current_user
from runner.console.access.sessions import CSRF_FIELD, Session

LOGOUT_PATH = "/logout"
MAX_FIELD = 1000  # a user name or password longer than this is refused unread

_templates = page_templates("runner.console.access")


def csrf_field(request: Request) -> Markup:
    """The hidden input carrying the CSRF token, for every form (a template global)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, escape(csrf_token(request))
    )


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never `//host`, `/\\host` or a URL)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(char) < 32 for char in target)
    ):
        return "/"
    return target


def _gate(request: Request) -> AccessGate | None:
    """The gate of a console with users; None when no user is configured (nobody to log in)."""
    gate = request.scope.get("state", {}).get("access")
    return gate if isinstance(gate, AccessGate) else None


async def login_page(request: Request) -> Response:
    """`GET /login`: the form (with no user configured, there is nothing to log in to: the console itself)."""
    if _gate(request) is None:
        return RedirectResponse("/", status_code=303)
    return _page(request, next_path=safe_next(request.query_params.get("next")))


async def log_in(request: Request) -> Response:
    """`POST /login`: throttled; a right password opens a new session and goes to `next` (a path of the site)."""
    gate = _gate(request)
    if gate is None:
        return RedirectResponse("/", status_code=303)
    form = await request.form()
    name, password, next_path = (str(form.get(key) or "") for key in ("username", "password", "next"))
    next_path = safe_next(next_path)
    address = client_address(request)
    if len(name) > MAX_FIELD or len(password) > MAX_FIELD:
        return _page(request, next_path=next_path, error=_("wrong user name or password"), status=400)
    wait = gate.throttle.admit(name, address)
    if wait > 0:
        error = _("too many failed logins: try again in {duration}").format(duration=format_duration(wait))
        return _page(request, next_path=next_path, username=name, error=error, status=429)
    user = await run_in_threadpool(gate.users.authenticate, name, password)
    if user is None:
        gate.throttle.failed(name, address)
        return _page(
            request, next_path=next_path, username=name, error=_("wrong user name or password"), status=401
        )
    gate.throttle.succeeded(name, address)
    if gate.log is not None:
        await run_in_threadpool(gate.log.record, user.name, "login", address)
    # A new session (and token) at login: a session fixed before it is worth nothing after.
    response = RedirectResponse(next_path, status_code=303)
    response.headers.append(
        "set-cookie", gate.cookie(Session.logged_in(user.name, gate.codec.seal(user.stamp)), request.scope)
    )
    return response


async def log_out(request: Request) -> Response:
    """`POST /logout`: the session ends (a new anonymous one replaces it), then the login page."""
    gate = _gate(request)
    if gate is None:
        return RedirectResponse("/", status_code=303)
    user = current_user(request)
    if gate.log is not None and user is not None:
        await run_in_threadpool(gate.log.record, user.name, "logout", client_address(request))
    gate.end(request.scope)  # the session's cookie, copied before, opens nothing after
    response = RedirectResponse(gate.login_path, status_code=303)
    response.headers.append("set-cookie", gate.cookie(Session.anonymous(), request.scope))
    return response


def _page(
    request: Request, *, next_path: str, username: str = "", error: str | None = None, status: int = 200
) -> Response:
    context: dict[str, Any] = {
        "lang": current_language(),
        "csrf_field": lambda: csrf_field(request),
        "login_path": LOGIN_PATH,
        "stylesheet": _stylesheet(request),
        "next": next_path,
        "username": username,
        "error": error,
    }
    return HTMLResponse(_templates.get_template("login.html.j2").render(context), status_code=status)


def _stylesheet(request: Request) -> str | None:
    """The console's style sheet (same origin, so the site's Content-Security-Policy allows it)."""
    try:
        return str(request.url_for("static", path="console.css"))
    except NoMatchFound:  # an app without the console's static files
        return None
