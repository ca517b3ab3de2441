"""Pages of the cases ("dossiers"): home, new-case form, confirmation, list, detail, documents."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from .case_form import (
    CASE_FIELDS,
    COLON_LABELS,
    PRIORITES,
    TYPES_DEMANDE,
    field_labels,
    typographic,
    validate_case_form,
)
from .case_store import CaseRecord, DocumentRecord
from .form_values import FileTooLarge, UploadedFile, form_text, read_upload
from .rendering import render_page
from .session_store import WebSession
from .state import CASES_PER_PAGE, MAX_UPLOAD_BYTES, IntranetState
from .web_session import intranet_state, require_agent, verify_csrf

FILE_TOO_LARGE = f"Le fichier dépasse la taille maximale autorisée ({MAX_UPLOAD_BYTES // (1024 * 1024)} Mo)."
NO_FILE_CHOSEN = "Veuillez choisir un fichier à téléverser."
ALREADY_IN_CASE = (
    "Ce document est déjà dans le dossier : « {nom} », téléversé le {moment}"
    " (même contenu, empreinte {empreinte})."
)


def _labels(request: Request) -> dict[str, str]:
    return field_labels(intranet_state(request).faults.config.changed_layout)


def _case_or_404(state: IntranetState, numero: str) -> CaseRecord:
    case = state.cases.get(numero)
    if case is None:
        raise HTTPException(status_code=404, detail=f"Le dossier {numero} n'existe pas.")
    return case


def _store_document(state: IntranetState, numero: str, upload: UploadedFile, username: str) -> DocumentRecord:
    document_id = state.documents.new_id()
    sha256 = state.documents.write(document_id, upload.content)
    document = DocumentRecord(
        id=document_id,
        numero_dossier=numero,
        nom_fichier=upload.filename,
        type_contenu=upload.content_type,
        taille=len(upload.content),
        sha256=sha256,
        televerse_le=datetime.now().replace(microsecond=0),
        televerse_par=username,
    )
    try:
        state.cases.add_document(document)
    except BaseException:
        state.documents.delete(document_id)
        raise
    return document


async def home(request: Request) -> Response:
    """The agent's dashboard."""
    session = require_agent(request)
    state = intranet_state(request)
    context = {
        "rubrique": "accueil",
        "compteurs": state.cases.counts(),
        "nombre_courriels": state.mails.count(),
    }
    return render_page(request, "accueil.html", context, session=session)


def _render_form(
    request: Request, session: WebSession, values: dict[str, str], errors: dict[str, str]
) -> Response:
    context: dict[str, Any] = {
        "rubrique": "nouveau",
        "libelles": _labels(request),
        "obligatoires": {field.name for field in CASE_FIELDS if field.required},
        "libelles_deux_points": COLON_LABELS,
        "typographique": typographic,
        "valeurs": values,
        "erreurs": errors,
        "types_demande": TYPES_DEMANDE,
        "priorites": PRIORITES,
        "aujourdhui": date.today().isoformat(),
    }
    return render_page(request, "dossier_nouveau.html", context, session=session)


async def new_case_page(request: Request) -> Response:
    """The empty "Nouveau dossier" form."""
    session = require_agent(request)
    values = {field.name: "" for field in CASE_FIELDS} | {"priorite": PRIORITES[0]}
    return _render_form(request, session, values, {})


async def new_case_submit(request: Request) -> Response:
    """Validate and store a case, or show the form again with the entered values and the errors."""
    session = require_agent(request)
    assert session.username is not None
    state = intranet_state(request)
    async with request.form(max_files=1, max_fields=64) as form:
        verify_csrf(form, session)
        values = {
            field.name: form_text(form, field.name) for field in CASE_FIELDS if field.name != "piece_jointe"
        }
        case_input, errors = validate_case_form(values, date.today())
        try:
            attachment = await read_upload(form, "piece_jointe", MAX_UPLOAD_BYTES)
        except FileTooLarge:
            attachment, errors = None, errors | {"piece_jointe": FILE_TOO_LARGE}
    if case_input is None or errors:
        return _render_form(request, session, values, errors)
    case = state.cases.create(case_input, created_by=session.username)
    if attachment is not None:
        _store_document(state, case.numero, attachment, session.username)
    return RedirectResponse(f"/dossiers/{case.numero}/confirmation", status_code=303)


