"""How the page's loads end, known from the page's own events rather than by asking the browser after each action.

Every question put to the browser is a round trip (the robot's thread, Playwright's driver, Chromium and back).
A page already tells, by its events, when a page load starts, when its answer comes and with which status, and
when it fails: `PageLoads` keeps that, so that waiting for a submit's answer costs no round trip of its own.
The state of a loaded document (empty, refused by the browser's own validation, its title) the document notes by
itself (`PAGE_WATCH_SCRIPT`), read in one round trip.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

_EMPTY = (
    "!document.documentElement || !document.body || (document.body.innerText.trim() === ''"
    " && !document.body.querySelector('input, select, textarea, button, img, svg, canvas, iframe, object, embed,"
    " video'))"
)
"""Whether a loaded document shows nothing at all (a server that answered an empty body)."""
_GESTURE = "invalid: (window.__roboInvalid || []).slice(0, 20), opensTab: !!window.__roboOpensTab"
"""What the last click or key led to (noted by PAGE_WATCH_SCRIPT): the fields the browser found invalid when a
submit was tried, and whether a new tab was asked for."""
PAGE_STATE_SCRIPT = f"() => ({{empty: {_EMPTY}, title: document.title, {_GESTURE}}})"
"""What the robot checks of a document once it has loaded, in one round trip."""
GESTURE_SCRIPT = f"() => ({{{_GESTURE}}})"
"""What the last gesture led to in a frame's document (the page's note is its main document's)."""

STATE_ATTRIBUTE = "data-robo-state"
PAGE_WATCH_SCRIPT = (
    r"""
(() => {
  // Installed in every document before its own scripts (an init script): what the robot needs to know of a
  // document once it has loaded, and of what its last gesture (a click, a key) led to, noted by the page itself.
  // A browser that will not send a form fires `invalid` on its fields and stays on the page; a link or a form
  // with target="_blank" opens a new tab. A page that was left has lost all this, as it should.
  // The state is also written, as JSON, in an attribute of the document's root element: Playwright reads an
  // attribute in its own isolated world, where a script of the robot would first have to bring its helpers into
  // the page's world (a few milliseconds per document). Emptiness is read once, at load (it costs a layout).
  window.__roboInvalid = [];
  window.__roboOpensTab = false;
  let empty = null;
  const note = () => {
    if (empty === null || !document.documentElement) return;
    try {
      const state = JSON.stringify({empty, title: document.title, """
    + _GESTURE
    + r"""});
      // written only when it changed: a page watching its root's attributes and writing in its head in answer
      // must not be woken again and again
      if (document.documentElement.getAttribute('"""
    + STATE_ATTRIBUTE
    + r"""') === state) return;
      document.documentElement.setAttribute('"""
    + STATE_ATTRIBUTE
    + r"""', state);
    } catch (e) { /* a document that refuses attributes is asked instead */ }
  };
  window.addEventListener('load', () => {
    empty = """
    + _EMPTY
    + r""";
    note();
    // A title the page's script sets later is noted again (the robot reads it just after the load).
    if (document.head) {
      new MutationObserver(note).observe(document.head, {childList: true, characterData: true, subtree: true});
    }
  });
  // Requests the page's own scripts have under way (fetch, XMLHttpRequest), counted, never changed: a page still
  // waiting for an answer may yet show what an action looks for (`_SETTLED_SCRIPT` in `robots.browser.finding`).
  window.__roboPending = 0;
  const answered = () => { window.__roboPending = Math.max(0, window.__roboPending - 1); };
  if (typeof window.fetch === 'function') {
    const fetch = window.fetch;
    window.fetch = function (...args) {
      window.__roboPending++;
      let answer;
      try { answer = fetch.apply(this, args); } catch (e) { answered(); throw e; }
      Promise.resolve(answer).then(answered, answered);
      return answer;
    };
  }
  if (window.XMLHttpRequest) {
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (...args) {
      window.__roboPending++;
      this.addEventListener('loadend', answered, {once: true});
      try { return send.apply(this, args); } catch (e) { this.removeEventListener('loadend', answered); answered(); throw e; }
    };
  }
  const gesture = () => { window.__roboInvalid = []; window.__roboOpensTab = false; note(); };
  window.addEventListener('mousedown', gesture, true);
  window.addEventListener('keydown', gesture, true);
  // Focus gone to a frame (whose keys are not heard here): what the browser refused here is old news.
  window.addEventListener('blur', () => { window.__roboInvalid = []; note(); });
  window.addEventListener('click', (event) => {
    const el = event.target;
    const owner = el && el.closest ? el.closest('a[href], form') : null;
    window.__roboOpensTab = !!owner && owner.target === '_blank';
    note();
  }, true);
  document.addEventListener('invalid', (event) => {
    const el = event.target;
    const label = el.labels && el.labels.length ? el.labels[0].textContent : (el.getAttribute('aria-label') || el.name || '');
    window.__roboInvalid.push([label.replace(/[\s\u00a0]+/g, ' ').trim().replace(/\s*\*\s*$/, '').replace(/\s*:\s*$/, ''), el.validationMessage]);
    note();
  }, true);
})();
"""
)
"""Run in every document before its own scripts; see `page_state`."""


