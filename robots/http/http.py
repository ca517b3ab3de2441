"""The `http` robot: web services and downloads, through one `httpx.Client` per robot (so per run or lane)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import unicodedata
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import Field

from robots.http.deadline import body_chunks
from robots.http.exchange import exchange, new_client
from robots.kit import (
    N_,
    ApplicationError,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    OnConflict,
    RoboError,
    Robot,
    RobotContext,
    Seconds,
    Transfer,
    _,
    action,
    atomic_file,
    file_digest,
    format_number,
    identical_file,
    one_writer,
    place,
    refused_name,
    temporary_sibling,
)

if TYPE_CHECKING:
    import httpx

StatusCode = Annotated[int, Field(ge=100, le=599)]
Status = StatusCode | list[StatusCode] | None
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
_HINTS = {
    401: N_("the server refused the credentials: check the secret or the Authorization header"),
    403: N_("the account has no right to do this"),
    404: N_("check the address: the server knows nothing there"),
}
"""The hint of a refusal by its status (marked for translation: `_()` where it is shown)."""

BODY_IN_MEMORY_LIMIT = 10 * 1024 * 1024
"""Bytes of an answer kept in memory: a bigger answer is saved to a file in the run's artifacts instead."""
_EXCERPT_BYTES = 64 * 1024  # what is read of a refused answer, to quote its start in the error
_SERVER_NAME_BYTES = 200
"""The longest file name (UTF-8 bytes) taken from a server: leaves room under the 255 bytes a file name may have
for what the temporary name beside it adds."""


def _accepted(status: int, expect_status: Status) -> bool:
    if expect_status is None:
        return status < 400
    return status in ([expect_status] if isinstance(expect_status, int) else expect_status)


def _server_file_name(response: httpx.Response, what: str) -> str:
    """The name the server gives the file (Content-Disposition), else the last part of the URL's path.

    The name is the server's choice, so untrusted: its folders are dropped (the step chooses the folder), and a
    name that is only dots, hidden, holds control characters (NUL, terminal escapes, bidirectional overrides) or
    is too long is refused with a `BusinessError`.
    """
    disposition = response.headers.get("content-disposition", "")
    if match := re.search(r"filename\*\s*=\s*[\w-]+'[^']*'([^;]+)", disposition, re.IGNORECASE):
        name = unquote(match[1].strip())
    elif match := re.search(r'filename\s*=\s*"?([^";]+)"?', disposition, re.IGNORECASE):
        name = match[1].strip()
    else:
        name = unquote(urlsplit(str(response.url)).path.rstrip("/").rpartition("/")[2])
    name = name.replace("\\", "/").rpartition("/")[2].strip()  # never let a server choose the folder
    if not name:
        return "download"
    problem = None
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        problem = _("it holds control characters")
    elif not name.strip("."):
        problem = _("it is not a file name")
    elif name.startswith("."):
        problem = _("it would make a hidden file")
    elif len(name.encode("utf-8", "replace")) > _SERVER_NAME_BYTES:
        problem = _("it is too long ({n} characters; at most {limit} bytes)").format(
            n=format_number(len(name)), limit=format_number(_SERVER_NAME_BYTES)
        )
    if problem is None:
        return name
    shown = repr(name if len(name) <= 80 else f"{name[:60]}…")  # repr escapes control characters
    raise BusinessError(
        _("{what}: the file name the server chose, {name}, is refused: {problem}").format(
            what=what, name=shown, problem=problem
        ),
        hint=_("save the file under a name you choose: give `to:` a file path, e.g. {example}").format(
            example="to: entrees/export.pdf"
        ),
    )


