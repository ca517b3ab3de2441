"""The test API: JSON endpoints behind the X-Test-Token header, never subject to fault injection.

GET  /api/test/health              no token; {"status": "ok"} once the server answers
GET  /api/test/dossiers            every case with every field and its documents, plus counts
GET  /api/test/dossiers/{numero}   one case
GET  /api/test/mails               received messages (add ?contenu=1 for attachments in base64)
POST /api/test/reset               forget cases, documents, sessions and mail; restore initial faults and settings
GET  /api/test/faults              the faults in force (+ maintenance_remaining)
PUT  /api/test/faults              replace them (a FaultConfig as JSON; omitted keys take their defaults)
GET  /api/test/logins              {"refused": how many logins were refused since the start or the reset}
GET  /api/test/settings            {"session_ttl": seconds}
PUT  /api/test/settings            change session_ttl (applies at once to existing sessions)
POST /api/test/sessions/expire     make every agent's session expired now
GET  /api/test/login?identifiant=agent1&suivant=/dossiers/nouveau[&jeton=TOKEN]
                                   log in without the form and redirect (for screenshots, where a
                                   browser cannot send a header, the token may be given as `jeton`)
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .accounts import TEST_TOKEN_HEADER, find_web_account
from .faults import FaultConfig
from .web_session import intranet_state, safe_next_path, set_session_cookie


def _require_token(request: Request, token: str | None = None) -> None:
    expected = intranet_state(request).test_token
    given = token if token is not None else request.headers.get(TEST_TOKEN_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail=f"missing or wrong {TEST_TOKEN_HEADER} header")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(status_code=400, detail=f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise HTTPException(status_code=400, detail="the body must be a JSON object")
    return data


async def health(request: Request) -> Response:
    """Answered as soon as the server is up; used to wait for start-up."""
    return JSONResponse({"status": "ok"})


async def list_cases(request: Request) -> Response:
    """Every stored case with every field, its documents, and counts."""
    _require_token(request)
    state = intranet_state(request)
    documents_by_case: dict[str, list[Any]] = {}
    for document in state.cases.documents():
        documents_by_case.setdefault(document.numero_dossier, []).append(document)
    cases = [case.to_json(documents_by_case.get(case.numero, [])) for case in state.cases.all()]
    return JSONResponse({"dossiers": cases, "counts": state.cases.counts()})


async def get_case(request: Request) -> Response:
    """One case, or 404."""
    _require_token(request)
    state = intranet_state(request)
    case = state.cases.get(request.path_params["numero"])
    if case is None:
        raise HTTPException(status_code=404, detail="no such case")
    return JSONResponse(case.to_json(state.cases.documents(case.numero)))


async def list_mails(request: Request) -> Response:
    """Received messages, oldest first."""
    _require_token(request)
    include_content = request.query_params.get("contenu") == "1"
    mails = [mail.to_json(include_content) for mail in intranet_state(request).mails.all()]
    return JSONResponse({"mails": mails, "count": len(mails)})


async def reset(request: Request) -> Response:
    """Back to an empty intranet with the faults and settings it started with."""
    _require_token(request)
    intranet_state(request).reset()
    return JSONResponse({"status": "reset"})


async def get_faults(request: Request) -> Response:
    """The faults in force."""
    _require_token(request)
    return JSONResponse(intranet_state(request).faults.status())


async def put_faults(request: Request) -> Response:
    """Replace the faults."""
    _require_token(request)
    data = await _json_object(request)
    try:
        config = FaultConfig.from_json(data)
    except (TypeError, ValueError) as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    state = intranet_state(request)
    state.faults.configure(config)
    return JSONResponse(state.faults.status())


async def get_logins(request: Request) -> Response:
    """How many logins were refused (wrong password, disabled account)."""
    _require_token(request)
    return JSONResponse({"refused": intranet_state(request).refused_logins})


async def get_settings(request: Request) -> Response:
    """Run-time settings."""
    _require_token(request)
    return JSONResponse({"session_ttl": intranet_state(request).session_ttl})


async def put_settings(request: Request) -> Response:
    """Change run-time settings."""
    _require_token(request)
    data = await _json_object(request)
    unknown = sorted(set(data) - {"session_ttl"})
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown setting(s): {', '.join(unknown)}")
    state = intranet_state(request)
    if "session_ttl" in data:
        ttl = data["session_ttl"]
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise HTTPException(status_code=422, detail="session_ttl must be a positive number of seconds")
        state.session_ttl = float(ttl)
    return JSONResponse({"session_ttl": state.session_ttl})


async def expire_sessions(request: Request) -> Response:
    """Expire every agent's session now."""
    _require_token(request)
    return JSONResponse({"expired": intranet_state(request).sessions.expire_all()})


async def login_shortcut(request: Request) -> Response:
    """Open an agent's session without the login form, then redirect to `suivant`."""
    _require_token(request, request.query_params.get("jeton"))
    account = find_web_account(request.query_params.get("identifiant", ""))
    if account is None or not account.active:
        raise HTTPException(status_code=404, detail="no such active account")
    session = intranet_state(request).sessions.create(account.username)
    response = RedirectResponse(safe_next_path(request.query_params.get("suivant", "/")), status_code=303)
    set_session_cookie(response, session)
    return response


routes = [
    Route("/api/test/health", health, methods=["GET"]),
    Route("/api/test/dossiers", list_cases, methods=["GET"]),
    Route("/api/test/dossiers/{numero}", get_case, methods=["GET"]),
    Route("/api/test/mails", list_mails, methods=["GET"]),
    Route("/api/test/reset", reset, methods=["POST"]),
    Route("/api/test/faults", get_faults, methods=["GET"]),
    Route("/api/test/faults", put_faults, methods=["PUT"]),
    Route("/api/test/logins", get_logins, methods=["GET"]),
    Route("/api/test/settings", get_settings, methods=["GET"]),
    Route("/api/test/settings", put_settings, methods=["PUT"]),
    Route("/api/test/sessions/expire", expire_sessions, methods=["POST"]),
    Route("/api/test/login", login_shortcut, methods=["GET"]),
]
