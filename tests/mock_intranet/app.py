"""The Starlette application of the mock intranet: routes, static files, error pages, fault injection."""

from __future__ import annotations

import http
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from . import routes_auth, routes_cases, routes_mail, routes_test_api, routes_waiting
from .faults import SERVER_ERROR_PAGE, FaultInjectionMiddleware
from .rendering import STATIC_DIR, make_templates, render_page
from .state import IntranetState
from .web_session import LoginRequired, current_session, login_redirect

logger = logging.getLogger(__name__)

_ERROR_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Contenu trop volumineux",
}
_DEFAULT_MESSAGES = {
    404: "La page demandée n'existe pas.",
    405: "Cette action n'est pas permise sur cette page.",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    is_default_detail = exc.detail == http.HTTPStatus(exc.status_code).phrase
    message = _DEFAULT_MESSAGES.get(exc.status_code, exc.detail) if is_default_detail else exc.detail
    context = {"titre": _ERROR_TITLES.get(exc.status_code, "Erreur"), "message": message}
    session = current_session(request)
    return render_page(
        request, "erreur.html", context, session=session if session and session.username else None,
        status_code=exc.status_code,
    )  # fmt: skip


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return login_redirect(exc.next_path, exc.expired)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return HTMLResponse(SERVER_ERROR_PAGE, status_code=500)


def create_app(state: IntranetState) -> Starlette:
    """The web app serving `state`'s data, with its faults applied in front of every page."""
    app = Starlette(
        routes=[
            *routes_test_api.routes,
            *routes_auth.routes,
            *routes_cases.routes,
            *routes_mail.routes,
            *routes_waiting.routes,
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(FaultInjectionMiddleware, injector=state.faults)],
        exception_handlers={
            HTTPException: _http_error,
            LoginRequired: _login_required,
            Exception: _server_error,
        },
    )
    app.state.intranet = state
    app.state.templates = make_templates()
    return app
