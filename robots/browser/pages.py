"""Browser actions around the page rather than on it: screenshots, dialog boxes, tabs, frames, saved sessions."""

from __future__ import annotations

import asyncio
from typing import Any

from robots.browser.finding import Finding
from robots.browser.locators import Target
from robots.browser.session import MARGIN
from robots.kit import ApplicationError, ConfinedPath, Seconds, _, action, atomic_path


class PageActions(Finding):
    """Screenshots, dialogs, tabs, frames and sessions (mixed into the browser robot)."""

    @action
    def screenshot(
        self, file: str | None = None, target: Target | None = None, full_page: bool = True
    ) -> str:
        """Save a picture of the page (or of one element) to the run's artifacts; passwords and secrets are masked.

        Args:
            file: The picture's file name in the artifacts, e.g. "confirmation.png".
            target: Only this element.
            full_page: The whole page, not only the visible part.

        Returns:
            The picture's path.
        """
        path = self.context.artifact_path(file or "screenshot.png")

        async def work(scope: Any) -> str:
            if target is not None:
                await self._screenshot(await self._find(target, scope, None), path=str(path))
            else:
                await self._screenshot(self._page, path=str(path), full_page=full_page)
            self.context.record_artifact(
                path, "screenshot", _("screenshot of {url}").format(url=self._page.url)
            )
            return str(path)

        return self._run(_("taking a screenshot"), work, target=target)

    # -- dialogs, tabs, frames, sessions -------------------------------------------------------------------------

    def _dialog(
        self, accept: bool, target: Target | None, prompt_text: str | None, timeout: float | None
    ) -> str | None:
        async def work(scope: Any) -> str | None:
            seen: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            async def answer(dialog: Any) -> None:
                if not seen.done():
                    seen.set_result(str(dialog.message))
                if not accept:
                    await dialog.dismiss()
                elif prompt_text is not None:
                    await dialog.accept(prompt_text)
                else:
                    await dialog.accept()

            # A listener replaces Playwright's automatic dismissal: it must answer, or the page would hang.
            self._page.once("dialog", answer)
            if target is None:
                return None
            await (await self._find(target, scope, timeout)).click(timeout=self._ms(timeout))
            message = await asyncio.wait_for(seen, timeout=(timeout or self.default_timeout))
            await self._page.wait_for_load_state("load", timeout=self._ms(timeout))
            return message

        doing = _("accepting a dialog") if accept else _("dismissing a dialog")
        return self._run(doing, work, target=target, timeout=timeout)

    @action(side_effects=True)
    def accept_dialog(
        self, target: Target | None = None, prompt_text: str | None = None, timeout: Seconds | None = None
    ) -> str | None:
        """Answer OK to a confirmation or alert box: the one opened by clicking `target`, or the next one.

        Args:
            target: The element whose click opens the box; without it, the next box that opens is accepted.
            prompt_text: The text to type when the box asks for one.
            timeout: Seconds to wait for the box.

        Returns:
            The box's message (when `target` is given).
        """
        return self._dialog(True, target, prompt_text, timeout)

    @action  # cancels: a dialog dismissed confirms nothing
    def dismiss_dialog(self, target: Target | None = None, timeout: Seconds | None = None) -> str | None:
        """Answer Cancel to a confirmation box: the one opened by clicking `target`, or the next one.

        Args:
            target: The element whose click opens the box; without it, the next box that opens is dismissed.
            timeout: Seconds to wait for the box.

        Returns:
            The box's message (when `target` is given).
        """
        return self._dialog(False, target, None, timeout)

    @action
    def switch_tab(
        self, index: int | None = None, title: str | None = None, url: str | None = None
    ) -> dict[str, Any]:
        """Work in another tab: by position (0 first, -1 last), or the first whose title or address contains a text.

        Args:
            index: The tab's position.
            title: A part of the tab's title.
            url: A part of the tab's address.

        Returns:
            The tab's url and title.
        """

        async def find() -> Any:
            pages = self._context.pages
            if index is not None:
                return pages[index] if -len(pages) <= index < len(pages) else None
            for candidate in pages:
                if (title and title in await candidate.title()) or (url and url in candidate.url):
                    return candidate
            return None

        async def work(scope: Any) -> dict[str, Any]:
            deadline = asyncio.get_running_loop().time() + self.default_timeout
            chosen = await find()
            while chosen is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)  # a tab opened by a script may still be on its way
                chosen = await find()
            if chosen is None:
                names = [f"{n}: {await p.title()} ({p.url})" for n, p in enumerate(self._context.pages)]
                raise ApplicationError(_("no such tab; open tabs are {tabs}").format(tabs="; ".join(names)))
            if chosen is not self._page:
                self._page = chosen
                self._watch(chosen)
            self._frame = None
            await chosen.bring_to_front()
            await chosen.wait_for_load_state("load")
            return {"url": chosen.url, "title": await chosen.title()}

        return self._run(_("switching tab"), work)

    @action
    def in_frame(self, frame: str | None = None) -> None:
        """Make the next steps act inside a frame (an iframe, by CSS selector), or back on the page when empty.

        Args:
            frame: The frame's CSS selector, e.g. "iframe#contenu"; nothing to go back to the page itself.
        """

        async def work(scope: Any) -> None:
            self._frame = self._page.frame_locator(frame) if frame else None
            self._frame_css = frame or None

        self._run(_("switching frame"), work)

    @action(side_effects=True, idempotent=True)
    def save_session(self, path: ConfinedPath) -> str:
        """Save the cookies and storage of the session (so a later run need not log in); readable only by you.

        Args:
            path: The file to write, e.g. "session-intranet.json".

        Returns:
            The file's absolute path.
        """
        destination = self.context.resolve_path(path)

        async def work(scope: Any) -> str:
            with atomic_path(destination, private=True) as temporary:  # cookies: for its owner only
                await self._context.storage_state(path=temporary)
            return str(destination)

        return self._run(_("saving the session"), work)

    @action
    def load_session(self, path: str) -> bool:
        """Start a fresh browser context with a saved session's cookies and storage.

        Args:
            path: The file written by save_session.

        Returns:
            true when a session was loaded, false when the file does not exist yet (first run).
        """
        source = self.context.resolve_path(path)
        if not source.is_file():
            return False
        host = self._ensure_host()

        async def reopen() -> None:
            if self._context is not None:
                await self._context.close()
            self._context = self._page = self._frame = None
            await self._ensure_page(storage_state=str(source))

        host.call(reopen(), self.default_timeout + MARGIN)
        return True

    @action(name="close")
    def close_browser(self) -> None:
        """Close this lane's browser context (the next browser step opens a fresh one)."""
        self.close()
