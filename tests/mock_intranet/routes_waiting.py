"""Pages that exercise a bot's waiting: content inserted after a delay, modal and confirm() dialogs.

They need no login, so browser-robot tests can use them directly.
"""

from __future__ import annotations

import random

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .rendering import render_page
from .session_store import WebSession
from .web_session import current_session, is_expired

MAX_DELAY_MS = 60_000


def _delay_parameter(request: Request, name: str, default: int | None) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) > MAX_DELAY_MS:
        raise HTTPException(
            status_code=400,
            detail=f"Le paramètre « {name} » doit être un nombre de millisecondes entre 0 et {MAX_DELAY_MS}.",
        )
    return int(text)


def _agent_session(request: Request) -> WebSession | None:
    """The agent's live session, for the page header; these pages never require one."""
    session = current_session(request)
    if session is None or session.username is None or is_expired(request, session):
        return None
    return session


async def delayed_page(request: Request) -> Response:
    """/attente?delai=MS: the result element `#resultat` appears MS milliseconds after load (default 2000)."""
    delay = _delay_parameter(request, "delai", 2000)
    context = {"delai": delay, "reference": f"{random.randrange(1_000_000):06d}"}
    return render_page(request, "attente.html", context, session=_agent_session(request))


async def dialogs_page(request: Request) -> Response:
    """/dialogues[?information=MS]: a `<dialog>` modal, a JS confirm(), and optionally an automatic modal."""
    context = {"information_auto": _delay_parameter(request, "information", None)}
    return render_page(request, "dialogues.html", context, session=_agent_session(request))


routes = [
    Route("/attente", delayed_page, methods=["GET"]),
    Route("/dialogues", dialogs_page, methods=["GET"]),
]
