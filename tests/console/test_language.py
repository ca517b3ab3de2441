"""The console's language per request: `?lang=` kept in a cookie, else `ROBO_LANG`, else Accept-Language, else
French; two requests in two languages at the same moment each get their own."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from robots.kit import _, current_language, format_number
from runner.console.language import (
    LANGUAGE_COOKIE,
    MAX_ACCEPT_LANGUAGE,
    RequestLanguage,
    accepted_languages,
    choose_language,
)
from tests.console.conftest import Filled, log_out


@pytest.mark.parametrize(
    ("query", "cookies", "accept", "environ", "language"),
    [
        ({}, {}, "", {}, "fr"),  # nothing says: French, the agents' language
        ({}, {}, "en-GB,en;q=0.9,fr;q=0.8", {}, "en"),
        ({}, {}, "de-DE, en;q=0.5, fr;q=0.7", {}, "fr"),  # by quality, not by order
        ({}, {}, "fr;q=0, en;q=0.1", {}, "en"),  # q=0: not wanted at all
        ({}, {}, "de, es", {}, "fr"),
        ({}, {}, "", {"ROBO_LANG": "en"}, "en"),
        ({}, {}, "fr", {"ROBO_LANG": "en"}, "en"),  # the service's choice over the browser's
        ({}, {LANGUAGE_COOKIE: "fr"}, "en", {"ROBO_LANG": "en"}, "fr"),  # the person's own choice over both
        ({"lang": "EN"}, {LANGUAGE_COOKIE: "fr"}, "fr", {}, "en"),
        ({"lang": "de"}, {LANGUAGE_COOKIE: "xx"}, "en", {"ROBO_LANG": "klingon"}, "en"),  # unknown: ignored
    ],
)
def test_the_language_is_chosen_in_order(
    query: dict[str, str], cookies: dict[str, str], accept: str, environ: dict[str, str], language: str
) -> None:
    assert choose_language(query, cookies, accept, environ) == language


def test_a_hostile_accept_language_header_is_read_without_error() -> None:
    assert accepted_languages("en;q=abc, fr;q=0.2, ;;;, *, =, fr-FR;q=1e309") == ["fr-FR", "fr"]
    huge = ",".join(["de"] * 100_000 + ["en"])
    assert len(accepted_languages(huge)) == MAX_ACCEPT_LANGUAGE
    assert choose_language({}, {}, huge, {}) == "fr"  # the English at the far end is not read


def test_lang_sets_a_cookie_that_the_next_pages_follow(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROBO_LANG", raising=False)
    client = filled.client
    french = client.get(
        "/runs", headers={"Accept-Language": "en"}, params={"lang": "fr", "workflow": "Relevés"}
    )
    assert '<html lang="fr">' in french.text and "Traitements" in french.text
    cookie = french.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=fr;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    # The switch keeps the page's filters and offers the other language.
    assert 'href="http://testserver/runs?workflow=Relev%C3%A9s&amp;lang=en" hreflang="en"' in french.text
    assert '<strong aria-current="true" lang="fr">FR</strong>' in french.text
    again = client.get("/runs", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in again.text and "set-cookie" not in again.headers
    english = client.get("/runs", params={"lang": "en"})
    assert '<html lang="en">' in english.text and ">Runs<" in english.text
    assert client.get("/runs").text.count('<html lang="en">') == 1


def test_without_a_choice_the_browser_then_french_decide(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROBO_LANG", raising=False)
    client = filled.client
    assert '<html lang="en">' in client.get("/runs", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert '<html lang="fr">' in client.get("/runs").text
    log_out(client)  # the login page speaks the reader's language too
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en"}).text
    assert '<html lang="fr">' in client.get("/login").text
    monkeypatch.setenv("ROBO_LANG", "en")
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "fr"}).text


def test_two_requests_at_once_each_speak_their_own_language() -> None:
    both_inside = asyncio.Event()
    arrived: list[str] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        before = current_language()
        arrived.append(before)
        if len(arrived) == 2:
            both_inside.set()
        await asyncio.wait_for(both_inside.wait(), timeout=10)  # the other request runs meanwhile
        return PlainTextResponse(f"{before} {current_language()} {_('Runs')} {format_number(1234.5)}")

    app = Starlette(routes=[Route("/", endpoint)], middleware=[Middleware(RequestLanguage, environ={})])

    async def ask() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            answers = await asyncio.gather(
                client.get("/", params={"lang": "fr"}), client.get("/", params={"lang": "en"})
            )
        return [answer.text for answer in answers]

    language_before = current_language()
    assert asyncio.run(ask()) == ["fr fr Traitements 1\u202f234,5", "en en Runs 1,234.5"]
    assert current_language() == language_before  # the process's language is untouched
