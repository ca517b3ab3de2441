"""One browser per run, shared by its parallel lanes, each lane in a browser context of its own.

Playwright's sync API binds every object to the thread that created it, so N lanes could not share one
browser with it. The host instead runs Playwright's async API on an event loop in a thread of its own; each
lane's browser robot submits coroutines to that loop and waits for their results. One Chromium process serves
every lane (each extra context costs ~85 MB where an extra browser costs ~300 MB).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as futures
import os
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from robots.browser.launch import INSTALL_HINT, LAUNCH_ARGS, find_browser
from robots.browser.light import LIGHT_LAUNCH_ARGS, is_light
from robots.kit import ApplicationError, ConfigurationError, StepTimeout, _

T = TypeVar("T")
LAUNCH_TIMEOUT = 60.0


class _OwnSessionLoop(asyncio.SelectorEventLoop):
    """An event loop whose child processes (Playwright's driver, and the browser it starts) have their own session.

    A terminal sends Ctrl+C to every process of its foreground group. In robo's group, the browser would die
    under the step that the first Ctrl+C promises to let finish; outside it, only robo hears the signal and
    decides. The driver still ends with robo: it stops when its pipe to robo closes.
    """

    async def subprocess_exec(self, protocol_factory: Any, program: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("start_new_session", True)
        return await super().subprocess_exec(protocol_factory, program, *args, **kwargs)


class BrowserHost:
    """A running browser and the event loop that drives it."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self.executable: Path = find_browser(settings, headless=bool(settings.get("headless", True)))
        self.loop = _OwnSessionLoop() if os.name == "posix" else asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="browser-host", daemon=True)
        self._thread.start()
        self.playwright: Any = None
        self.browser: Any = None
        try:
            self.call(self._launch(), LAUNCH_TIMEOUT)
        except BaseException:
            self.close()
            raise

    async def _launch(self) -> None:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        self.playwright = await async_playwright().start()
        try:
            self.browser = await self.playwright.chromium.launch(
                executable_path=str(self.executable),
                headless=bool(self.settings.get("headless", True)),
                slow_mo=float(self.settings.get("slow_mo", 0) or 0),
                args=[*LAUNCH_ARGS, *(LIGHT_LAUNCH_ARGS if is_light(self.settings) else ())],
                timeout=LAUNCH_TIMEOUT * 1000,
            )
        except PlaywrightError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = _(INSTALL_HINT)
            if not self.settings.get("headless", True):
                hint = _("a visible browser (--headed) needs a display: set DISPLAY or run under Xvfb")
            raise ConfigurationError(
                _("the browser {path} could not be started: {reason}").format(
                    path=self.executable, reason=first_line
                ),
                hint=hint,
            ) from None

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run a coroutine on the host's loop and wait for it; a `StepTimeout` past `timeout` seconds."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=timeout)
        except futures.TimeoutError:
            future.cancel()
            raise StepTimeout(
                _("the browser did not answer within {seconds} s").format(seconds=f"{timeout:g}")
            ) from None

    def new_context(self, options: Mapping[str, Any]) -> Any:
        """A new browser context (its own cookies and storage) with Playwright's `options`."""

        async def create() -> Any:
            return await self.browser.new_context(**options)

        if self.browser is None:
            raise ApplicationError(_("the browser is not running"))
        return self.call(create(), LAUNCH_TIMEOUT)

    def process_ids(self) -> list[int]:
        """Process ids of the browser and its helpers (for memory measurements)."""
        try:
            import psutil
        except ImportError:
            return []
        ids = []
        for child in psutil.Process().children(recursive=True):
            try:
                if "chrom" in child.name():
                    ids.append(child.pid)
            except psutil.Error:
                continue
        return ids

    def close(self) -> None:
        """Close the browser and stop its event loop; safe to call twice."""

        async def stop() -> None:
            if self.browser is not None:
                await self.browser.close()
            if self.playwright is not None:
                await self.playwright.stop()

        if self.loop.is_running():
            try:
                self.call(stop(), 30)
            except Exception:  # the browser may already be gone; the loop still has to stop
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()


def shared_host(shared: Any, settings: Mapping[str, Any]) -> BrowserHost:
    """The run's browser host, started on first use and closed at the end of the run."""
    host: BrowserHost = shared.get_or_create("browser", lambda: BrowserHost(settings), BrowserHost.close)
    return host
