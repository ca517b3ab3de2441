"""The light browser (`browser: {light: true}`): what a robot does not need from a page is not fetched nor drawn.

Images, fonts and media are not downloaded, animations and transitions are off, and requests to hosts other than
those of the pages the workflow opens (analytics, fonts and widgets from elsewhere) are refused, except the
hosts the workflow allows (`allow_hosts`). A robot reads texts and fields: none of that changes what it reads,
and each of it costs the browser time and memory on every page. Unattended runs are light unless the workflow
says `light: false` (a page whose script waits for an image or a font to load needs it).

Playwright's routing sends every request matching a pattern to this process and turns the browser's cache off;
the pattern therefore names only what may be refused (a known image, font or media file name, or a host not
yet seen), so that a page's own documents, scripts and styles pass in the driver without a round trip here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from robots.kit import _

REFUSED_TYPES = frozenset({"image", "font", "media"})
"""Playwright's resource types a light browser does not download."""
_REFUSED_FILES = (
    r"\.(?:png|jpe?g|gif|webp|avif|bmp|ico|svg|tiff?|woff2?|ttf|otf|eot|mp4|webm|ogg|ogv|mp3|wav|m4a|flac|aac)"
    r"(?:[?#]|$)"
)
NO_MOTION_SCRIPT = r"""
(() => {
  const css = '*, *::before, *::after { animation: none !important; transition: none !important;'
    + ' scroll-behavior: auto !important; caret-color: transparent !important; }';
  const add = () => {
    const style = document.createElement('style');
    style.setAttribute('data-robo', 'light');
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  };
  if (document.documentElement) add();
  else new MutationObserver((_, observer) => {
    if (document.documentElement) { observer.disconnect(); add(); }
  }).observe(document, {childList: true});
})();
"""
"""Run in every document before its own scripts: no CSS animation nor transition (they only delay a robot)."""


def host_matches(host: str, allowed: str) -> bool:
    """Whether `host` is `allowed`, a host name or `*.domain` (the domain and every name under it)."""
    host, allowed = host.lower(), allowed.lower()
    if allowed.startswith("*."):
        return host == allowed[2:] or host.endswith(allowed[1:])
    return host == allowed


def _host_pattern(allowed: str) -> str:
    if allowed.startswith("*."):
        return r"(?:[^/?#@:]+\.)?" + re.escape(allowed[2:])
    return re.escape(allowed)


class LightPages:
    """The requests a light browser context refuses, and the patterns that send the doubtful ones here."""

    def __init__(self, allow_hosts: Iterable[str], log: Callable[[str], None]) -> None:
        self.allowed = [host.strip().lower() for host in allow_hosts if host.strip()]
        self.opened: set[str] = set()
        """The hosts of the pages opened in the context's tabs (their top documents)."""
        self.refused_hosts: set[str] = set()
        self.refused = 0
        self._log = log
        self._context: Any = None
        self._pattern: re.Pattern[str] | None = None

    def pattern(self) -> re.Pattern[str]:
        """The URLs that may be refused: a known image, font or media file, or any host not known to be allowed."""
        hosts = [re.escape(host) for host in sorted(self.opened)] + [_host_pattern(h) for h in self.allowed]
        other_host = (
            r"^(?!https?://(?:[^/?#@]*@)?(?:" + "|".join(hosts) + r")(?::\d+)?(?:[/?#]|$))"
            if hosts
            else r"^https?://"
        )
        return re.compile(f"{other_host}|{_REFUSED_FILES}", re.IGNORECASE)

    async def apply(self, context: Any) -> None:
        """Make `context` light: no motion in its documents, and its doubtful requests sent to `_decide`."""
        self._context = context
        await context.add_init_script(script=NO_MOTION_SCRIPT)
        await self._reroute()

    async def _reroute(self) -> None:
        previous, self._pattern = self._pattern, self.pattern()
        await self._context.route(self._pattern, self._decide)
        if previous is not None:
            await self._context.unroute(previous, self._decide)

    def refuses(self, url: str, resource_type: str, opens_page: bool) -> bool:
        """Whether the light browser refuses a request (a tab's own document, `opens_page`, always passes)."""
        address = urlsplit(url)
        if address.scheme not in ("http", "https"):
            return False
        if resource_type in REFUSED_TYPES:
            return True
        host = (address.hostname or "").lower()
        if opens_page:
            return False
        return host not in self.opened and not any(host_matches(host, a) for a in self.allowed)

    async def _decide(self, route: Any, request: Any) -> None:
        opens_page = _opens_a_page(request)
        if self.refuses(request.url, request.resource_type, opens_page):
            self.refused += 1
            await route.abort("blockedbyclient")
            host = urlsplit(request.url).hostname or ""
            if request.resource_type not in REFUSED_TYPES and host not in self.refused_hosts:
                self.refused_hosts.add(host)
                self._log(
                    _(
                        "light browser: requests to {host} are refused (a host the workflow did not open);"
                        " list it in 'browser: {{allow_hosts: [{host}]}}' if the pages need it"
                    ).format(host=host)
                )
            return
        await route.fallback()
        host = (urlsplit(request.url).hostname or "").lower()
        if opens_page and host not in self.opened:
            self.opened.add(host)  # its own scripts and styles now pass without coming here
            await self._reroute()


def _opens_a_page(request: Any) -> bool:
    """Whether `request` loads a tab's own document (a page the workflow opens), not a frame's or a resource."""
    try:
        return bool(request.is_navigation_request()) and request.frame.parent_frame is None
    except Exception:  # a service worker's request has no frame
        return False
