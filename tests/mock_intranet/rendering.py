"""Jinja2 templates of the intranet pages, their French formatting filters, and the page renderer."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .accounts import find_web_account
from .case_form import format_montant_fr
from .session_store import WebSession

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _date_fr(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _date_heure_fr(value: datetime) -> str:
    return value.strftime("%d/%m/%Y à %H:%M")


def _taille_fichier(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} Ko".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def make_templates() -> Jinja2Templates:
    """The page templates (autoescaped) with the French formatting filters."""
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters.update(
        montant_fr=format_montant_fr,
        date_fr=_date_fr,
        date_heure_fr=_date_heure_fr,
        taille_fichier=_taille_fichier,
    )
    return templates


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: WebSession | None,
    status_code: int = 200,
) -> Response:
    """A page, with the agent's name, the logout form and the CSRF token taken from `session`."""
    templates: Jinja2Templates = request.app.state.templates
    agent = find_web_account(session.username) if session and session.username else None
    return templates.TemplateResponse(
        request,
        template,
        {"agent": agent, "csrf_token": session.csrf_token if session else "", **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
