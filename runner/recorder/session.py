"""A recording: a Chromium whose pages report what a person does, turned into checked actions.

`Recorder` launches Debian's Chromium the way the browser robot does (`find_browser`, `LAUNCH_ARGS`, a French
locale, downloads accepted), puts `PAGE_SCRIPT` in every page of its context and hears it through a binding. Each
report becomes an `Action` whose element is checked (`unique_target`) while the page still shows it; when the
action has already replaced the page (a click that sends a form), the page script's own counts, taken at the
moment of the action, decide.

The recording ends when the person closes the browser, when `stop()` is called (Ctrl+C in `robo record`), or
when a test calls it: a test drives `recorder.page` with Playwright as a person would (`headless=True`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from robots.browser import LAUNCH_ARGS, Target, find_browser
from robots.kit import ConfigurationError, _
from runner.recorder.checking import target_of, unique_target
from runner.recorder.page_script import BINDING, FIND_ELEMENT, PAGE_SCRIPT
from runner.recorder.steps import Action, secret_name

CHECK_TIMEOUT = 10.0
"""Seconds the end of a recording waits for the checks of the last actions."""
LAUNCH_TIMEOUT = 60.0


class Recorder:
    """One recording session on one browser context."""

    def __init__(
        self,
        url: str,
        *,
        headless: bool = False,
        say: Callable[[str], None] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.headless = headless
        self.say = say or (lambda text: None)
        self.settings = settings or {}
        self.page: Any = None
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._log: list[asyncio.Task[Action | None] | tuple[str, str]] = []
        self._pending: set[asyncio.Task[Action | None]] = set()
        self._targets: dict[tuple[str, int], asyncio.Task[Action | None]] = {}
        self._secrets: dict[tuple[str, int], str] = {}
        self._asked: set[Any] = (
            set()
        )  # pages whose next load the page itself asked for (a link, a form, a script)
        self._opened = False
        self._background: set[asyncio.Future[None]] = set()  # tasks kept until done
        self._done = asyncio.Event()
        self.notes: list[str] = []

    # -- starting and stopping -----------------------------------------------------------------------------------

    async def start(self) -> Any:
        """Launch the browser, open `url`, and return the page (for a test to drive)."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        executable = find_browser(self.settings)
        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=str(executable),
                headless=self.headless,
                args=list(LAUNCH_ARGS),
                timeout=LAUNCH_TIMEOUT * 1000,
            )
        except PlaywrightError as exc:
            await self._playwright.stop()
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigurationError(
                _("the browser {path} could not be started: {reason}").format(
                    path=executable, reason=first_line
                ),
                hint=_("a visible browser needs a display: set DISPLAY or run under Xvfb"),
            ) from None
        self._browser.on("disconnected", lambda _browser: self._done.set())
        self._context = await self._browser.new_context(accept_downloads=True, locale="fr-FR")
        self._context.on("page", self._watch)
        self._context.on("close", lambda _context: self._done.set())
        await self._context.expose_binding(BINDING, self._heard)
        await self._context.add_init_script(PAGE_SCRIPT)
        self.page = await self._context.new_page()
        await self._listen_to_requests(self.page)
        self._log.append(self._now(Action("open", self.url, value=self.url)))
        try:
            await self.page.goto(self.url)
        except PlaywrightError as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].removeprefix("Page.goto: ")
            raise ConfigurationError(
                _("the page {url} could not be opened: {reason}").format(url=self.url, reason=reason),
                hint=_(
                    "check the address, and that the site answers (robo intranet starts the training intranet)"
                ),
            ) from None
        self._opened = True
        self._asked.discard(self.page)
        return self.page

    async def closed(self) -> None:
        """Wait until the person closes the browser (or `stop` is called)."""
        await self._done.wait()

    async def stop(self) -> list[Action]:
        """End the recording: wait for the last checks, close the browser, return the actions in order."""
        self._done.set()
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=CHECK_TIMEOUT)
        for task in self._pending:
            task.cancel()
        try:
            if self._browser is not None:
                await self._browser.close()
        except Exception:  # already closed by the person
            pass
        if self._playwright is not None:
            try:
                await self._playwright.stop()
            except Exception:  # its driver was stopped with us (Ctrl+C reaches the whole process group)
                pass
            self._playwright = None
        return self._actions()

    # -- hearing the pages ---------------------------------------------------------------------------------------

    async def _listen_to_requests(self, page: Any) -> None:
        """Hear which loads of `page` the page itself asks for (Chromium's `Page.frameRequestedNavigation`): any
        other load is an address the person typed, recorded as `browser.goto`."""

        def asked(params: dict[str, Any]) -> None:
            if params.get("frameId") == top:
                self._asked.add(page)

        try:
            session = await self._context.new_cdp_session(page)
            top = (await session.send("Page.getFrameTree"))["frameTree"]["frame"]["id"]
            session.on("Page.frameRequestedNavigation", asked)
            await session.send("Page.enable")
        except Exception:  # the page closed at once
            pass

    def _watch(self, page: Any) -> None:
        if page is not self.page:
            listening = asyncio.ensure_future(self._listen_to_requests(page))
            self._background.add(listening)
            listening.add_done_callback(self._background.discard)

        def navigated(frame: Any) -> None:
            if frame != page.main_frame or not self._opened or frame.url == "about:blank":
                return
            if page not in self._asked:
                self._log.append(self._now(Action("goto", frame.url, value=frame.url)))
            self._asked.discard(page)

        page.on("framenavigated", navigated)
        page.on("dialog", self._dialog)
        page.on("download", lambda download: self._log.append(("download", download.suggested_filename)))
        page.on("close", lambda _page: self._done.set() if not self._context.pages else None)

    def _dialog(self, dialog: Any) -> None:
        # The page waits for an answer: OK, as the recorded step will give it (accept_dialog).
        self._log.append(("dialog", str(dialog.message)))
        answer = asyncio.ensure_future(self._answer(dialog))
        self._background.add(answer)
        answer.add_done_callback(self._background.discard)

    @staticmethod
    async def _answer(dialog: Any) -> None:
        try:
            await dialog.accept()
        except Exception:  # the page is already gone
            pass

    def _heard(self, source: dict[str, Any], payload: str) -> None:
        """A report of the page script (synchronous, so the log keeps the order in which they were made)."""
        try:
            data = json.loads(payload)
        except (TypeError, ValueError):
            return
        if not isinstance(data, dict):
            return
        frame = source["frame"]
        key = (str(data.get("page")), int(data.get("element") or 0))
        earlier = self._targets.get(key) if data.get("action") == "type" else None
        task = asyncio.ensure_future(self._resolve(frame, frame.url, data, key, earlier))
        if data.get("action") == "type":
            self._targets.setdefault(key, task)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        self._log.append(task)

    async def _resolve(
        self,
        frame: Any,
        page: str,
        data: dict[str, Any],
        key: tuple[str, int],
        earlier: asyncio.Task[Action | None] | None,
    ) -> Action | None:
        target: Target | None = None
        if earlier is not None:
            previous = await asyncio.shield(earlier)
            target = previous.target if previous is not None else None
        if target is None:
            target = await self._check(frame, data)
        if target is None:
            self.notes.append(_("an action on an element with no name or selector was left out"))
            return None
        field = f"{key[0]}:{key[1]}"
        action = str(data.get("action"))
        if action == "type":
            if data.get("secret"):
                name = self._secrets.get(key)
                if name is None:
                    name = secret_name(target.named or "", set(self._secrets.values()))
                    self._secrets[key] = name
                return Action("secret", page, target, secret=name, field=field)
            return Action("fill", page, target, value=str(data.get("value", "")), field=field)
        if action == "select":
            options = [str(o) for o in data.get("options", [])]
            return Action(
                "select", page, target, value=options if data.get("multiple") else options[:1] or [""]
            )
        if action == "check":
            return Action("check", page, target, value=bool(data.get("checked")))
        if action == "choose":
            if target.kind == "label":
                return Action(
                    "choose",
                    page,
                    target,
                    value=target.value,
                    group=str(data.get("group") or "") or None,
                    field=field,
                )
            return Action("check", page, target, value=True)
        if action == "upload":
            files = [str(f) for f in data.get("files", [])]
            self.notes.extend(
                _("put '{file}' beside the workflow: a page gives only a file's name, not its folder").format(
                    file=name
                )
                for name in files
            )
            return Action("upload", page, target, value=files) if files else None
        if action == "press":
            return Action("press", page, target)
        if action == "click":
            return Action("click", page, target)
        return None

    async def _check(self, frame: Any, data: dict[str, Any]) -> Target | None:
        candidates = [c for c in data.get("candidates", []) if isinstance(c, list) and len(c) == 3]
        element = None
        try:
            element = await frame.evaluate_handle(
                FIND_ELEMENT, {"page": str(data.get("page")), "id": int(data.get("element") or 0)}
            )
            found = await unique_target(frame, element, candidates)
        except Exception:  # the page is gone: the page script's counts decide
            found = next((target_of(str(k), str(v)) for k, v, n in candidates if int(n) == 1), None)
        finally:
            if element is not None:
                try:
                    await element.dispose()
                except Exception:
                    pass
        if found is None and candidates:
            kind, value, _count = candidates[-1]  # CSS: the element's place in the page, the last resort
            self.notes.append(
                _("no locator names the element '{css}' alone: check the step that uses it").format(css=value)
            )
            found = target_of(str(kind), str(value))
        return found

    # -- the actions, in order -----------------------------------------------------------------------------------

    @staticmethod
    def _now(action: Action) -> asyncio.Task[Action | None]:
        async def ready() -> Action | None:
            return action

        return asyncio.ensure_future(ready())

    def _actions(self) -> list[Action]:
        actions: list[Action] = []
        for entry in self._log:
            if isinstance(entry, tuple):
                what, detail = entry
                last = next((a for a in reversed(actions) if a.kind in ("click", "press")), None)
                if last is not None and last.kind == "click":
                    last.kind = "download" if what == "download" else "accept_dialog"
                    last.message = detail
                continue
            if not entry.done() or entry.cancelled():
                self.notes.append(_("an action whose element could not be checked in time was left out"))
                continue
            if entry.exception() is not None:
                self.notes.append(
                    _("an action could not be recorded: {reason}").format(reason=entry.exception())
                )
                continue
            action = entry.result()
            if action is None:
                continue
            previous = actions[-1] if actions else None
            if (
                previous is not None
                and action.kind in ("fill", "secret", "choose")
                and previous.kind == action.kind
                and previous.field == action.field
            ):
                # Consecutive keystrokes in one field: one fill, the last value (a radio's click and change: one).
                previous.value = action.value
                continue
            actions.append(action)
        return actions
