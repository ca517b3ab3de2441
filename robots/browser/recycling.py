"""Replacing a long-lived tab by a fresh one between two items (`browser: {recycle_every: N}`).

A tab that serves item after item keeps growing: Chromium's memory for one page grew by about 2.2 MB per item
over a 1 000-item run, whereas a fresh tab every 50 items in the same browser context (its cookies and local
storage kept: a login survives) stayed flat, and the run was faster. The tab is replaced only at an item's end,
and only when nothing of the page would be lost: a single tab, not inside a frame, on a page loaded by a GET (a
reload shows it again), with no field changed since it loaded and nothing in its session storage (which a new tab
does not share). Otherwise it is tried again after the next item. The fresh tab opens the same address, for an
item that goes on from the page the previous one left.

Most of that growth is not the page's own: each document a tab leaves stays in its renderer until the next full
garbage collection, which an intranet's small pages seldom trigger (measured: 60 documents held after 25 items,
110 after 50, the renderer from 40 to 160 MB, all of it freed by one collection). So every `COLLECT_EVERY` items
the tab's renderer is also asked to collect its garbage (through a DevTools session of its own, as the DevTools'
"collect garbage" button does): nothing a page can see, started at the item's end without waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from robots.kit import _

RECYCLE_EVERY = 50
"""Items after which the tab is replaced, by default (measured: see bench/README.md)."""

COLLECT_EVERY = 10
"""Items after which the tab's renderer collects its garbage (measured: see bench/README.md)."""

PAGE_AT_REST_SCRIPT = r"""
() => {
  const changed = (el) => {
    if (el.disabled) return false;
    if (el.tagName === 'SELECT') {
      const options = [...el.options];
      if (el.multiple) return options.some((o) => o.selected !== o.defaultSelected);
      const first = options.findIndex((o) => o.defaultSelected);
      return options.length > 0 && el.selectedIndex !== (first < 0 ? 0 : first);
    }
    const type = (el.type || '').toLowerCase();
    if (type === 'hidden' || type === 'submit' || type === 'button' || type === 'reset') return false;
    if (type === 'checkbox' || type === 'radio') return el.checked !== el.defaultChecked;
    if (type === 'file') return !!(el.files && el.files.length);
    return el.value !== el.defaultValue;
  };
  let stored = 0;
  try { stored = window.sessionStorage.length; } catch (e) { stored = 1; }
  return {editing: [...document.querySelectorAll('input, textarea, select')].some(changed), stored};
}
"""
"""Whether the page has a form in progress (a field changed since it loaded) or a session storage of its own."""


class TabRecycler:
    """Counts a lane's items and replaces its tab by a fresh one every `every` items, when the page allows it."""

    def __init__(self, every: int, log: Callable[[str], None]) -> None:
        self.every = every
        self.items = 0
        self.replaced = 0
        self.collections = 0
        self._log = log
        self._since_collect = 0
        self._devtools: tuple[Any, Any] | None = None  # the tab and its DevTools session
        self._collecting: asyncio.Future[Any] | None = None

    def due(self) -> bool:
        """Count an item that ended; whether the tab is due for replacement (0: never)."""
        self.items += 1
        self._since_collect += 1
        return self.every > 0 and self.items >= self.every

    async def collect(self, context: Any, page: Any) -> None:
        """Every `COLLECT_EVERY` items, start a garbage collection in `page`'s renderer (not waited for)."""
        if self._since_collect < COLLECT_EVERY or page is None or page.is_closed():
            return
        if self._collecting is not None and not self._collecting.done():
            return  # the last one is still running: it does the job
        try:
            if self._devtools is None or self._devtools[0] is not page:
                self._devtools = (page, await context.new_cdp_session(page))
            session = self._devtools[1]
        except Exception:  # a browser without DevTools sessions for its tabs: its own collector will do
            self._since_collect = 0
            return
        self._since_collect = 0
        self.collections += 1
        self._collecting = asyncio.ensure_future(session.send("HeapProfiler.collectGarbage"))
        self._collecting.add_done_callback(_ignore_failure)

    async def replace(
        self, context: Any, page: Any, loaded_by: str | None, in_frame: bool, watch: Callable[[Any], None]
    ) -> Any:
        """A fresh tab showing what `page` shows, `page` closed; None (and `page` kept) when it cannot be done now.

        `loaded_by` is the HTTP method that loaded the page's document (None: not known, e.g. a file or blank);
        `watch` is called on the fresh tab before it loads anything.
        """
        if in_frame or page is None or page.is_closed() or len(context.pages) != 1:
            return None
        address = str(page.url)
        web = address.startswith(("http:", "https:"))
        if address.startswith("chrome-error:") or (web and loaded_by != "GET"):
            return None
        try:
            state = await page.evaluate(PAGE_AT_REST_SCRIPT)
        except Exception:  # the page is loading another document: it is not at rest
            return None
        if state["editing"] or state["stored"]:
            return None
        fresh = await context.new_page()
        watch(fresh)
        try:
            if address != "about:blank":
                response = await fresh.goto(address, wait_until="load")
                if response is not None and response.status >= 400:
                    raise RuntimeError(f"HTTP {response.status}")
        except Exception as exc:
            await fresh.close()
            self._log(_("the browser's tab could not be renewed ({reason}): it is kept").format(reason=exc))
            return None
        await page.close()
        count, self.items, self._since_collect = self.items, 0, 0
        self.replaced += 1
        self._log(
            _("the browser's tab was renewed after {count} items, on {url} (memory kept low)").format(
                count=count, url=address
            )
        )
        return fresh


def _ignore_failure(done: asyncio.Future[Any]) -> None:
    """A collection that could not run (the tab closed meanwhile) changes nothing: its error is dropped."""
    if not done.cancelled():
        done.exception()
