"""The language of each request to the console: the person's choice (`?lang=fr|en`, then kept in a cookie), else
`ROBO_LANG` (the service's choice), else the browser's `Accept-Language`, else French.

Each request is answered inside `robots.kit.speaking(language)`, a context variable: two people reading the
console in two languages at the same moment each get their own, messages, numbers and moments alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from babel.core import negotiate_locale
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robots.kit import LANGUAGE_VARIABLE, LANGUAGES, speaking

CONSOLE_LANGUAGE = "fr"  # the console's language when nothing else says: its readers are French agents
LANGUAGE_PARAMETER = "lang"
LANGUAGE_COOKIE = "robo_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
MAX_ACCEPT_LANGUAGE = 50
LANGUAGE_TAG = re.compile(
    r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*"
)  # `*` and junk are not languages  # entries of the header read: a longer one is hostile, not a browser


def accepted_languages(header: str) -> list[str]:
    """The languages of an `Accept-Language` header, the preferred first (by `q`, then order); `q=0` refused."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",", MAX_ACCEPT_LANGUAGE)[:MAX_ACCEPT_LANGUAGE]):
        tag, _, parameters = part.partition(";")
        tag = tag.strip()
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
        if LANGUAGE_TAG.fullmatch(tag) and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _quality, _position, tag in sorted(weighted)]


def choose_language(
    query: Mapping[str, str], cookies: Mapping[str, str], accept_language: str, environ: Mapping[str, str]
) -> str:
    """The language to answer in (see the module's docstring for the order)."""
    for asked in (query.get(LANGUAGE_PARAMETER, ""), cookies.get(LANGUAGE_COOKIE, "")):
        if asked.strip().lower() in LANGUAGES:
            return asked.strip().lower()
    configured = environ.get(LANGUAGE_VARIABLE, "").strip().lower()
    if configured in LANGUAGES:
        return configured
    negotiated = negotiate_locale(accepted_languages(accept_language), list(LANGUAGES), sep="-")
    return negotiated.lower() if negotiated else CONSOLE_LANGUAGE


def language_link(request: Request, language: str) -> str:
    """The address of the page asked, with its filters, in `language` (the FR / EN switch's links)."""
    return str(request.url.include_query_params(**{LANGUAGE_PARAMETER: language}))


class RequestLanguage:
    """ASGI middleware: answers each request in its language, and keeps a `?lang=` choice in a cookie."""

    def __init__(self, app: ASGIApp, environ: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.environ = os.environ if environ is None else environ

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = QueryParams(scope.get("query_string", b""))
        cookies = cookie_parser(headers.get("cookie", ""))
        language = choose_language(query, cookies, headers.get("accept-language", ""), self.environ)
        asked = query.get(LANGUAGE_PARAMETER, "").strip().lower()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and asked in LANGUAGES:
                cookie = f"{LANGUAGE_COOKIE}={asked}; Path=/; Max-Age={LANGUAGE_COOKIE_SECONDS}; SameSite=Lax; HttpOnly"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        with speaking(language):
            await self.app(scope, receive, send_with_cookie)
