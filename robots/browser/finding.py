"""How an action finds the element its target means, and says why when the page does not show it.

At once when the target's locator finds it alone; else by looking until the page shows it, or until the page has
finished loading without it. A name (label, text…) missing from a loaded page is a mistake in the workflow. An
element that earlier actions found on another page is missing because the application shows another page (a
login page after the session expired, an error page): waiting the step's whole timeout there, then retrying the
step on the same page, cannot help, so that is said within seconds and the item is tried again after its
`recover` steps.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from robots.browser.failures import (
    absent_target,
    ambiguous_target,
    missing_frame,
    other_page,
    page_frames,
    page_place,
    what_the_page_has,
)
from robots.browser.locators import NAMED_KINDS, Match, Target
from robots.browser.navigation import frame_evaluate
from robots.browser.session import BrowserCore
from robots.kit import ApplicationError, BusinessError, RoboError, RobotContext, _

T = TypeVar("T")
ABSENT_AFTER = 3.0
"""Seconds a target is looked for on a page that has finished loading before it is said to be missing from it
(for a label, text or role name, the workflow names something the page lacks: a workflow error, not retried),
rather than the whole step's timeout."""
QUICK_LOOK = 1.0  # seconds an element found by its target's locator alone is waited for (`_on_one`)
_SETTLED_SCRIPT = (
    "() => document.readyState === 'complete' && !document.querySelector('[aria-busy=true]')"
    " && !location.href.startsWith('chrome-error:') && !(window.__roboPending > 0)"
)
"""A page has finished loading: its load event, no element marked busy, no request of its scripts under way
(counted by `PAGE_WATCH_SCRIPT`), not the browser's error page."""
_NUMBERED = re.compile(r"\d")
_FRAME_ADDRESS_SCRIPT = "() => location.href"


def place_of(url: str) -> str:
    """The place of a page: its address without query, and with each path segment that holds a digit as `#`.

    `http://intranet/dossiers/1234/recu?x=1` and `…/dossiers/98/recu` are one place (the same page for two
    records); a segment's parameters (`;jsessionid=…`) are left out; a fragment that routes (`#/dossiers`,
    `#!/login`) is kept, as single-page applications navigate so.
    """

    def general(path: str) -> str:
        segments = (segment.split(";")[0] for segment in path.split("/"))
        return "/".join("#" if _NUMBERED.search(segment) else segment for segment in segments)

    parts = urlsplit(url)
    route = _route(url)
    return f"{parts.scheme}://{parts.netloc}{general(parts.path)}{'#' + general(route) if route else ''}"


def _route(url: str) -> str:
    """The route a single-page application's address holds in its fragment (`/dossiers` of `…#/dossiers?x=1`)."""
    route = urlsplit(url).fragment.split("?")[0]
    return route if route.startswith(("/", "!/")) else ""


class FoundPlaces:
    """The places where each target (or form) was found, for the `limit` targets used last.

    Where actions act is named by its addresses (`Finding._where`): the page's, then the frame's in it when the
    steps act inside a frame (whose login page may show inside the frame, the page around it unchanged). A target
    is said to be elsewhere only from places of the same kind: found on the page, then looked for inside a frame
    (a step before or after `browser.in_frame` by mistake) is not "another page".

    A target written from the data (`text: "{{ ref }}"`) is new on each item: the oldest are forgotten, so a run
    of 100 000 items keeps a few hundred entries.
    """

    def __init__(self, limit: int = 256, places_per_target: int = 8) -> None:
        self._limit = limit
        self._per_target = places_per_target
        # target -> {place: the last address there (the frame's inside a frame), without its query}
        self._places: OrderedDict[Hashable, dict[tuple[str, ...], str]] = OrderedDict()

    def found(self, what: Hashable, where: tuple[str, ...]) -> None:
        """Note that `what` was found where the addresses `where` are."""
        places = self._places.get(what)
        if places is None:
            places = self._places[what] = {}
            if len(self._places) > self._limit:
                self._places.popitem(last=False)
        else:
            self._places.move_to_end(what)
        place = _place(where)
        places.pop(place, None)
        places[place] = _address(where)
        if len(places) > self._per_target:
            del places[next(iter(places))]

    def known(self, what: Hashable) -> bool:
        """Whether `what` was found before, on any page."""
        return what in self._places

    def elsewhere(self, what: Hashable, where: tuple[str, ...]) -> str | None:
        """The address where `what` was last found, when that was only on other pages than `where`; else None.

        Only places of the same kind count (on the page, or inside a frame of it), and a frame missing from a page
        where it was found is not another page.
        """
        here = _place(where)
        places = self._places.get(what)
        if not places or here in places:
            return None
        if len(here) > 1 and not here[-1] and any(place[0] == here[0] for place in places):
            return None  # the frame is missing from a page where it was (a late frame, a wrong selector)
        return next((address for place, address in reversed(places.items()) if len(place) == len(here)), None)

    def in_a_frame_of(self, what: Hashable, where: tuple[str, ...]) -> str | None:
        """The address of the frame where `what` was last found inside a frame of the page `where` is; else None."""
        here = _place(where)
        places = self._places.get(what) or {}
        inside = (
            address
            for place, address in reversed(places.items())
            if place[0] == here[0] and len(place) > 1 and place[-1]
        )
        return next(inside, None)