async def confirmation_page(request: Request) -> Response:
    """ "Dossier enregistré sous le numéro …"."""
    session = require_agent(request)
    case = _case_or_404(intranet_state(request), request.path_params["numero"])
    return render_page(request, "dossier_confirmation.html", {"dossier": case}, session=session)


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 9 else 1


async def case_list(request: Request) -> Response:
    """Search, filters and pagination over the cases."""
    session = require_agent(request)
    params = request.query_params
    search = {
        "q": params.get("q", "").strip(),
        "type": params.get("type", ""),
        "priorite": params.get("priorite", ""),
    }
    page = intranet_state(request).cases.search(
        search["q"], search["type"], search["priorite"], _page_number(params.get("page", "1")), CASES_PER_PAGE
    )

    def page_link(number: int) -> str:
        return "/dossiers?" + urlencode({**{k: v for k, v in search.items() if v}, "page": number})

    context = {
        "rubrique": "dossiers",
        "recherche": search,
        "page": page,
        "lien_page": page_link,
        "libelles": _labels(request),
        "types_demande": TYPES_DEMANDE,
        "priorites": PRIORITES,
    }
    return render_page(request, "dossiers.html", context, session=session)


def _render_detail(
    request: Request, session: WebSession, case: CaseRecord, *, uploaded: str = "", error: str = ""
) -> Response:
    context = {
        "rubrique": "dossiers",
        "dossier": case,
        "documents": intranet_state(request).cases.documents(case.numero),
        "libelles": _labels(request),
        "televerse": uploaded,
        "erreur_document": error,
    }
    return render_page(request, "dossier_detail.html", context, session=session)


async def case_detail(request: Request) -> Response:
    """A case's fields and documents, with the upload form."""
    session = require_agent(request)
    case = _case_or_404(intranet_state(request), request.path_params["numero"])
    return _render_detail(request, session, case, uploaded=request.query_params.get("televerse", ""))


async def upload_document(request: Request) -> Response:
    """Store an uploaded document in the GED."""
    numero = request.path_params["numero"]
    session = require_agent(request, next_path=f"/dossiers/{numero}")
    assert session.username is not None
    state = intranet_state(request)
    case = _case_or_404(state, numero)
    async with request.form(max_files=1, max_fields=8) as form:
        verify_csrf(form, session)
        try:
            upload = await read_upload(form, "document", MAX_UPLOAD_BYTES)
        except FileTooLarge:
            return _render_detail(request, session, case, error=FILE_TOO_LARGE)
    if upload is None:
        return _render_detail(request, session, case, error=NO_FILE_CHOSEN)
    # As a real GED does, the same bytes are kept once per case: a re-sent document is refused, and the
    # page names the copy already there (a bot resumed after a crash can tell it was uploaded).
    digest = hashlib.sha256(upload.content).hexdigest()
    same = next((doc for doc in state.cases.documents(numero) if doc.sha256 == digest), None)
    if same is not None:
        moment = same.televerse_le.strftime("%d/%m/%Y à %H:%M")
        error = ALREADY_IN_CASE.format(nom=same.nom_fichier, moment=moment, empreinte=digest[:12])
        return _render_detail(request, session, case, error=error)
    document = _store_document(state, numero, upload, session.username)
    return RedirectResponse(
        f"/dossiers/{numero}?{urlencode({'televerse': document.nom_fichier})}", status_code=303
    )


async def download_document(request: Request) -> Response:
    """A document's original bytes."""
    require_agent(request)
    state = intranet_state(request)
    numero, document_id = request.path_params["numero"], request.path_params["document_id"]
    document = state.cases.document(numero, document_id)
    path = state.documents.path(document_id) if document else None
    if document is None or path is None or not path.exists():
        raise HTTPException(status_code=404, detail="Ce document n'existe pas.")
    return FileResponse(path, media_type=document.type_contenu, filename=document.nom_fichier)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/dossiers", case_list, methods=["GET"]),
    Route("/dossiers/nouveau", new_case_page, methods=["GET"]),
    Route("/dossiers/nouveau", new_case_submit, methods=["POST"]),
    Route("/dossiers/{numero}", case_detail, methods=["GET"]),
    Route("/dossiers/{numero}/confirmation", confirmation_page, methods=["GET"]),
    Route("/dossiers/{numero}/documents", upload_document, methods=["POST"]),
    Route("/dossiers/{numero}/documents/{document_id:str}", download_document, methods=["GET"]),
]