async def page_state(page: Any) -> dict[str, Any]:
    """The state of `page`'s loaded document (`PAGE_STATE_SCRIPT`), as the document noted it when it could.

    The note (`PAGE_WATCH_SCRIPT`) is read in one round trip that runs no script in the page's world; a document
    without one, or one that noted it was empty when it loaded (it may have filled itself since), is asked.
    """
    from playwright.async_api import Error as PlaywrightError

    try:
        noted = json.loads(await page.locator(":root").get_attribute(STATE_ATTRIBUTE, timeout=1000) or "null")
    except (PlaywrightError, ValueError):
        noted = None
    if (
        isinstance(noted, dict)
        and noted.get("empty") is False
        and isinstance(noted.get("title"), str)
        and isinstance(noted.get("invalid"), list)
        and isinstance(noted.get("opensTab"), bool)
    ):
        return noted
    state: dict[str, Any] = await settled_evaluate(page, PAGE_STATE_SCRIPT)
    return state


_EVENTS_GRACE = 2.0
"""Seconds a load's answer is awaited from the page's events before the browser is asked (a slow server's answer
then still counts: the question waits for it)."""


class PageLoads:
    """The last page load each watched page started in its main frame: its request, answer and status."""

    def __init__(self) -> None:
        self.request: Any = None
        """The last page load started (a Playwright request), until an action takes it (`take`)."""
        self.method: str | None = None
        """The HTTP method of the last page load started (GET, or POST for a form's answer)."""
        self.status: int | None = None
        """The HTTP status of the last page load answered, until an action reads it (`take_status`)."""
        self._answers: dict[Any, asyncio.Future[str | None]] = {}

    def watch(self, page: Any) -> None:
        """Follow `page`'s loads (a page is watched once, when the robot first works in it)."""

        def main_load(request: Any) -> bool:
            return bool(request.is_navigation_request()) and request.frame == page.main_frame

        def on_request(request: Any) -> None:
            if main_load(request):
                self.request, self.method = request, str(request.method)
                self._answers[request] = asyncio.get_running_loop().create_future()
                while len(self._answers) > 8:  # only the last loads can still be waited for
                    self._answers.pop(next(iter(self._answers)))

        def settle(request: Any, failure: str | None) -> None:
            answer = self._answers.get(request)
            if answer is not None and not answer.done():
                answer.set_result(failure)

        def on_response(response: Any) -> None:
            if main_load(response.request):
                self.status = response.status
                settle(response.request, None)

        def on_failed(request: Any) -> None:
            if main_load(request):
                settle(request, str(request.failure or "net::ERR_FAILED"))

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)

    def forget(self) -> None:
        """Before an action that may start a load: any load seen so far is not its."""
        self.request = None

    def take_status(self) -> int | None:
        """The status of the last page load answered (None if none since the last call), forgotten once read."""
        status, self.status = self.status, None
        return status

    async def answered(self, request: Any) -> str | None:
        """Wait until `request` is answered; None when it was, else the browser's net::ERR_ code.

        A load aborted (another load or a download took its place) counts as answered.
        """
        answer = self._answers.get(request)
        if answer is not None:
            # The events settle it in the common case; a load they never settle (none seen so far) is asked for.
            done, _pending = await asyncio.wait({answer}, timeout=_EVENTS_GRACE)
            failure = answer.result() if done else await _asked_failure(request)
        else:
            failure = await _asked_failure(request)
        failure = request.failure or failure
        if not failure or "ERR_ABORTED" in failure:
            return None
        return str(failure)


class NewTab:
    """The next tab a browser context opens, heard from its events from the moment this is made.

    Made before a click, waited for only when the click turned out to open a tab (`page_state` says so
    after it): nothing is asked of the browser beforehand.
    """

    def __init__(self, context: Any) -> None:
        self._context = context
        self._page: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        context.on("page", self._opened)

    def _opened(self, page: Any) -> None:
        if not self._page.done():
            self._page.set_result(page)

    def __enter__(self) -> NewTab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._context.remove_listener("page", self._opened)

    async def loaded(self, ms: float) -> Any | None:
        """The new tab once its page has loaded; None when none opened within `ms` milliseconds."""
        try:
            page = await asyncio.wait_for(asyncio.shield(self._page), ms / 1000)
        except TimeoutError:
            return None
        await page.wait_for_load_state("load", timeout=ms)
        return page


async def _asked_failure(request: Any) -> str | None:
    """How a load the events did not announce ended, asked of the browser (a round trip)."""
    await request.response()  # waits until the answer came, or the load failed
    return str(request.failure) if request.failure else None


async def settled_evaluate(scope: Any, script: str, every: bool = False, arg: Any = None) -> Any:
    """Evaluate a script in the page, again once it has loaded when a navigation replaced the document.

    With `every`, `scope` is a locator and the script is given every element it finds (none: not waited for), and
    `arg`.
    """
    from playwright.async_api import Error as PlaywrightError

    def evaluate() -> Any:
        return scope.evaluate_all(script, arg) if every else scope.evaluate(script)

    for _attempt in range(3):
        try:
            return await evaluate()
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            page = getattr(scope, "page", scope)
            await page.wait_for_load_state("load")
    return await evaluate()


async def frame_evaluate(frame: Any, script: str, arg: Any = None) -> Any:
    """What `script` (a function of one argument, given `arg`) returns in the frame of the frame locator `frame`.

    None at once when the page has no such frame (a page that replaced the whole window), where `settled_evaluate`
    would wait for it; again once the page (the window's document) has loaded when a navigation replaced the
    frame's document.
    """
    from playwright.async_api import Error as PlaywrightError

    try:
        return await settled_evaluate(
            frame.locator(":root"),
            f"(roots, arg) => roots.length ? ({script})(arg) : null",
            every=True,
            arg=arg,
        )
    except PlaywrightError as exc:
        # the words of Playwright before 1.5x for a missing frame
        if "failed to find frame" in str(exc).lower():
            return None
        raise
