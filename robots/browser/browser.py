"""The browser robot: data entry and reading on intranet web apps, with Playwright and Chromium.

Elements are named the way a person sees them (a field's label, a button's text, a role), see `Target`. When an
element is not there, the error names what was looked for, the page, and the closest names the page has; a
screenshot (password fields and whatever shows a secret masked), the page's HTML and a Playwright trace are saved to
the run's artifacts.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from robots.browser.failures import explain, page_place
from robots.browser.forms import FILL_FORM_SCRIPT, form_value
from robots.browser.locators import Target, closest_candidates, normalise, tolerant_pattern
from robots.browser.pages import BrowserPageActions
from robots.browser.session import ErrorWhen
from robots.kit import (
    ApplicationError,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    Seconds,
    WorkflowBug,
    action,
    atomic_path,
)


def _regular_expression(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


UrlPattern = Annotated[str, AfterValidator(_regular_expression)]
# A regular expression searched in an address; its named groups are the values read.

_OPENS_NEW_TAB = (
    "(e) => { const owner = e.closest('a[href], form'); return !!owner && owner.target === '_blank'; }"
)


class Browser(BrowserPageActions):
    """Pilot a web browser (Playwright + Chromium): fill forms, click, read pages and tables, up/download files."""

    name = "browser"
    reads_its_own_changes = True

    # -- navigation ----------------------------------------------------------------------------------------------

    @action
    def open(
        self, url: str | None = None, new_tab: bool = False, timeout: Seconds | None = None
    ) -> dict[str, Any]:
        """Start the browser (or reuse it) and optionally go to a page.

        Args:
            url: The address to open, e.g. "http://intranet.local/connexion".
            new_tab: Open the page in a new tab instead of the current one.
            timeout: Seconds to wait for the page to load.

        Returns:
            The page's url and title.
        """

        async def work(scope: Any) -> dict[str, Any]:
            if new_tab:
                self._page = await self._context.new_page()
                self._watch(self._page)
                self._frame = None
            if url:
                await self._goto(url, "load", timeout)
            return {"url": self._page.url, "title": await self._page.title()}

        return self._run(f"opening {url or 'the browser'}", work, timeout=timeout)

    async def _goto(self, url: str, wait_until: str, timeout: float | None) -> Any:
        response = await self._page.goto(
            self._resolve_url(url), wait_until=wait_until, timeout=self._ms(timeout)
        )
        self._last_status = response.status if response is not None else None
        await self._check_status(f"opening {url}")
        await self._check_loaded(self._page, f"opening {url}")
        return response

    @action
    def goto(
        self,
        url: str,
        wait_until: Literal["load", "domcontentloaded", "networkidle"] = "load",
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Go to a page, by its full address or one relative to the current page.

        Args:
            url: The address, e.g. "/dossiers/nouveau".
            wait_until: What "loaded" means: the load event, the DOM only, or no network activity for 0.5 s.
            timeout: Seconds to wait for the page.

        Returns:
            The page's url, title and HTTP status.
        """

        async def work(scope: Any) -> dict[str, Any]:
            self._frame = None
            response = await self._goto(url, wait_until, timeout)
            status = response.status if response is not None else None
            return {"url": self._page.url, "title": await self._page.title(), "status": status}

        return self._run(f"opening {url}", work, timeout=timeout)

    # -- acting on elements --------------------------------------------------------------------------------------

    @action(side_effects=True)
    def click(self, target: Target, error_when: ErrorWhen = None, timeout: Seconds | None = None) -> None:
        """Click an element (a button, a link, a checkbox…), then wait for the page to settle.

        Args:
            target: The element to click.
            error_when: A text (or a target such as {css: ".erreur"}) whose presence after the click means the
                page refused the data: the step then fails with a business error carrying the page's message.
            timeout: Seconds to wait for the element and the page.
        """

        async def work(scope: Any) -> None:
            element = await self._find(target, scope, timeout)
            opens_tab = await element.evaluate(_OPENS_NEW_TAB, timeout=self._ms(timeout))
            if opens_tab:
                # The new tab exists once the step ends, so that switch_tab finds it.
                async with self._context.expect_page(timeout=self._ms(timeout)) as info:
                    await element.click(timeout=self._ms(timeout))
                await (await info.value).wait_for_load_state("load", timeout=self._ms(timeout))
                return
            await self._watch_refusal(scope)
            await element.click(timeout=self._ms(timeout))
            await self._after_submit(self._page, f"clicking {target.describe()}", error_when, timeout)

        self._run(f"clicking {target.describe()}", work, target=target, timeout=timeout)

    @action  # fills the page only: nothing leaves it until a click or a key submits it
    def fill(self, target: Target, value: str | int | float, timeout: Seconds | None = None) -> None:
        """Type a value into a field, replacing what it held.

        Args:
            target: The field, usually by its label.
            value: The text to type.
            timeout: Seconds to wait for the field.
        """

        async def work(scope: Any) -> None:
            field = await self._find(target, scope, timeout)
            await field.fill(str(form_value(value)), timeout=self._ms(timeout))

        self._run(f"filling {target.describe()}", work, target=target, timeout=timeout)

    @action
    def select(self, target: Target, option: str | list[str], timeout: Seconds | None = None) -> list[str]:
        """Choose an option (or several) in a drop-down list, by the option's visible text or its value.

        Args:
            target: The list, usually by its label.
            option: The option's text or value, or a list of them for a multiple choice list.
            timeout: Seconds to wait for the list.

        Returns:
            The values now selected.
        """

        async def work(scope: Any) -> list[str]:
            locator = await self._find(target, scope, timeout)
            wanted = option if isinstance(option, list) else [option]
            shown = await locator.locator("option").evaluate_all(
                "(os) => os.map((o) => [o.textContent, o.value])"
            )
            by_text = {normalise(str(text)).casefold(): str(value) for text, value in shown}
            chosen = [by_text.get(normalise(w).casefold()) for w in wanted]
            if shown and all(
                value is not None for value in chosen
            ):  # as a person reads them (see `normalise`)
                return list(await locator.select_option(value=chosen, timeout=self._ms(timeout)))
            try:
                return list(await locator.select_option(label=wanted, timeout=self._ms(timeout)))
            except Exception:
                options = await locator.locator("option").all_inner_texts()
                if not any(w in options for w in wanted):
                    values = await locator.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
                    if not any(w in values for w in wanted):
                        close = closest_candidates(wanted[0], [o.strip() for o in options])
                        raise BusinessError(
                            f"{target.describe()} has no option '{wanted[0]}'",
                            hint=f"did you mean '{close[0]}'?" if close else "options: " + ", ".join(options),
                        ) from None
                return list(await locator.select_option(value=wanted, timeout=self._ms(timeout)))

        return self._run(f"choosing in {target.describe()}", work, target=target, timeout=timeout)

    @action
    def check(self, target: Target, timeout: Seconds | None = None) -> None:
        """Tick a checkbox (nothing changes if it is already ticked).

        Args:
            target: The checkbox, usually by its label.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await (await self._find(target, scope, timeout)).check(timeout=self._ms(timeout))

        self._run(f"ticking {target.describe()}", work, target=target, timeout=timeout)

    @action
    def uncheck(self, target: Target, timeout: Seconds | None = None) -> None:
        """Untick a checkbox (nothing changes if it is not ticked).

        Args:
            target: The checkbox, usually by its label.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await (await self._find(target, scope, timeout)).uncheck(timeout=self._ms(timeout))

        self._run(f"unticking {target.describe()}", work, target=target, timeout=timeout)

    @action
    def choose(self, option: str, group: str | None = None, timeout: Seconds | None = None) -> None:
        """Pick a radio button by its label, e.g. "Urgente", optionally within a group, e.g. "Priorité".

        Args:
            option: The label of the choice.
            group: The group's title (a fieldset's legend), when the same choice exists in several groups.
            timeout: Seconds to wait for the choice.
        """
        target = Target(label=option, exact=True)

        async def work(scope: Any) -> None:
            place = scope.get_by_role("group", name=tolerant_pattern(group, False)) if group else scope
            await (await self._find(target, place, timeout)).check(timeout=self._ms(timeout))

        self._run(f"choosing '{option}'", work, target=target, timeout=timeout)

    @action(side_effects=True)
    def fill_form(
        self,
        fields: dict[str, Any],
        submit: str | None = None,
        error_when: ErrorWhen = None,
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Fill a whole form at once: each field found by its label and filled the way its kind needs.

        Text fields, text areas and dates get the value typed; drop-down lists the option with that text;
        radio groups (by the group's title) the choice with that label; checkboxes are ticked for true/oui;
        file fields get the file at that path. Every field fires the events the page listens to.

        Args:
            fields: Field labels and their values, e.g. {"Nom du demandeur": "{{ row.nom }}", "Priorité": Urgente}.
            submit: The text of the button to click once the form is filled, e.g. "Enregistrer".
            error_when: After submitting, a text (or a target such as {css: ".erreur"}) whose presence means the
                page refused the data: the step then fails with a business error carrying the page's message.
            timeout: Seconds to wait for the form and, after submitting, for the next page.

        Returns:
            The page's url and title after filling (and submitting).
        """
        first = next(iter(fields), None)
        anchor = Target(label=first) if first else None

        async def work(scope: Any) -> dict[str, Any]:
            items = [[label, form_value(value)] for label, value in fields.items()]

            async def fill() -> dict[str, Any]:
                # Filling again what a first pass filled changes nothing: the same values are set.
                return dict(
                    await (scope.locator(":root") if self._frame else scope).evaluate(FILL_FORM_SCRIPT, items)
                )

            outcome, settled, _ = await self._look(timeout, fill, lambda seen: not seen["missing"])
            if outcome["missing"]:
                await self._report_missing_labels(scope, outcome["missing"], settled)
            if outcome["problems"]:
                name, problem, choices = outcome["problems"][0]
                close = closest_candidates(str(fields[name]), choices) if choices else []
                raise BusinessError(
                    f"the field '{name}' {problem}",
                    hint=f"did you mean '{close[0]}'?"
                    if close
                    else ("choices: " + ", ".join(choices) if choices else None),
                )
            for label in outcome["files"]:
                self.context.refuse_outside("browser.fill_form", f"fields.{label}", str(fields[label]))
                path = self.context.resolve_path(str(fields[label]))
                if not path.is_file():
                    raise ConfigurationError(f"the file to upload in '{label}' does not exist: {path}")
                await (
                    Target(label=label, exact=True)
                    .locate(scope)
                    .set_input_files(str(path), timeout=self._ms(timeout))
                )
            if submit:
                button = Target(role="button", name=submit)
                await self._watch_refusal(scope)
                element = await self._find(button, scope, timeout)
                try:
                    await element.click(timeout=self._ms(timeout))
                except Exception as exc:  # the button's failure, not the first field's (the step's target)
                    doing = f"clicking {button.describe()}"
                    raise await explain(
                        exc, self._page, button, doing, timeout or self.default_timeout
                    ) from None
                await self._after_submit(
                    self._page, f"submitting the form with '{submit}'", error_when, timeout
                )
            return {"url": self._page.url, "title": await self._page.title()}

        return self._run("filling the form", work, target=anchor, timeout=timeout)

    async def _report_missing_labels(self, scope: Any, missing: list[str], settled: bool) -> None:
        from robots.browser.locators import CANDIDATES_SCRIPT

        candidates = [str(c) for c in await self._page.evaluate(CANDIDATES_SCRIPT, "label")]
        hints = []
        for label in missing:
            close = closest_candidates(label, candidates, limit=1)
            if close:
                hints.append(f"'{label}': did you mean '{close[0]}'?")
        place = await page_place(self._page)
        names = ", ".join(f"'{m}'" for m in missing)
        hint = "; ".join(hints) or "the form's labels are: " + ", ".join(f"'{c}'" for c in candidates[:15])
        if settled:  # the page had finished loading: every item would meet it (see ABSENT_AFTER)
            title = await self._page.title()
            raise WorkflowBug(
                f"no field labelled {names} on the page '{title}': {hint}",
                hint=f"{hint}; write the labels as the page shows them (quotes, spaces, case, a trailing ':' and "
                "a '*' do not matter)",
                cause=[f"on {self._page.url}"],
            )
        raise ApplicationError(f"no field labelled {names} on {place}", hint=hint)

    @action(side_effects=True)
    def upload(
        self, target: Target, files: ConfinedPath | list[ConfinedPath], timeout: Seconds | None = None
    ) -> list[str]:
        """Put one or more files into a file field.

        Args:
            target: The file field, usually by its label, e.g. "Pièce jointe".
            files: The file's path (relative to the workflow's folder), or a list of paths.
            timeout: Seconds to wait for the field.

        Returns:
            The absolute paths uploaded.
        """
        paths = [self.context.resolve_path(f) for f in ([files] if isinstance(files, str) else files)]
        for path in paths:
            if not path.is_file():
                raise ConfigurationError(f"the file to upload does not exist: {path}")

        async def work(scope: Any) -> list[str]:
            field = await self._find(target, scope, timeout)
            await field.set_input_files([str(p) for p in paths], timeout=self._ms(timeout))
            return [str(p) for p in paths]

        return self._run(f"uploading into {target.describe()}", work, target=target, timeout=timeout)

    @action(side_effects=True)
    def download(
        self, target: Target, to: ConfinedPath | None = None, timeout: Seconds = 60
    ) -> dict[str, Any]:
        """Click a link or button that downloads a file, and save the file.

        Args:
            target: The link or button, e.g. {text: "Télécharger"}.
            to: Where to save it (a file path, or a folder ending with "/"); by default the run's artifacts.
            timeout: Seconds to wait for the download to finish.

        Returns:
            The saved file's path, name, size in bytes and SHA-256.
        """

        async def work(scope: Any) -> dict[str, Any]:
            from playwright.async_api import TimeoutError as PlaywrightTimeoutError

            element = await self._find(target, scope, timeout)
            await element.wait_for(state="visible", timeout=self._ms(timeout))
            try:
                async with self._page.expect_download(timeout=self._ms(timeout)) as info:
                    await element.click(timeout=self._ms(timeout))
                download = await info.value
            except PlaywrightTimeoutError:
                raise ApplicationError(
                    f"clicking {target.describe()} started no download within {timeout:g} s",
                    hint="is it the right link? a link that opens a page is read with goto or read_text",
                ) from None
            name = download.suggested_filename or "download"
            if to is None:
                destination = self.context.artifact_path(name)
            else:
                destination = self.context.resolve_path(to)
                if to.endswith(("/", os.sep)) or destination.is_dir():
                    destination = destination / name
            with atomic_path(destination) as temporary:
                await download.save_as(temporary)
            data = destination.read_bytes()
            self.context.record_artifact(destination, "download", f"downloaded from {self._page.url}")
            return {
                "path": str(destination),
                "name": name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }

        return self._run(f"downloading with {target.describe()}", work, target=target, timeout=timeout)

    @action(side_effects=True)
    def press(
        self,
        key: str,
        target: Target | None = None,
        error_when: ErrorWhen = None,
        timeout: Seconds | None = None,
    ) -> None:
        """Press a key or a combination, e.g. "Enter", "Tab", "Control+A", in a field or on the page.

        Args:
            key: The key, as Playwright names it: "Enter", "Escape", "ArrowDown", "Control+A"…
            target: The element to press it in (the page when not given).
            error_when: After the key press, a text or target whose presence means the data was refused.
            timeout: Seconds to wait for the element and the page.
        """

        async def work(scope: Any) -> None:
            await self._watch_refusal(scope)
            if target is None:
                await self._page.keyboard.press(key)
            else:
                await (await self._find(target, scope, timeout)).press(key, timeout=self._ms(timeout))
            if key.lower().endswith("enter") or error_when is not None:
                await self._after_submit(self._page, f"pressing {key}", error_when, timeout)

        self._run(f"pressing {key}", work, target=target, timeout=timeout)

    @action
    def hover(self, target: Target, timeout: Seconds | None = None) -> None:
        """Move the mouse over an element (to open a menu, show a tooltip).

        Args:
            target: The element.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await (await self._find(target, scope, timeout)).hover(timeout=self._ms(timeout))

        self._run(f"hovering {target.describe()}", work, target=target, timeout=timeout)

    # -- waiting and reading -------------------------------------------------------------------------------------

    @action
    def wait_for(
        self,
        target: Target | None = None,
        url: str | None = None,
        state: Literal["visible", "hidden", "attached", "detached"] = "visible",
        network_idle: bool = False,
        timeout: Seconds | None = None,
    ) -> None:
        """Wait until an element appears (or disappears), the address contains a text, or the network is quiet.

        Args:
            target: The element to wait for.
            url: A part of the address to wait for, e.g. "/confirmation".
            state: For an element: visible, hidden, attached (in the page) or detached (removed).
            network_idle: Wait until the page has made no request for half a second.
            timeout: Seconds to wait at most.
        """
        if target is None and url is None and not network_idle:
            raise ConfigurationError("browser.wait_for needs an element, a url or network_idle: true")

        async def work(scope: Any) -> None:
            if target is not None:
                await target.locate(scope).wait_for(state=state, timeout=self._ms(timeout))
            if url is not None:
                await self._page.wait_for_url(lambda address: url in address, timeout=self._ms(timeout))
            if network_idle:
                await self._page.wait_for_load_state("networkidle", timeout=self._ms(timeout))

        self._run(
            f"waiting for {target.describe() if target else url or 'the network'}",
            work,
            target=target,
            timeout=timeout,
        )

    @action
    def read_text(self, target: Target, timeout: Seconds | None = None) -> str:
        """Read the visible text of an element.

        Args:
            target: The element, e.g. {css: "#numero-dossier"}.
            timeout: Seconds to wait for it.

        Returns:
            The text, with surrounding spaces removed.
        """

        async def work(scope: Any) -> str:
            element = await self._find(target, scope, timeout)
            return str(await element.inner_text(timeout=self._ms(timeout))).strip()

        return self._run(f"reading {target.describe()}", work, target=target, timeout=timeout)

    @action
    def read_value(self, target: Target, timeout: Seconds | None = None) -> str:
        """Read the current value of a field.

        Args:
            target: The field, usually by its label.
            timeout: Seconds to wait for it.

        Returns:
            The field's value.
        """

        async def work(scope: Any) -> str:
            return str(
                await (await self._find(target, scope, timeout)).input_value(timeout=self._ms(timeout))
            )

        return self._run(f"reading {target.describe()}", work, target=target, timeout=timeout)

    @action
    def read_attribute(self, target: Target, attribute: str, timeout: Seconds | None = None) -> str | None:
        """Read an attribute of an element, e.g. a link's "href".

        Args:
            target: The element.
            attribute: The attribute's name.
            timeout: Seconds to wait for the element.

        Returns:
            The attribute's value, or null when the element has none.
        """

        async def work(scope: Any) -> str | None:
            element = await self._find(target, scope, timeout)
            value = await element.get_attribute(attribute, timeout=self._ms(timeout))
            return None if value is None else str(value)

        return self._run(f"reading {attribute} of {target.describe()}", work, target=target, timeout=timeout)

    @action
    def read_table(
        self,
        target: Target | None = None,
        next_page: str | None = None,
        max_pages: int = 100,
        timeout: Seconds | None = None,
    ) -> list[dict[str, Any]]:
        """Read an HTML table into records keyed by its header, following "next page" links when asked.

        Args:
            target: The table (the first table of the page when not given).
            next_page: The text of the link to the next page, e.g. "Suivant"; reading stops when it is gone.
            max_pages: The most pages to read, as a safety net.
            timeout: Seconds to wait for the table on each page.

        Returns:
            One record per row; cells are text, empty cells null.
        """
        table = target or Target(css="table")

        async def work(scope: Any) -> list[dict[str, Any]]:
            from robots.browser.tables import READ_TABLE_SCRIPT

            records: list[dict[str, Any]] = []
            seen: set[str] = set()
            for _ in range(max_pages):
                locator = await self._find(table, scope, timeout)
                await locator.wait_for(state="visible", timeout=self._ms(timeout))
                page_rows = await locator.evaluate(READ_TABLE_SCRIPT)
                records.extend(page_rows)
                if not next_page:
                    break
                link = scope.get_by_role("link", name=next_page, exact=True)
                if await link.count() == 0 or not await link.first.is_visible():
                    break
                href = await link.first.get_attribute("href")
                if href in seen:
                    break
                seen.add(href or "")
                await link.first.click(timeout=self._ms(timeout))
                await self._page.wait_for_load_state("load", timeout=self._ms(timeout))
                await self._check_status("opening the next page")
            return records

        return self._run(f"reading {table.describe()}", work, target=table, timeout=timeout)

    @action
    def exists(self, target: Target, timeout: float = 0) -> bool:
        """Tell whether an element is on the page (for `when:` conditions); never fails.

        Args:
            target: The element.
            timeout: Seconds to wait for it to appear (0: look once, now).

        Returns:
            true when the element is visible, false otherwise.
        """

        async def work(scope: Any) -> bool:
            if target.named is not None:
                clock = asyncio.get_running_loop().time
                deadline = clock() + timeout
                while True:
                    if any(m.visible for m in target.choose((await target.matches(scope))[1])):
                        return True
                    if clock() >= deadline:
                        return False
                    await asyncio.sleep(0.1)
            locator = target.locate(scope)
            if timeout:
                try:
                    await locator.wait_for(state="visible", timeout=timeout * 1000)
                except Exception:
                    return False
                return True
            return bool(await locator.count() and await locator.is_visible())

        return self._run(f"looking for {target.describe()}", work, timeout=max(timeout, 1))

    @action
    def assert_text(
        self, expected: str, target: Target | None = None, timeout: Seconds | None = None
    ) -> None:
        """Check that a text is shown (on the page, or in an element); a business error when it is not.

        Args:
            expected: The text that must be shown, e.g. "Dossier enregistré".
            target: The element that must contain it (the whole page when not given).
            timeout: Seconds to wait for the text.
        """

        async def work(scope: Any) -> None:
            place = await self._find(target, scope, timeout) if target is not None else scope
            try:
                await place.get_by_text(expected).first.wait_for(state="visible", timeout=self._ms(timeout))
            except Exception:
                where = await page_place(self._page)
                raise BusinessError(f"the text '{expected}' is not shown on {where}") from None

        self._run(f"checking the text '{expected}'", work, target=target, timeout=timeout)

    # -- what the application answered ---------------------------------------------------------------------------

    @action
    def read_message(self, timeout: Seconds | None = None) -> dict[str, Any]:
        """Read the message the application shows after an action, without any CSS selector.

        The banners (role status or alert, the usual message lists) and the error messages next to fields.

        Args:
            timeout: Seconds to wait for the page to finish loading.

        Returns:
            text (every banner's text, joined), kind (success, error, warning or info; null when no banner),
            messages (each banner as {text, kind}) and fields (each field's error as {field, message}).
        """

        async def work(scope: Any) -> dict[str, Any]:
            from robots.browser.forms import MESSAGE_SCRIPT

            await self._page.wait_for_load_state("load", timeout=self._ms(timeout))
            found = await (scope.locator(":root") if self._frame else scope).evaluate(MESSAGE_SCRIPT)
            messages = [{"text": m["text"], "kind": m["kind"]} for m in found["messages"]]
            fields = [{"field": label, "message": message} for label, message in found["fields"]]
            kinds = {m["kind"] for m in messages}
            kind = next((k for k in ("error", "warning", "success", "info") if k in kinds), None)
            if kind is None and fields:
                kind = "error"
            text = " ".join(dict.fromkeys(m["text"] for m in messages))
            return {"text": text, "kind": kind, "messages": messages, "fields": fields}

        return self._run("reading the page's message", work, timeout=timeout)

    @action
    def read_url(self, pattern: UrlPattern | None = None) -> dict[str, Any]:
        r"""Read the current address and its parts; with a pattern, take values out of it (e.g. a new record's id).

        Args:
            pattern: A regular expression searched in the address, with named groups, e.g.
                "/dossier/(?P<id>\d+)/change/": each group becomes a field of the result.

        Returns:
            url, scheme, host, port, path, query (a mapping of the query's parameters), fragment, and the
            pattern's named groups (a business error when the pattern is given and not found).
        """
        compiled = re.compile(pattern) if pattern is not None else None

        async def work(scope: Any) -> dict[str, Any]:
            from urllib.parse import parse_qsl, urlsplit

            address = str(self._page.url)
            parts = urlsplit(address)
            result: dict[str, Any] = {
                "url": address,
                "scheme": parts.scheme,
                "host": parts.hostname,
                "port": parts.port,
                "path": parts.path,
                "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
                "fragment": parts.fragment,
            }
            if compiled is not None:
                found = compiled.search(address)
                if found is None:
                    raise BusinessError(
                        f"the address {address} does not match the pattern {pattern}",
                        hint="is this the page the previous step should have led to? check the screenshot",
                    )
                result.update(found.groupdict())
            return result

        return self._run("reading the address", work)

    @action
    def read_row(
        self,
        contains: str,
        table: Target | None = None,
        column: str | None = None,
        timeout: Seconds | None = None,
    ) -> dict[str, Any]:
        """Read one row of a result table: the row with a cell whose text is `contains`, keyed by the header.

        Args:
            contains: The text of one of the row's cells, e.g. the record's reference "REF-2024-0042".
            table: The table (the first table holding such a row when not given).
            column: Look for the text in this column only (by its header), e.g. "Référence".
            timeout: Seconds to wait for the row to appear.

        Returns:
            The row as a mapping header → cell text (empty cells null); a business error when no row has it.
        """
        where = table or Target(css="table")

        async def work(scope: Any) -> dict[str, Any]:
            from robots.browser.tables import READ_TABLE_SCRIPT

            wanted = " ".join(contains.split()).casefold()
            deadline = asyncio.get_running_loop().time() + (timeout or self.default_timeout)
            headers: list[str] = []
            while True:
                tables = where.locate_all(scope) if table is None else where.locate(scope)
                for index in range(await tables.count()):
                    rows = await tables.nth(index).evaluate(READ_TABLE_SCRIPT)
                    for row in rows:
                        headers = headers or list(row)
                        cells = [row.get(column)] if column is not None else list(row.values())
                        if any(cell is not None and cell.casefold() == wanted for cell in cells):
                            return dict(row)
                if asyncio.get_running_loop().time() >= deadline:
                    break
                await asyncio.sleep(0.2)  # a result list may still be filling in
            place = await page_place(self._page)
            known = f"; its columns are {', '.join(headers)}" if headers else ""
            raise BusinessError(
                f"no row of {where.describe()} has a cell '{contains}' on {place}",
                hint=(
                    "look in another column, or check the search"
                    if column is None
                    else f"the text was looked for in the column '{column}'"
                )
                + known,
            )

        return self._run(f"reading the row '{contains}'", work, target=table, timeout=timeout)


__all__ = ["Browser", "Target"]