class Http(Robot):
    """Call web services and download files over HTTP (httpx).

    `timeout` is the whole exchange's deadline: connecting, sending, every redirect and the whole answer,
    however slowly the server sends it. Redirects are followed (20 at most); when one leads to another origin
    (scheme, host, port), only harmless headers go on (Accept, Accept-Encoding, Accept-Language, User-Agent):
    credentials (`Authorization`, `Cookie`, `X-Api-Key` or any header the step sets) never reach a server the
    workflow did not name, and data sent with POST is never sent on to it (the step fails instead). An answer bigger than 10 MB is not kept in memory: it is saved to a file in the run's
    artifacts (result `file`); use `http.download` to choose where a file goes.

    How a failed call fails the step:

    - no answer at all (connection refused, unknown server name, timeout, connection cut): `ApplicationError`,
      retried, since the system misbehaved;
    - 5xx, 408 (request timeout), 425 (too early) and 429 (too many requests): `ApplicationError`, retried,
      since the same request may well succeed later;
    - any other 4xx (400 invalid data, 401/403 refused credentials or rights, 404 unknown, 409 conflict, 422),
      or a status outside `expect_status`: `BusinessError`, never retried, since the server refused this
      request and sending it again would get the same answer (and could enter data twice);
    - an address that is not an http(s) URL: `ConfigurationError`.

    To handle a status yourself, accept it: `expect_status: [200, 404]`, then test `result.status`.
    """

    name = "http"

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        self._client: httpx.Client | None = None

    def close(self) -> None:
        """Close the connections the robot keeps open."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = new_client()
        return self._client

    def _exchange(
        self, method: str, url: str, timeout: float, **send: Any
    ) -> AbstractContextManager[httpx.Response]:
        """Send a request with the robot's client, within `timeout` seconds: see `robots.http.exchange`."""
        client = self._http()  # created (httpx imported, certificates loaded) before the clock starts
        return exchange(client, method, url, timeout, **send)

    def _status_error(
        self, method: str, url: str, response: httpx.Response, expect_status: Status, *, retry: bool = False
    ) -> RoboError:
        status = response.status_code
        start = bytearray()
        for chunk in body_chunks(response):  # only the start: a refusal may be as big as any answer
            start += chunk
            if len(start) >= _EXCERPT_BYTES:
                break
        text = _decode(bytes(start[:_EXCERPT_BYTES]), response)
        excerpt = " ".join(self.context.redact(text).split())[:200]  # masked before it is cut
        if excerpt:
            message = _("{method} {url} answered {status} {reason}: {excerpt}")
        else:
            message = _("{method} {url} answered {status} {reason}")
        message = message.format(
            method=method, url=url, status=status, reason=response.reason_phrase, excerpt=excerpt
        )
        if retry or status >= 500 or status in _RETRYABLE_STATUSES:
            return ApplicationError(message, hint=_("the server failed or is overloaded; try again later"))
        if expect_status is not None:
            expected = [expect_status] if isinstance(expect_status, int) else expect_status
            statuses = _(" or ").join(map(str, expected))
            return BusinessError(
                message, hint=_("the step accepts only {statuses}").format(statuses=statuses)
            )
        hint = _(_HINTS[status]) if status in _HINTS else _("the server refused the request")
        return BusinessError(message, hint=hint)

    def _receive(self, response: httpx.Response, what: str) -> tuple[bytes | None, Path | None, int]:
        """The answer's body in memory (None, size) or, when bigger than the limit, saved to a file (path, size)."""
        chunks = body_chunks(response)
        body = bytearray()
        for chunk in chunks:
            body += chunk
            if len(body) > BODY_IN_MEMORY_LIMIT:
                break
        else:
            return bytes(body), None, len(body)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        extension = {"application/json": ".json", "text/csv": ".csv", "text/html": ".html"}.get(content_type)
        target = self.context.artifact_path(f"http-answer{extension or '.bin'}")
        size = len(body)
        with atomic_file(target, run_id=self.context.run_id) as handle:
            handle.write(body)
            del body
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        self.context.record_artifact(target, "download", what)
        self.context.log(
            _(
                "http: the answer of {what} is {size} bytes, more than {limit} to keep in memory: "
                "saved to {path} (result `file`; `text` and `json` are empty)"
            ).format(
                what=what, size=format_number(size), limit=format_number(BODY_IN_MEMORY_LIMIT), path=target
            )
        )
        return None, target, size

    def _call(
        self, method: str, url: str, expect_status: Status, timeout: float, **send: Any
    ) -> dict[str, Any]:
        with self._exchange(method, url, timeout, **send) as response:
            if not _accepted(response.status_code, expect_status):
                raise self._status_error(method, url, response, expect_status)
            body, saved, size = self._receive(response, f"{method} {url}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        data = None
        if body and (content_type == "application/json" or content_type.endswith("+json")):
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ApplicationError(
                    _("{method} {url}: the answer claims to be JSON but is not ({problem})").format(
                        method=method, url=url, problem=exc
                    )
                ) from None
        return {
            "status": response.status_code,
            "headers": dict(response.headers),
            "text": None if body is None else _decode(body, response),
            "json": data,
            "url": str(response.url),
            "size": size,
            "file": None if saved is None else str(saved.resolve()),
        }

    @action
    def get(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect_status: Status = None,
        timeout: Seconds = 30,
    ) -> dict[str, Any]:
        """Fetch a web page or call a web service with GET.

        Args:
            url: The address, e.g. https://intranet.example/api/dossiers.
            params: Query parameters added to the address, e.g. {siret: "12345678900011"}.
            headers: Extra request headers, e.g. {Accept: application/json}; sent to this address's server
                only, never on to another one it redirects to.
            expect_status: The status (or statuses) that count as success; by default any below 400.
            timeout: Seconds the whole exchange may take (connecting, redirects and the whole answer).

        Returns:
            A mapping with status, headers (lower-case names), text, json (the parsed body when the server
            sends JSON, else null), url (after redirects), size (bytes of the body) and file: null, or the
            path where an answer bigger than 10 MB was saved instead of being kept in text and json.
        """
        return self._call("GET", url, expect_status, timeout, params=params, headers=headers)

    @action(side_effects=True, at_most_one=[("body", "form")])
    def post(
        self,
        url: str,
        body: Any = None,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect_status: Status = None,
        timeout: Seconds = 30,
    ) -> dict[str, Any]:
        """Send data to a web service with POST.

        Args:
            url: The address, e.g. https://intranet.example/api/dossiers.
            body: Data sent as JSON, e.g. {nom: Dupont, montant: 120}.
            form: Fields sent as an HTML form would send them; not together with `body`.
            headers: Extra request headers, e.g. {Authorization: "Bearer {{ secrets.jeton }}"}; sent to this
                address's server only, never on to another one it redirects to.
            expect_status: The status (or statuses) that count as success; by default any below 400.
            timeout: Seconds the whole exchange may take (connecting, redirects and the whole answer).

        Returns:
            A mapping with status, headers (lower-case names), text, json (the parsed body when the server
            sends JSON, else null), url (after redirects), size (bytes of the body) and file: null, or the
            path where an answer bigger than 10 MB was saved instead of being kept in text and json.
        """
        if body is not None and form is not None:
            raise ConfigurationError(
                _("http.post takes `body` (JSON) or `form`, not both"), hint=_("keep one of them")
            )
        return self._call("POST", url, expect_status, timeout, json=body, data=form, headers=headers)

    @action(side_effects=True, idempotent=True)
    def download(
        self,
        url: str,
        to: ConfinedPath | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: Seconds = 300,
        *,
        on_conflict: OnConflict = "fail",
    ) -> dict[str, Any] | None:
        """Download a file; it appears at its place only once complete, and replaces none by surprise.

        The server's file name is used only without its folders, and refused when it is hidden, only dots,
        too long or holds control characters. Downloading again a file already there with the same content
        changes nothing.

        Args:
            url: The file's address.
            to: Where to save it: a file path, or a folder (ending with "/") to keep the server's file name;
                relative to the workflow's folder. By default, into the run's artifacts.
            params: Query parameters added to the address.
            headers: Extra request headers; sent to this address's server only, never on to another one it
                redirects to.
            timeout: Seconds the whole download may take (connecting, redirects and the whole file).
            on_conflict: When a different file is already there: fail (default), skip, rename
                ("name (2).ext"), overwrite (the file already there goes to the trash) or skip_identical
                (as rename, unless a numbered version "name (N).ext" already has the same bytes).

        Returns:
            A mapping with path (absolute), size (bytes), sha256 (hex digest) and content_type; nothing when
            it was skipped.
        """
        what = f"GET {url}"
        temporary: Path | None = None
        try:
            with self._exchange("GET", url, timeout, params=params, headers=headers) as response:
                if not _accepted(response.status_code, None):
                    raise self._status_error("GET", url, response, None)
                if to is None:
                    target = self.context.artifact_path(_server_file_name(response, what))
                else:
                    target = self.context.resolve_path(to)
                    if to.endswith(("/", "\\")) or target.is_dir():
                        target = target / _server_file_name(response, what)
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = temporary_sibling(target, self.context.run_id)
                digest, size = hashlib.sha256(), 0
                with temporary.open("xb") as handle:
                    for chunk in body_chunks(response):
                        digest.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
            final = self._place(temporary, target, digest.hexdigest(), on_conflict)
        except (OSError, ValueError) as exc:
            refused = refused_name(exc, "http.download")
            if refused is None:
                raise
            raise refused from None
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
        if final is None:
            return None
        self.context.record_artifact(final, "download", url)
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        return {
            "path": str(final.resolve()),
            "size": size,
            "sha256": digest.hexdigest(),
            "content_type": content_type,
        }

    def _place(self, temporary: Path, target: Path, digest: str, on_conflict: OnConflict) -> Path | None:
        """Give a complete download its name by the files robot's `on_conflict` rules; None when skipped."""
        transfer = Transfer(self.context.log, robot="http", run_id=self.context.run_id)
        with one_writer(target, self.context.run_id, "http"):
            for _attempt in range(100):  # another process may take the name between our check and our link
                if on_conflict == "skip_identical":  # the name or one of its numbered versions "name (N).ext"
                    same = identical_file(target, digest, temporary.stat().st_size)
                else:
                    same = target if target.is_file() and file_digest(target) == digest else None
                if same is not None:
                    self.context.log(
                        _("http: {path} is already there with the same content, sha256 {digest}").format(
                            path=same, digest=digest
                        )
                    )
                    return same
                final = transfer.destination(None, target, on_conflict)
                if final is None:
                    self.context.log(
                        _("http: skipped the download to {path} (a different file is there)").format(
                            path=target
                        )
                    )
                    return None
                replaced = transfer.trash(final) if final.exists() else None
                try:
                    place(temporary, final)
                except FileExistsError:
                    continue
                if replaced:
                    downloaded = _(
                        "http: downloaded {path}, sha256 {digest} (the previous {name} went to {trash})"
                    )
                else:
                    downloaded = _("http: downloaded {path}, sha256 {digest}")
                self.context.log(
                    downloaded.format(path=final, digest=digest, name=final.name, trash=replaced)
                )
                return final
        raise ApplicationError(_("http: could not find a free name for {path}").format(path=target))

    @action
    def ensure_up(self, url: str, expect_status: Status = None, timeout: Seconds = 10) -> dict[str, Any]:
        """Check that a web service answers, and fail the step (to be retried) when it does not.

        Useful as a first step, so that a run stops at once with a clear message when a server is down.

        Args:
            url: An address the service answers, e.g. its home or health page.
            expect_status: The status (or statuses) that mean "up"; by default any below 500, since a login
                page answering 401 is up.
            timeout: Seconds to wait for the answer (connecting and redirects included).

        Returns:
            A mapping with status, url (after redirects) and seconds (how long the answer took).
        """
        started = time.monotonic()
        with self._exchange("GET", url, timeout) as response:
            up = (
                response.status_code < 500
                if expect_status is None
                else _accepted(response.status_code, expect_status)
            )
            if not up:
                raise self._status_error("GET", url, response, expect_status, retry=True)
        seconds = round(time.monotonic() - started, 3)
        return {"status": response.status_code, "url": str(response.url), "seconds": seconds}


def _decode(body: bytes, response: httpx.Response) -> str:
    """A body's text, in the charset the server gives (UTF-8 if none), as httpx decodes `text`."""
    import codecs

    encoding = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    return body.decode(encoding, errors="replace")
