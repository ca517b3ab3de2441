"""Turning what goes wrong in a browser into errors a person understands, with the evidence saved."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robots._browser_locators import CANDIDATES_SCRIPT, Target, closest_candidates
from robots.base import atomic_path
from runner.errors import ApplicationError, ConfigurationError, RoboError

_NETWORK_ERRORS = {
    "ERR_CONNECTION_REFUSED": "the connection was refused",
    "ERR_NAME_NOT_RESOLVED": "the server name is unknown",
    "ERR_CONNECTION_RESET": "the connection was cut",
    "ERR_CONNECTION_TIMED_OUT": "the server did not answer",
    "ERR_ADDRESS_UNREACHABLE": "the address cannot be reached",
    "ERR_INTERNET_DISCONNECTED": "there is no network",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without answering",
}


async def page_place(page: Any) -> str:
    """`the page 'Nouveau dossier — Portail' (http://…)`."""
    try:
        title = await page.title()
    except Exception:
        title = ""
    return f"the page '{title}' ({page.url})" if title else f"the page {page.url}"


async def explain(
    exc: BaseException, page: Any, target: Target | None, doing: str, timeout: float
) -> RoboError:
    """The error to report for an exception raised by Playwright while `doing` something."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    if isinstance(exc, RoboError):
        return exc
    if isinstance(exc, PlaywrightTimeoutError) and target is not None and page is not None:
        place = await page_place(page)
        hint = None
        try:
            candidates = await page.evaluate(CANDIDATES_SCRIPT, target.kind)
        except Exception:
            candidates = []
        close = closest_candidates(target.value, [str(c) for c in candidates])
        if close:
            hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        elif candidates and target.kind in ("label", "placeholder", "title", "test_id"):
            hint = "the page has: " + ", ".join(f"'{c}'" for c in candidates[:12])
        return ApplicationError(
            f"{target.describe()} was not found on {place} within {timeout:g} s",
            hint=hint
            or "the page may have changed, or not finished loading: check the screenshot in the artifacts",
        )
    if isinstance(exc, PlaywrightTimeoutError):
        place = await page_place(page) if page is not None else "the page"
        return ApplicationError(f"{doing} did not finish within {timeout:g} s on {place}")
    if isinstance(exc, PlaywrightError):
        message = str(exc).strip()
        for code, words in _NETWORK_ERRORS.items():
            if code in message:
                url = re.search(r"at (\S+)", message)
                where = f" {url.group(1)}" if url else ""
                return ApplicationError(
                    f"cannot reach{where}: {words}",
                    hint="is the server running? check the address and the port",
                )
        if "Target page, context or browser has been closed" in message or "Browser closed" in message:
            return ApplicationError(
                "the browser closed unexpectedly", hint="it will be started again on retry"
            )
        if "executable doesn't exist" in message.lower():
            return ConfigurationError(message.splitlines()[0])
        first = message.splitlines()[0] if message else type(exc).__name__
        return ApplicationError(f"{doing} failed: {first}")
    return ApplicationError(f"{doing} failed unexpectedly: {type(exc).__name__}: {exc}")


def redact_zip(path: Path, redact: Callable[[str], str]) -> None:
    """Remove secret values from a Playwright trace (its text entries), rewriting it atomically."""
    with (
        atomic_path(path) as temporary,
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                target.writestr(entry, data)
                continue
            target.writestr(entry, redact(text).encode("utf-8"))
