"""The `http` robot: web services and downloads, through one `httpx.Client` per robot (so per run or lane)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import Field

from robots.base import Robot, RobotContext, Seconds, action, atomic_file
from runner.errors import ApplicationError, BusinessError, ConfigurationError, RoboError

if TYPE_CHECKING:
    import httpx

StatusCode = Annotated[int, Field(ge=100, le=599)]
Status = StatusCode | list[StatusCode] | None
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
_HINTS = {
    401: "the server refused the credentials: check the secret or the Authorization header",
    403: "the account has no right to do this",
    404: "check the address: the server knows nothing there",
}
_NAME_NOT_FOUND = ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")


def _accepted(status: int, expect_status: Status) -> bool:
    if expect_status is None:
        return status < 400
    return status in ([expect_status] if isinstance(expect_status, int) else expect_status)


def _file_name(response: httpx.Response) -> str:
    """The name the server gives the file (Content-Disposition), else the last part of the URL's path."""
    disposition = response.headers.get("content-disposition", "")
    if match := re.search(r"filename\*\s*=\s*[\w-]+'[^']*'([^;]+)", disposition, re.IGNORECASE):
        name = unquote(match[1].strip())
    elif match := re.search(r'filename\s*=\s*"?([^";]+)"?', disposition, re.IGNORECASE):
        name = match[1].strip()
    else:
        name = unquote(urlsplit(str(response.url)).path.rstrip("/").rpartition("/")[2])
    name = Path(name.replace("\\", "/")).name  # never let a server choose the folder
    return name if name not in ("", ".", "..") else "download"


