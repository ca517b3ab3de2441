"""The "Messagerie" pages: the mail received by the mock SMTP server."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .mail_store import StoredMail
from .rendering import render_page
from .web_session import intranet_state, require_agent


def _mail_or_404(request: Request) -> StoredMail:
    mail = intranet_state(request).mails.get(request.path_params["mail_id"])
    if mail is None:
        raise HTTPException(status_code=404, detail="Ce courriel n'existe pas.")
    return mail


async def mailbox(request: Request) -> Response:
    """Received messages, newest first."""
    session = require_agent(request)
    mails = list(reversed(intranet_state(request).mails.all()))
    return render_page(
        request, "messagerie.html", {"rubrique": "messagerie", "courriels": mails}, session=session
    )


async def mail_detail(request: Request) -> Response:
    """One message: headers, text and attachments."""
    session = require_agent(request)
    mail = _mail_or_404(request)
    return render_page(
        request, "courriel.html", {"rubrique": "messagerie", "courriel": mail}, session=session
    )


async def mail_attachment(request: Request) -> Response:
    """An attachment's decoded bytes (numbered from 1)."""
    require_agent(request)
    mail = _mail_or_404(request)
    index: int = request.path_params["index"]
    if not 1 <= index <= len(mail.attachments):
        raise HTTPException(status_code=404, detail="Cette pièce jointe n'existe pas.")
    attachment = mail.attachments[index - 1]
    filename = attachment.filename or f"piece-jointe-{index}"
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={"Content-Disposition": f"attachment; filename*=utf-8''{quote(filename)}"},
    )


routes = [
    Route("/messagerie", mailbox, methods=["GET"]),
    Route("/messagerie/{mail_id}", mail_detail, methods=["GET"]),
    Route("/messagerie/{mail_id}/pieces-jointes/{index:int}", mail_attachment, methods=["GET"]),
]