def _place(where: tuple[str, ...]) -> tuple[str, ...]:
    """The place of a page, then of the frame the steps act in (`""`: the page has no such frame)."""
    return tuple(place_of(url) if url else "" for url in where)


def _current(where: tuple[str, ...]) -> str:
    """The address of the document the steps act in: the frame's when they act in one that is there."""
    return next(url for url in reversed(where) if url)


def _address(where: tuple[str, ...]) -> str:
    """The address people are shown for where `what` was found (`_current`), without its query."""
    url = _current(where)
    return urlsplit(url)._replace(query="", fragment=_route(url)).geturl()


class Finding(BrowserCore):
    """The finding of elements, shared by every browser action that has a target."""

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        self._places = FoundPlaces()

    async def _on_one(
        self, target: Target, scope: Any, timeout: float | None, act: Callable[[Any, float], Awaitable[T]]
    ) -> T:
        """Do `act` (safe twice) on the element `target` means: at once if its locator finds it alone, else by `_find`.

        A target without a name (CSS, XPath…) is tried at once only when earlier actions found it: `_find` then
        looks for it rather than leaving the whole wait to Playwright.
        """
        from playwright.async_api import Error as PlaywrightError

        if target.nth is None and (target.named is not None or self._places.known(target)):
            try:
                quick = min(QUICK_LOOK, timeout or self.default_timeout) * 1000
                locator = target.locate_all(scope) if target.named is not None else target.locate(scope)
                where = await self._where()  # before the act, which may load another page
                done = await act(locator, quick)
                self._places.found(target, where)
                return done
            except (PlaywrightError, _LookAgain):
                pass  # several matches (Playwright's strictness), none yet, not shown, refused: as any other action
        element = await self._find(target, scope, timeout)
        where = await self._where()
        started = asyncio.get_running_loop().time()
        for _look_again in range(5):
            try:
                done = await act(element, self._ms(timeout))
            except _LookAgain:
                # Found but not shown (a CSS target is not looked for): Playwright waits until it shows, or
                # says it did not within the timeout; then the act again, unless it hid at once again.
                await element.wait_for(state="visible", timeout=self._ms(timeout))
                continue
            self._places.found(target, where)
            return done
        raise await self._absent(target, False, asyncio.get_running_loop().time() - started)

    async def _read(
        self, target: Target, scope: Any, timeout: float | None, read: Callable[[Any, float], Awaitable[T]]
    ) -> T:
        """`read` (its text, value, an attribute) the element `target` means, shown or not.

        A name as `_find` chooses it (the shown match, waited for); CSS or XPath as written, looked for once found
        before (`_on_one`).
        """
        if target.named is None:
            return await self._on_one(target, scope, timeout, read)
        return await read(await self._find(target, scope, timeout), self._ms(timeout))

    @staticmethod
    async def _shown(element: Any, _ms: float) -> Any:
        """`element` if found alone and shown: one round trip, no waiting, no script in the page's world."""
        if not await element.is_visible():  # several matches: Playwright's strictness error
            raise _LookAgain()
        return element

    async def _find(self, target: Target, scope: Any, timeout: float | None) -> Any:
        """The locator of the one element `target` means (see `Target.choose`), once the page shows it.

        A name (label, text, role name, placeholder) still missing `ABSENT_AFTER` seconds after the page has
        finished loading is a workflow error; several equally good matches are one too. Other targets (CSS,
        XPath…) are left to Playwright, as written, unless earlier actions found them on another page than this
        one, or the steps act inside a frame that the loaded page lacks (see `_absent`).
        """
        if target.named is None:
            if target.kind in NAMED_KINDS and target.kind != "role":  # written by a template, from the data
                raise BusinessError(
                    _("{target}: the {kind} to look for is empty").format(
                        target=target.describe(), kind=target.kind
                    )
                )
            locator = target.locate(scope)
            if not self._places.known(target) and self._frame is None:
                return locator
            # found before, or inside a frame, which the page may lack: looked for first
            count, settled, waited = await self._look(timeout, locator.count, lambda seen: seen > 0)
            if count:
                self._places.found(target, await self._where())
                return locator
            where = await self._where() if settled else None
            gone = where is not None and await self._frame_gone(where)
            if where is not None and not gone and self._places.elsewhere(target, where) is None:
                return locator  # missing from a page where it was found before: Playwright waits, as written
            raise await self._absent(target, settled, waited, where)

        async def look() -> tuple[Any, list[Match]]:
            locator, matches = await target.matches(scope)
            chosen = target.choose(matches)
            if len(chosen) > 1 and chosen[0].visible:
                title = await self._page.title() if self._page is not None else ""
                raise ambiguous_target(target, chosen, title)
            return locator, chosen

        (locator, chosen), found, waited = await self._look(
            timeout, look, lambda seen: bool(seen[1]) and seen[1][0].visible
        )
        if chosen:  # found, or only hidden: then Playwright waits for it to show, within the step's timeout
            self._places.found(target, await self._where())
            return locator.nth(chosen[0].index)
        raise await self._absent(target, found, waited)

    async def _where(self) -> tuple[str, ...]:
        """The addresses of where the steps act: the page's, then the frame's when they act inside one.

        The frame's is `""` when the page has no such frame (a page that replaced the whole window).
        """
        if self._frame is None:
            return (self._page.url,)
        from playwright.async_api import Error as PlaywrightError

        try:
            inner = await frame_evaluate(self._frame, _FRAME_ADDRESS_SCRIPT)
        except PlaywrightError:
            inner = None  # detached while read: noting where never fails a step
        return (self._page.url, str(inner or ""))

    async def _settled(self) -> bool:
        """Whether the frame the steps act in, else the page, has finished loading (`_SETTLED_SCRIPT`)."""
        if self._frame is not None:
            inside = await frame_evaluate(self._frame, _SETTLED_SCRIPT)
            if inside is not None:
                return bool(inside)
        # no such frame: the page itself (a login page that replaced the whole window)
        return bool(await self._page.locator(":root").evaluate(_SETTLED_SCRIPT))

    async def _look(
        self,
        timeout: float | None,
        look: Callable[[], Awaitable[T]],
        found: Callable[[T], bool],
    ) -> tuple[T, bool, float]:
        """Call `look` until what it sees is `found`, or the page finished loading `ABSENT_AFTER` s ago, or time is up.

        Returns what it saw last, whether the page had finished loading, and the seconds waited.
        """
        clock = asyncio.get_running_loop().time
        started = clock()
        deadline = started + (timeout or self.default_timeout)
        settled_at: float | None = None
        pause = 0.05
        while True:
            seen = await look()
            now = clock()
            if found(seen) or now >= deadline:
                return seen, False, now - started
            if await self._settled():
                settled_at = settled_at or now
                if now - settled_at >= ABSENT_AFTER:
                    return seen, True, now - started
            else:
                settled_at = None
            await asyncio.sleep(min(pause, max(deadline - now, 0.01)))
            pause = min(pause * 2, 0.25)

    async def _absent(
        self, target: Target, settled: bool, waited: float, where: tuple[str, ...] | None = None
    ) -> RoboError:
        """The error for a target missing from the page after `waited` seconds (`where`: see `_where`).

        On a loaded page: another page than the one where earlier actions found it (a failure of the
        application), else a name the page lacks (a mistake in the workflow). On a page still loading: a failure
        of the page, worth retrying.
        """
        if settled:
            where = where or await self._where()
            elsewhere = await self._other_page(target, target.describe(), waited, where)
            missing = elsewhere or await self._missing_frame(target, target.describe(), where, waited)
            return missing or await absent_target(self._page, target, waited, self._frame)
        place = await page_place(self._page)
        return ApplicationError(
            _("{target} was not found on {page} within {seconds} s").format(
                target=target.describe(), page=place, seconds=f"{waited:.0f}"
            ),
            hint=await what_the_page_has(self._page, target, self._frame)
            or _("the page did not finish loading: check the screenshot in the artifacts"),
        )

    async def _other_page(
        self, what: Hashable, described: str, waited: float, where: tuple[str, ...] | None = None
    ) -> ApplicationError | None:
        """The error for `what` (a target, a form) missing from this loaded page, if found only on other pages.

        None when earlier actions never found it, or found it on this page too.
        """
        where = where or await self._where()
        before = self._places.elsewhere(what, where)
        if before is None:
            return None
        return await other_page(self._page, described, before, _current(where), waited)

    async def _frame_gone(self, where: tuple[str, ...]) -> bool:
        """Whether the steps act inside a frame that the page lacks (`where`: see `_where`).

        A frame whose document could not be read but whose element is on the page (detached for a moment, or a
        page going away while it is counted) is not gone.
        """
        if self._frame is None or where[-1]:
            return False
        from playwright.async_api import Error as PlaywrightError

        try:
            return not await self._page.locator(self._frame_css).count()
        except PlaywrightError:
            return False

    async def _missing_frame(
        self, what: Hashable, described: str, where: tuple[str, ...], waited: float
    ) -> RoboError | None:
        """The error when the steps act inside a frame that the loaded page lacks (`_frame_gone`), else None.

        Where earlier actions found `what` (a target, a form) inside a frame of this very page, the page shows
        something else at its address (a login page served in its place): another page, a failure of the
        application. Else `browser.in_frame`'s selector names none of the page's frames: a workflow error.
        """
        if not await self._frame_gone(where):
            return None
        before = self._places.in_a_frame_of(what, where)
        if before is not None:
            return await other_page(self._page, described, before, where[0], waited)
        return await missing_frame(self._page, self._frame_css or "", waited, await page_frames(self._page))


class _LookAgain(Exception):
    """A quick look (`Finding._on_one`) did not find the element ready: it is looked for as any other."""
