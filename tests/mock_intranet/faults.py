"""Fault injection: server errors, slow answers, a changed layout and maintenance windows.

Faults are set per server instance, at construction or at run time through the test API, and never touch
the test API itself nor static files, so tests can always observe and reset the server.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXEMPT_PATH_PREFIXES = ("/api/test/", "/static/")
NEW_CASE = "/dossiers/nouveau"


@dataclass(frozen=True)
class FaultConfig:
    """Which faults a server injects.

    Attributes:
        failure_rate: Probability (0 to 1) that a request is answered with HTTP 500.
        failure_point: "before": the request is not processed; "after": it is processed (a case may be
            created) and the answer is still a 500, as when a server fails while rendering.
        slow_rate: Probability (0 to 1) that a request is delayed.
        slow_max_delay: Longest delay in seconds; a delayed request waits a uniform random time up to it.
        changed_layout: Rename field labels, e.g. "Nom du demandeur" becomes "Nom de famille du demandeur".
        maintenance_seconds: Answer every request with HTTP 503 for this many seconds from now.
        hang_after_submit: Save every new case sent, then never answer: as a server that dies while answering,
            once the test kills its process (`serve`), the browser gets no answer at all.
        seed: Seed of the random draws, for reproducible tests; None draws from the system.
    """

    failure_rate: float = 0.0
    failure_point: Literal["before", "after"] = "before"
    slow_rate: float = 0.0
    slow_max_delay: float = 0.0
    changed_layout: bool = False
    maintenance_seconds: float = 0.0
    hang_after_submit: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("failure_rate", "slow_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}")
        for name in ("slow_max_delay", "maintenance_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
                raise ValueError(f"{name} must be a number of seconds between 0 and 3600, not {value!r}")
        if self.failure_point not in ("before", "after"):
            raise ValueError(f"failure_point must be 'before' or 'after', not {self.failure_point!r}")
        if not isinstance(self.changed_layout, bool):
            raise ValueError(f"changed_layout must be true or false, not {self.changed_layout!r}")
        if not isinstance(self.hang_after_submit, bool):
            raise ValueError(f"hang_after_submit must be true or false, not {self.hang_after_submit!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"seed must be an integer or null, not {self.seed!r}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from a JSON object; raises ValueError on unknown keys or bad values."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object."""
        return asdict(self)


class FaultInjector:
    """The current faults of one server and the random draws that apply them."""

    def __init__(
        self, config: FaultConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the faults; a maintenance window starts now."""
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
            self._maintenance_until = self._clock() + config.maintenance_seconds

    @property
    def config(self) -> FaultConfig:
        """The faults in force."""
        return self._config

    def maintenance_remaining(self) -> float:
        """Seconds left in the maintenance window (0 when none)."""
        return max(0.0, self._maintenance_until - self._clock())

    def draw_delay(self) -> float:
        """Seconds to delay this request (0 for most)."""
        with self._lock:
            config = self._config
            if config.slow_rate and self._random.random() < config.slow_rate:
                return self._random.uniform(0, config.slow_max_delay)
        return 0.0

    def draw_failure(self) -> bool:
        """True when this request must fail with HTTP 500."""
        with self._lock:
            return bool(self._config.failure_rate) and self._random.random() < self._config.failure_rate

    def status(self) -> dict[str, Any]:
        """The settings and the maintenance time left, for the test API."""
        return {**self._config.to_json(), "maintenance_remaining": round(self.maintenance_remaining(), 3)}


def _error_page(title: str, message: str) -> str:
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f'<title>{title} — Portail des agents</title><link rel="stylesheet" href="/static/intranet.css"></head>'
        f'<body><main class="page-erreur"><h1>{title}</h1><p role="alert">{message}</p></main></body></html>'
    )


SERVER_ERROR_PAGE = _error_page(
    "Erreur interne du serveur", "Une erreur inattendue s'est produite. Veuillez réessayer plus tard."
)
MAINTENANCE_PAGE = _error_page(
    "Maintenance en cours", "Le portail est en maintenance. Veuillez réessayer dans quelques instants."
)


async def _discard(message: Message) -> None:
    return None


class FaultInjectionMiddleware:
    """ASGI middleware that applies a FaultInjector's faults to every request but the exempt ones."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATH_PREFIXES):
            await self.app(scope, receive, send)
            return
        remaining = self.injector.maintenance_remaining()
        if remaining > 0:
            response = HTMLResponse(
                MAINTENANCE_PAGE, status_code=503, headers={"Retry-After": str(math.ceil(remaining))}
            )
            await response(scope, receive, send)
            return
        delay = self.injector.draw_delay()
        if delay:
            await asyncio.sleep(delay)
        if self.injector.config.hang_after_submit and scope["method"] == "POST" and scope["path"] == NEW_CASE:
            await self.app(scope, receive, _discard)
            await asyncio.Event().wait()  # until the process is killed
        if not self.injector.draw_failure():
            await self.app(scope, receive, send)
            return
        if self.injector.config.failure_point == "after":
            await self.app(scope, receive, _discard)
        await HTMLResponse(SERVER_ERROR_PAGE, status_code=500)(scope, receive, send)
