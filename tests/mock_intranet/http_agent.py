"""An HTTP client that uses the intranet as an agent would, through its forms (for tests).

It reads the CSRF token from each page like a browser submits it, so tests exercise the real forms.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_CASE_NUMBER = re.compile(r'<strong id="numero-dossier">([^<]+)</strong>')
_FIELD_ERROR = re.compile(r'<p class="erreur" id="erreur-([a-z_]+)" role="alert">([^<]*)</p>')


def csrf_token(page: str) -> str:
    """The CSRF token of the first form of an HTML page."""
    found = _CSRF.search(page)
    if not found:
        raise AssertionError("no csrf_token field on the page")
    return found.group(1)


def field_errors(page: str) -> dict[str, str]:
    """Error message shown next to each field, by field name."""
    return {name: html.unescape(message) for name, message in _FIELD_ERROR.findall(page)}


@dataclass(frozen=True)
class CaseSubmission:
    """What submitting the "Nouveau dossier" form gave: a case number, or the errors shown."""

    response: httpx.Response
    numero: str | None
    errors: dict[str, str]


class IntranetAgent:
    """An httpx.Client on the intranet, with helpers for logging in and submitting cases."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        # The intranet speaks plain HTTP; verify=False only skips loading the CA bundle (~20 ms a client).
        self.client = httpx.Client(base_url=base_url, timeout=timeout, verify=False)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> IntranetAgent:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def login(self, username: str, password: str, next_path: str = "/") -> httpx.Response:
        """Fill the login form; the answer is a 303 to `next_path` on success, the form again otherwise."""
        page = self.client.get("/connexion", params={"suivant": next_path})
        page.raise_for_status()
        return self.client.post(
            "/connexion",
            data={
                "csrf_token": csrf_token(page.text),
                "identifiant": username,
                "mot_de_passe": password,
                "suivant": next_path,
            },
        )

    def submit_case(
        self,
        values: Mapping[str, str],
        attachment: tuple[str, bytes, str] | None = None,
        follow_redirects: bool = True,
    ) -> CaseSubmission:
        """Open the "Nouveau dossier" form and submit `values` (by field name), with an optional file."""
        form_page = self.client.get("/dossiers/nouveau")
        form_page.raise_for_status()
        files = (
            {"piece_jointe": attachment}
            if attachment
            else {"piece_jointe": ("", b"", "application/octet-stream")}
        )
        response = self.client.post(
            "/dossiers/nouveau",
            data={"csrf_token": csrf_token(form_page.text), **values},
            files=files,
            follow_redirects=follow_redirects,
        )
        number = _CASE_NUMBER.search(response.text)
        return CaseSubmission(response, number.group(1) if number else None, field_errors(response.text))
