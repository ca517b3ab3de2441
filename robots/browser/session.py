"""The browser robot's plumbing: its browser context, running work on the shared browser, failures and traces."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urljoin

from robots.browser.evidence import MASK_COLOUR, redact_html, redact_zip, secret_masks, unmark
from robots.browser.failures import explain, network_words, page_place
from robots.browser.forms import (
    LOGIN_HINT,
    NET_ERROR_SCRIPT,
    PAGE_ANSWER_SCRIPT,
)
from robots.browser.host import BrowserHost, shared_host
from robots.browser.light import NO_MOTION_SCRIPT, HostFilter, is_light
from robots.browser.locators import Target, error_target
from robots.browser.navigation import (
    GESTURE_SCRIPT,
    PAGE_WATCH_SCRIPT,
    PageLoads,
    frame_evaluate,
    page_state,
    settled_evaluate,
)
from robots.browser.recycling import RECYCLE_EVERY, TabRecycler
from robots.kit import (
    AccessRefused,
    ApplicationError,
    BusinessError,
    Robot,
    RobotContext,
    _,
    temporary_sibling,
)

T = TypeVar("T")
ErrorWhen = str | dict[str, str] | None
MARGIN = 5.0  # seconds the robot waits for the browser beyond an action's own timeout


def without_call_stacks(tracing: Any) -> None:
    """Keep Playwright's client from sending the Python call stack of each call while the trace records.

    A trace is started with `sources=False`: those stacks would only place each action in Rob'O's own code
    (the step a user wrote is in the run's log), and list the installation's file paths in a trace handed to
    an agent. They cost ~0.5 ms of CPU per browser call, between the client and its driver (20-odd calls a
    record field by field). Playwright has no option for it: its tracing object counts itself out of the
    connection's tracers, as it does when a chunk stops; each new chunk counts itself in again, so this follows
    every start. With a Playwright that lacks the method, the stacks are sent as before.
    """
    stop_counting = getattr(getattr(tracing, "_impl_obj", None), "_reset_stack_counter", None)
    if callable(stop_counting):
        stop_counting()


class BrowserCore(Robot):
    """What every browser action relies on; the actions themselves are in `robots.browser`."""

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        self.settings: dict[str, Any] = dict(context.settings.get("browser", {}))
        self.default_timeout = float(self.settings.get("timeout") or 10.0)
        self.trace_mode: str = str(self.settings.get("trace", "on_failure"))
        self.light = is_light(self.settings)  # see `robots.browser.light`
        self._hosts: HostFilter | None = None
        self._recycler = TabRecycler(int(self.settings.get("recycle_every", RECYCLE_EVERY)), context.log)
        self._host: BrowserHost | None = None
        self._context: Any = None
        self._page: Any = None
        self._frame: Any = None
        self._frame_css: str | None = None  # the selector `browser.in_frame` gave `_frame` (for messages)
        self._loads = PageLoads()
        self._actions_since_trace = 0
        # DOM snapshots make a trace complete but cost about a fifth of the speed of field-by-field entry: by
        # default they are recorded only once something has failed (a retry, the items after a failure), until
        # an item succeeds again. `trace: full` records them always.
        self._snapshots_wanted = self.trace_mode == "full"
        self._snapshots_on = False

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _run(
        self,
        doing: str,
        work: Callable[[Any], Awaitable[T]],
        *,
        target: Target | None = None,
        timeout: float | None = None,
    ) -> T:
        """Run `work(scope)` on the browser's loop; turn any failure into a clear error, with evidence saved."""
        seconds = timeout or self.default_timeout
        host = self._ensure_host()
        return host.call(self._guarded(doing, work, target, seconds), seconds + MARGIN + 30)

    async def _guarded(
        self, doing: str, work: Callable[[Any], Awaitable[T]], target: Target | None, seconds: float
    ) -> T:
        page = await self._ensure_page()
        if self._snapshots_on != self._snapshots_wanted:
            await self._restart_tracing()
        self._actions_since_trace += 1
        try:
            return await work(self._frame or page)
        except Exception as exc:
            error = await explain(exc, self._page, target, doing, seconds, self._frame)
            await self._save_evidence(doing)
            raise error from None

    def _ensure_host(self) -> BrowserHost:
        if self._host is None:
            self._host = shared_host(self.context.shared, self.settings)
        return self._host

    async def _ensure_page(self, storage_state: str | None = None) -> Any:
        if self._page is not None and not self._page.is_closed():
            return self._page
        if self._context is None:
            assert self._host is not None
            options: dict[str, Any] = {"accept_downloads": True, "locale": "fr-FR"}
            if self.settings.get("viewport"):
                options["viewport"] = self.settings["viewport"]
            if storage_state:
                options["storage_state"] = storage_state
            if self.light:
                options["reduced_motion"] = "reduce"
            self._context = await self._host.browser.new_context(**options)
            self._context.set_default_timeout(self.default_timeout * 1000)
            await self._context.add_init_script(script=PAGE_WATCH_SCRIPT)
            if self.light:
                await self._context.add_init_script(script=NO_MOTION_SCRIPT)
            if self.settings.get("allow_hosts") is not None:
                self._hosts = HostFilter(self.settings["allow_hosts"], self.context.log)
                await self._hosts.apply(self._context)
            if self.trace_mode != "off":
                await self._start_tracing()
        self._page = await self._context.new_page()
        self._watch(self._page)
        return self._page

    async def _start_tracing(self) -> None:
        snapshots = self._snapshots_wanted
        # start() opens the first chunk itself; `_next_chunk` ends each one and opens the next.
        await self._context.tracing.start(snapshots=snapshots, screenshots=False, sources=False)
        without_call_stacks(self._context.tracing)
        self._snapshots_on = snapshots

    async def _next_chunk(self, path: str | None = None) -> None:
        """End the trace's chunk (written to `path`, or dropped) and start the next one."""
        await self._context.tracing.stop_chunk(path=path)
        await self._context.tracing.start_chunk()
        without_call_stacks(self._context.tracing)

    async def _restart_tracing(self) -> None:
        """Switch DOM snapshots on or off between two actions (what was recorded since the last chunk is dropped)."""
        if self._context is None or self.trace_mode == "off":
            return
        await self._context.tracing.stop()
        self._actions_since_trace = 0
        await self._start_tracing()

    def _watch(self, page: Any) -> None:
        """Follow the page's loads, so that a submit can wait for how its load ended without asking."""
        self._loads.watch(page)

    def _ms(self, timeout: float | None) -> float:
        return (timeout or self.default_timeout) * 1000

    async def _save_evidence(self, doing: str) -> None:
        """Screenshot (secrets and passwords masked), HTML and trace of the page as it was when something failed."""
        page = self._page
        label = re.sub(r"\W+", "-", doing.split(" ")[0]).strip("-") or "browser"
        if page is not None and not page.is_closed():
            shot = self.context.artifact_path(f"lane{self.context.lane}-{label}-failure.png")
            try:
                await self._screenshot(page, path=str(shot), full_page=True)
                self.context.record_artifact(
                    shot, "screenshot", _("page when '{doing}' failed").format(doing=doing)
                )
            except Exception as exc:
                self.context.log(_("no screenshot could be taken: {reason}").format(reason=exc))
            html = self.context.artifact_path(f"lane{self.context.lane}-{label}-failure.html")
            try:
                html.write_text(redact_html(await page.content(), self.context.redact), encoding="utf-8")
                self.context.record_artifact(
                    html, "html", _("page HTML when '{doing}' failed").format(doing=doing)
                )
            except Exception as exc:
                self.context.log(_("the page's HTML could not be saved: {reason}").format(reason=exc))
        await self._save_trace(
            f"lane{self.context.lane}-{label}-failure-trace.zip",
            _("trace up to '{doing}'").format(doing=doing),
        )
        if self.trace_mode != "off":
            self._snapshots_wanted = True  # what happens next (a retry, a recovery) is recorded in full

    async def _screenshot(self, subject: Any, **options: Any) -> None:
        """A screenshot of the page (or an element) where every field or text showing a secret is masked."""
        masks = await secret_masks(self._page, self.context.redact)
        try:
            await subject.screenshot(mask=masks, mask_color=MASK_COLOUR, **options)
        finally:
            await unmark(self._page)

    async def _save_trace(self, name: str, description: str) -> None:
        if self._context is None or self.trace_mode == "off" or not self._actions_since_trace:
            return
        path = self.context.artifact_path(name)
        # Written under a temporary name first: the trace takes its name only once its secrets are removed.
        raw = temporary_sibling(path, self.context.run_id)
        try:
            await self._next_chunk(str(raw))
            # Off the browser's loop: a long trace takes seconds to rewrite, and other lanes share that loop.
            await asyncio.to_thread(redact_zip, raw, self.context.redact, path)
            self._actions_since_trace = 0
            self.context.record_artifact(path, "trace", description)
        except Exception as exc:
            self.context.log(_("the trace could not be saved: {reason}").format(reason=exc))
        finally:
            raw.unlink(missing_ok=True)

    async def _discard_trace(self) -> None:
        if self._context is not None and self.trace_mode != "off":
            await self._next_chunk()
            self._actions_since_trace = 0
            self._snapshots_wanted = self.trace_mode == "full"

    def item_finished(self, key: str, ok: bool) -> None:
        """Keep the trace of a failed item; forget that of a successful one (it would only cost space).

        Every `recycle_every` items, the tab is replaced by a fresh one; in between, its renderer collects its
        garbage every few items (see `robots.browser.recycling`).
        """
        if self._host is None or self._context is None:
            return
        if ok:
            renew = self._recycler.due()
            self._host.call(self._tidy_tab(renew), 30 + self.default_timeout + MARGIN)
        else:
            # Named without the key, which may be built from a secret: the artifact's event names the item.
            self._host.call(
                self._save_trace(
                    f"lane{self.context.lane}-failed-item-trace.zip", _("item {key}").format(key=key)
                ),
                60,
            )

    async def _tidy_tab(self, renew: bool) -> None:
        await self._discard_trace()
        if renew:
            fresh = await self._recycler.replace(
                self._context, self._page, self._loads.method, self._frame is not None, self._watch
            )
            if fresh is not None:
                self._page = fresh
                self._loads.forget()
                self._loads.take_status()
                return
        await self._recycler.collect(self._context, self._page)

    async def _check_status(self, doing: str) -> None:
        status = self._loads.take_status()
        if status is not None and status >= 500:
            place = await page_place(self._page)
            raise ApplicationError(
                _("the server answered with an error {status} to {doing}, on {page}").format(
                    status=status, doing=doing, page=place
                )
            )

    async def _check_loaded(self, page: Any, doing: str) -> dict[str, Any]:
        """A page that did not load (the browser's own error page, an empty answer) is a system failure.

        It is never a refusal of the data: the server may have saved the data before it failed, so the step is
        an application error and the ledger treats the item as possibly done. Returns the loaded document's
        state (`page_state`: the fields the browser refused, whether a new tab was asked for).
        """
        request, self._loads.request = self._loads.request, None
        failure = await self._loads.answered(request) if request is not None else None
        if failure:
            code = failure.removeprefix("net::")
            words = network_words(code)
            raise ApplicationError(
                _("the page did not load after {doing}: {reason}").format(
                    doing=doing, reason=f"{words} ({code})" if words else code
                ),
                hint=_(
                    "the server may have stopped while answering: the data may or may not have been saved"
                ),
            )
        address = str(page.url)
        if address.startswith("chrome-error://"):
            code = await settled_evaluate(page, NET_ERROR_SCRIPT)
            words = network_words(str(code).removeprefix("net::")) if code else ""
            raise ApplicationError(
                _("the page did not load after {doing}: {reason}").format(
                    doing=doing, reason=words or code or _("the browser shows its error page")
                ),
                hint=_(
                    "the server may have stopped while answering: the data may or may not have been saved"
                ),
            )
        state = await page_state(page)
        if address.startswith(("http:", "https:")) and state["empty"]:
            raise ApplicationError(
                _("the server answered {doing} with an empty page ({url})").format(doing=doing, url=address),
                hint=_("the server may have failed while answering: the data may or may not have been saved"),
            )
        return state

    async def _after_submit(
        self, page: Any, doing: str, error_when: ErrorWhen, timeout: float | None
    ) -> dict[str, Any]:
        """Wait for what a click or a key submitted, and fail the step if the page refused it.

        Returns the loaded document's state (`PAGE_STATE_SCRIPT`).
        """
        if self._loads.request is not None:  # a page load started: wait for its answer (or its failure) first
            seconds = timeout or self.default_timeout
            try:
                await asyncio.wait_for(self._loads.answered(self._loads.request), seconds)
            except TimeoutError:
                raise ApplicationError(
                    _("no answer to {doing} within {seconds} s").format(doing=doing, seconds=f"{seconds:g}"),
                    hint=_("the server may be slow or stopped: the data may or may not have been saved"),
                ) from None
        await page.wait_for_load_state("load", timeout=self._ms(timeout))
        await self._check_status(doing)
        state = await self._check_loaded(page, doing)
        if self._frame is not None:  # the gesture was in the frame's document, which noted it there
            state.update(await frame_evaluate(self._frame, GESTURE_SCRIPT) or {})  # none: the window left it
        await self._check_browser_validation(page, doing, state["invalid"])
        if error_when is None:
            return state
        marker = error_target(error_when)
        matches = marker.locate_all(self._frame or page)
        if not await matches.first.is_visible():  # false as well when there is none: one round trip
            return state
        texts = [t.strip() for t in await matches.all_inner_texts() if t.strip()]
        place = await page_place(page)
        details = "; ".join(dict.fromkeys(texts[:8])) or marker.value
        answer = await settled_evaluate(
            self._frame.locator(":root") if self._frame else page, PAGE_ANSWER_SCRIPT
        )
        # The page's message first, then each field's own message that it does not already say. When the marker
        # found only the fields' messages, the page's message is its banner.
        named = [f"{label} : {message}" if label else message for label, message in answer["fields"]]
        own = {" ".join(message.split()) for _, message in answer["fields"]}
        if texts and all(" ".join(text.split()) in own for text in texts):
            banners = [m["text"] for m in answer["messages"] if m["kind"] in ("error", "warning")]
            details = "; ".join(dict.fromkeys(banners)) or _("the fields' messages say")
        said = " ".join(details.split())
        details = "; ".join([details, *(n for n in dict.fromkeys(named) if " ".join(n.split()) not in said)])
        cause = [_("after {doing}, on {page}").format(doing=doing, page=place)]
        if answer["password"]:
            raise AccessRefused(
                _("the login was refused: {details}").format(details=details), cause=cause, hint=_(LOGIN_HINT)
            )
        raise BusinessError(_("the page refused the data: {details}").format(details=details), cause=cause)

    def _before_gesture(self) -> None:
        """Before a click or a key: no load seen so far is its (what it leads to: see `PAGE_WATCH_SCRIPT`)."""
        self._loads.forget()

    async def _check_browser_validation(self, page: Any, doing: str, blocked: list[Any]) -> None:
        """A form the browser itself would not send (a required field empty, a value too long) is refused data.

        `blocked` is what the document's state said of it: each field's label and the browser's message.
        """
        if blocked:
            named = "; ".join(f"{label} : {message}" if label else message for label, message in blocked)
            place = await page_place(page)
            raise BusinessError(
                _("the browser refused to send the form: {fields}").format(fields=named),
                cause=[_("after {doing}, on {page}").format(doing=doing, page=place)],
            )

    def _resolve_url(self, url: str) -> str:
        if self._page is not None and not re.match(r"^[a-z][a-z0-9+.-]*:", url):
            return urljoin(str(self._page.url), url)
        return url

    def close(self) -> None:
        """Close the context; the browser itself is closed with the run."""
        if self._host is None or self._context is None:
            return
        context, self._context, self._page, self._frame = self._context, None, None, None

        async def shut() -> None:
            await context.close()

        try:
            self._host.call(shut(), 30)
        except Exception as exc:
            self.context.log(_("the browser context did not close cleanly: {reason}").format(reason=exc))
