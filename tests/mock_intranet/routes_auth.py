"""Login and logout pages."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .accounts import find_web_account
from .form_values import form_text
from .rendering import render_page
from .web_session import (
    SESSION_COOKIE,
    current_session,
    intranet_state,
    is_expired,
    safe_next_path,
    set_session_cookie,
    verify_csrf,
)

WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
DISABLED_ACCOUNT = "Ce compte est désactivé. Contactez votre administrateur."


async def login_page(request: Request) -> Response:
    """The login form; an anonymous session is opened so the form can carry a CSRF token."""
    state = intranet_state(request)
    next_path = safe_next_path(request.query_params.get("suivant", "/"))
    session = current_session(request)
    expired = request.query_params.get("expiree") == "1"
    if session is not None and session.username is not None:
        if not is_expired(request, session):
            return RedirectResponse(next_path, status_code=303)
        state.sessions.delete(session.id)
        session, expired = None, True
    if session is None:
        session = state.sessions.create(None)
    context = {
        "expiree": expired,
        "deconnecte": request.query_params.get("deconnecte") == "1",
        "suivant": next_path,
        "identifiant": "",
        "erreur": None,
    }
    response = render_page(request, "connexion.html", context, session=session)
    set_session_cookie(response, session)
    return response


async def login_submit(request: Request) -> Response:
    """Check the credentials; on success open a new session (a fresh id, against session fixation)."""
    state = intranet_state(request)
    session = current_session(request)
    async with request.form() as form:
        verify_csrf(form, session)
        assert session is not None
        username = form_text(form, "identifiant").strip()
        password = form_text(form, "mot_de_passe")
        next_path = safe_next_path(form_text(form, "suivant") or "/")
    account = find_web_account(username)
    error = None
    if account is None or not hmac.compare_digest(account.password.encode(), password.encode()):
        error = WRONG_CREDENTIALS
    elif not account.active:
        error = DISABLED_ACCOUNT
    if error is not None or account is None:
        state.refused_logins += 1
        context = {
            "expiree": False,
            "deconnecte": False,
            "suivant": next_path,
            "identifiant": username,
            "erreur": error,
        }
        anonymous = session if session.username is None else state.sessions.create(None)
        response = render_page(request, "connexion.html", context, session=anonymous)
        set_session_cookie(response, anonymous)
        return response
    state.sessions.delete(session.id)
    agent_session = state.sessions.create(account.username)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, agent_session)
    return response


async def logout(request: Request) -> Response:
    """End the session ("Se déconnecter")."""
    session = current_session(request)
    async with request.form() as form:
        verify_csrf(form, session)
    assert session is not None
    intranet_state(request).sessions.delete(session.id)
    response = RedirectResponse("/connexion?deconnecte=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/connexion", login_page, methods=["GET"]),
    Route("/connexion", login_submit, methods=["POST"]),
    Route("/deconnexion", logout, methods=["POST"]),
]