class Http(Robot):
    """Call web services and download files over HTTP (httpx).

    Redirects are followed. How a failed call fails the step:

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
            import httpx

            self._client = httpx.Client(follow_redirects=True, headers={"User-Agent": "RobO (httpx)"})
        return self._client

    @contextmanager
    def _plain_errors(self, method: str, url: str, timeout: float) -> Iterator[None]:
        """Turn httpx's exceptions into Rob'O errors that say, in plain words, what happened to which URL."""
        import httpx

        try:
            yield
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ConfigurationError(
                f"{method} {url}: not a web address that can be called ({exc})",
                hint="a web address starts with http:// or https://",
            ) from None
        except httpx.TimeoutException as exc:
            phase = "to connect" if isinstance(exc, httpx.ConnectTimeout) else "for the answer"
            raise ApplicationError(
                f"{method} {url}: waited {timeout:g} s {phase} in vain",
                hint="the server is down or overloaded; raise `timeout` if it is normally this slow",
            ) from None
        except httpx.ConnectError as exc:
            text = str(exc).lower()
            if "refused" in text:
                what = "the connection was refused"
            elif any(marker in text for marker in _NAME_NOT_FOUND):
                what = f"the server name {urlsplit(url).hostname!r} could not be found"
            else:
                what = f"could not connect ({exc})"
            raise ApplicationError(
                f"{method} {url}: {what}", hint="is the server running? check the address and port"
            ) from None
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"{method} {url}: the exchange failed ({type(exc).__name__}: {exc})",
                hint="the connection was cut or the server answered something unreadable",
            ) from None

    def _status_error(
        self, method: str, url: str, response: httpx.Response, expect_status: Status, *, retry: bool = False
    ) -> RoboError:
        status = response.status_code
        excerpt = " ".join(self.context.redact(response.text).split())[:200]  # masked before it is cut
        message = f"{method} {url} answered {status} {response.reason_phrase}" + (
            f": {excerpt}" if excerpt else ""
        )
        if retry or status >= 500 or status in _RETRYABLE_STATUSES:
            return ApplicationError(message, hint="the server failed or is overloaded; try again later")
        if expect_status is not None:
            expected = [expect_status] if isinstance(expect_status, int) else expect_status
            return BusinessError(message, hint=f"the step accepts only {' or '.join(map(str, expected))}")
        return BusinessError(message, hint=_HINTS.get(status, "the server refused the request"))

    def _call(
        self, method: str, url: str, expect_status: Status, timeout: float, **send: Any
    ) -> dict[str, Any]:
        with self._plain_errors(method, url, timeout):
            response = self._http().request(method, url, timeout=timeout, **send)
        if not _accepted(response.status_code, expect_status):
            raise self._status_error(method, url, response, expect_status)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        data = None
        if response.content and (content_type == "application/json" or content_type.endswith("+json")):
            try:
                data = response.json()
            except ValueError as exc:
                raise ApplicationError(
                    f"{method} {url}: the answer claims to be JSON but is not ({exc})"
                ) from None
        return {
            "status": response.status_code,
            "headers": dict(response.headers),
            "text": response.text,
            "json": data,
            "url": str(response.url),
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
            headers: Extra request headers, e.g. {Accept: application/json}.
            expect_status: The status (or statuses) that count as success; by default any below 400.
            timeout: Seconds to wait for the server.

        Returns:
            A mapping with status, headers (lower-case names), text, json (the parsed body when the server
            sends JSON, else null) and url (after redirects).
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
            headers: Extra request headers, e.g. {Authorization: "Bearer {{ secrets.jeton }}"}.
            expect_status: The status (or statuses) that count as success; by default any below 400.
            timeout: Seconds to wait for the server.

        Returns:
            A mapping with status, headers (lower-case names), text, json (the parsed body when the server
            sends JSON, else null) and url (after redirects).
        """
        if body is not None and form is not None:
            raise ConfigurationError(
                "http.post takes `body` (JSON) or `form`, not both", hint="keep one of them"
            )
        return self._call("POST", url, expect_status, timeout, json=body, data=form, headers=headers)

    @action(side_effects=True, idempotent=True)
    def download(
        self,
        url: str,
        to: str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: Seconds = 60,
    ) -> dict[str, Any]:
        """Download a file; it appears at its place only once complete.

        Args:
            url: The file's address.
            to: Where to save it: a file path, or a folder (ending with "/") to keep the server's file name;
                relative to the workflow's folder. By default, into the run's artifacts.
            params: Query parameters added to the address.
            headers: Extra request headers.
            timeout: Seconds to wait for the server between two pieces of the file.

        Returns:
            A mapping with path (absolute), size (bytes), sha256 (hex digest) and content_type.
        """
        with self._plain_errors("GET", url, timeout):
            request = self._http().stream("GET", url, params=params, headers=headers, timeout=timeout)
            with request as response:
                if not _accepted(response.status_code, None):
                    response.read()
                    raise self._status_error("GET", url, response, None)
                if to is None:
                    target = self.context.artifact_path(_file_name(response))
                else:
                    target = self.context.resolve_path(to)
                    if to.endswith(("/", "\\")) or target.is_dir():
                        target = target / _file_name(response)
                digest, size = hashlib.sha256(), 0
                with atomic_file(target, run_id=self.context.run_id) as handle:
                    for chunk in response.iter_bytes():
                        digest.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
        self.context.record_artifact(target, "download", url)
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        return {
            "path": str(target.resolve()),
            "size": size,
            "sha256": digest.hexdigest(),
            "content_type": content_type,
        }

    @action
    def ensure_up(self, url: str, expect_status: Status = None, timeout: Seconds = 10) -> dict[str, Any]:
        """Check that a web service answers, and fail the step (to be retried) when it does not.

        Useful as a first step, so that a run stops at once with a clear message when a server is down.

        Args:
            url: An address the service answers, e.g. its home or health page.
            expect_status: The status (or statuses) that mean "up"; by default any below 500, since a login
                page answering 401 is up.
            timeout: Seconds to wait for the answer.

        Returns:
            A mapping with status, url (after redirects) and seconds (how long the answer took).
        """
        started = time.monotonic()
        with (
            self._plain_errors("GET", url, timeout),
            self._http().stream("GET", url, timeout=timeout) as response,
        ):
            up = (
                response.status_code < 500
                if expect_status is None
                else _accepted(response.status_code, expect_status)
            )
            if not up:
                response.read()
                raise self._status_error("GET", url, response, expect_status, retry=True)
        seconds = round(time.monotonic() - started, 3)
        return {"status": response.status_code, "url": str(response.url), "seconds": seconds}
