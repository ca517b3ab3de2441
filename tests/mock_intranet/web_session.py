"""The web session of a request: the session cookie, login-required pages and CSRF checks."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .session_store import WebSession
from .state import IntranetState

SESSION_COOKIE = "intranet_session"
CSRF_FIELD = "csrf_token"
CSRF_ERROR = "Jeton de sécurité absent ou invalide. Rechargez la page et recommencez."


class LoginRequired(Exception):
    """Raised by a page that needs an agent's session; answered with a redirect to the login page."""

    def __init__(self, next_path: str, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


def intranet_state(request: Request) -> IntranetState:
    """The IntranetState of the app serving `request`."""
    state: IntranetState = request.app.state.intranet
    return state


def current_session(request: Request) -> WebSession | None:
    """The session named by the request's cookie, or None (expired sessions included)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    return intranet_state(request).sessions.get(session_id) if session_id else None


def is_expired(request: Request, session: WebSession) -> bool:
    """True for an agent's session older than the configured lifetime."""
    state = intranet_state(request)
    return session.is_expired(state.session_ttl, state.clock())


def require_agent(request: Request, next_path: str | None = None) -> WebSession:
    """The agent's session, or LoginRequired (ending the session if it has expired)."""
    session = current_session(request)
    target = next_path or request.url.path
    if session is None or session.username is None:
        raise LoginRequired(target, expired=False)
    if is_expired(request, session):
        intranet_state(request).sessions.delete(session.id)
        raise LoginRequired(target, expired=True)
    return session


def login_redirect(next_path: str, expired: bool) -> RedirectResponse:
    """303 to the login page, which will send the agent back to `next_path` once logged in."""
    query = {"suivant": next_path}
    if expired:
        query["expiree"] = "1"
    response = RedirectResponse(f"/connexion?{urlencode(query)}", status_code=303)
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def verify_csrf(form: FormData, session: WebSession | None) -> None:
    """Raise HTTP 403 unless the form carries the session's CSRF token."""
    submitted = form.get(CSRF_FIELD)
    if (
        session is None
        or not isinstance(submitted, str)
        or not hmac.compare_digest(submitted, session.csrf_token)
    ):
        raise HTTPException(status_code=403, detail=CSRF_ERROR)


def set_session_cookie(response: Response, session: WebSession) -> None:
    """Attach the session to the browser."""
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="lax", path="/")


def safe_next_path(value: object) -> str:
    """`value` when it is a path on this site, "/" otherwise (no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
