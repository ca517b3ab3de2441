"""The browser robot: data entry and reading on intranet web apps, with Playwright and Chromium.

Elements are named the way a person sees them (a field's label, a button's text, a role), see `Target`. When an
element is not there, the error names what was looked for, the page, and the closest names the page has; a
screenshot (password fields and whatever shows a secret masked), the page's HTML and a Playwright trace are saved to
the run's artifacts.

The robot class is here, with its navigation and element actions (click, fill, select, upload, download…); its
other actions are by topic: waiting and reading in `reading.py`, around the page (screenshots, dialogs, tabs,
frames, saved sessions) in `pages.py`; how they find an element is `finding.py`'s `Finding`, and the browser
session they all run in is `session.py`'s `BrowserCore`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any, Literal

from robots.browser.failures import explain, missing_labels
from robots.browser.forms import FILL_FORM_SCRIPT, field_problem, form_value
from robots.browser.locators import Target, closest_candidates, list_options, option_values, tolerant_pattern
from robots.browser.navigation import NewTab, frame_evaluate
from robots.browser.pages import PageActions
from robots.browser.reading import ReadingActions
from robots.browser.session import ErrorWhen
from robots.kit import (
    ApplicationError,
    BusinessError,
    ConfinedPath,
    Seconds,
    _,
    action,
    atomic_path,
    format_number,
)


class Browser(ReadingActions, PageActions):
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
                loaded = await self._goto(url, "load", timeout)
                return {"url": loaded["url"], "title": loaded["title"]}
            return {"url": self._page.url, "title": await self._page.title()}

        return self._run(
            _("opening {url}").format(url=url) if url else _("opening the browser"), work, timeout=timeout
        )

    async def _goto(self, url: str, wait_until: str, timeout: float | None) -> dict[str, Any]:
        """Load a page and check it loaded; its url, title and status."""
        response = await self._page.goto(
            self._resolve_url(url), wait_until=wait_until, timeout=self._ms(timeout)
        )
        status = response.status if response is not None else None
        self._loads.status = status
        await self._check_status(_("opening {url}").format(url=url))
        state = await self._check_loaded(self._page, _("opening {url}").format(url=url))
        return {"url": self._page.url, "title": state["title"], "status": status}

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
            return await self._goto(url, wait_until, timeout)

        return self._run(_("opening {url}").format(url=url), work, timeout=timeout)

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
            element = await self._on_one(target, scope, timeout, self._shown)
            self._before_gesture()
            with NewTab(self._context) as tab:
                await element.click(timeout=self._ms(timeout))
                doing = _("clicking {target}").format(target=target.describe())
                state = await self._after_submit(self._page, doing, error_when, timeout)
                # The new tab exists once the step ends, so that switch_tab finds it.
                if state["opensTab"] and await tab.loaded(self._ms(timeout)) is None:
                    raise ApplicationError(
                        _("no new tab opened after {doing} within {seconds} s").format(
                            doing=doing, seconds=format_number(timeout or self.default_timeout)
                        )
                    )

        self._run(
            _("clicking {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

    @action  # fills the page only: nothing leaves it until a click or a key submits it
    def fill(
        self, target: Target, value: str | int | float | dt.datetime | dt.date, timeout: Seconds | None = None
    ) -> None:
        """Type a value into a field, replacing what it held.

        Args:
            target: The field, usually by its label.
            value: The text to type; a number or a date (as read from a spreadsheet) is typed as a form
                expects it (a date in ISO form, 2026-03-01, which a date field takes).
            timeout: Seconds to wait for the field.
        """

        async def work(scope: Any) -> None:
            typed = str(form_value(value))
            await self._on_one(target, scope, timeout, lambda field, ms: field.fill(typed, timeout=ms))

        self._run(
            _("filling {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

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

        async def listed(element: Any, ms: float) -> tuple[Any, list[Any]]:
            return element, list_options(await element.inner_html(timeout=ms))

        async def work(scope: Any) -> list[str]:
            locator, shown = await self._on_one(target, scope, timeout, listed)
            wanted = option if isinstance(option, list) else [option]
            chosen = option_values(shown, wanted)
            if (
                shown and chosen is not None
            ):  # by text or value at once: no waiting for a label that is a value
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
                            _("{target} has no option '{option}'").format(
                                target=target.describe(), option=wanted[0]
                            ),
                            hint=_("did you mean {name}?").format(name=f"'{close[0]}'")
                            if close
                            else _("options: {options}").format(options=", ".join(options)),
                        ) from None
                return list(await locator.select_option(value=wanted, timeout=self._ms(timeout)))

        return self._run(
            _("choosing in {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

    @action
    def check(self, target: Target, timeout: Seconds | None = None) -> None:
        """Tick a checkbox (nothing changes if it is already ticked).

        Args:
            target: The checkbox, usually by its label.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await self._on_one(target, scope, timeout, lambda box, ms: box.check(timeout=ms))

        self._run(
            _("ticking {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

    @action
    def uncheck(self, target: Target, timeout: Seconds | None = None) -> None:
        """Untick a checkbox (nothing changes if it is not ticked).

        Args:
            target: The checkbox, usually by its label.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await self._on_one(target, scope, timeout, lambda box, ms: box.uncheck(timeout=ms))

        self._run(
            _("unticking {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

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
            await self._on_one(target, place, timeout, lambda choice, ms: choice.check(timeout=ms))

        self._run(_("choosing '{option}'").format(option=option), work, target=target, timeout=timeout)

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
                if self._frame is None:
                    return dict(await scope.evaluate(FILL_FORM_SCRIPT, items))
                filled = await frame_evaluate(self._frame, FILL_FORM_SCRIPT, items)
                if filled is not None:
                    return dict(filled)
                # no such frame (the whole window shows another page): none of the labels is there
                return {"missing": list(fields), "problems": [], "files": [], "filled": 0, "title": ""}

            outcome, settled, waited = await self._look(timeout, fill, lambda seen: not seen["missing"])
            form = ("form", *fields)  # where this form was found before, as a target is (see `Finding`)
            if outcome["missing"]:
                # None of its labels there: another page (a login page); some only: this form lacks them.
                if settled and len(outcome["missing"]) == len(fields):
                    labels = ", ".join(f"'{label}'" for label in outcome["missing"])
                    what = _("the form with the fields labelled {labels}").format(labels=labels)
                    where = await self._where()
                    elsewhere = await self._other_page(form, what, waited, where)
                    missing = elsewhere or await self._missing_frame(form, what, where, waited)
                    if missing is not None:
                        raise missing
                raise await missing_labels(self._page, outcome["missing"], settled, self._frame)
            self._places.found(form, await self._where())
            if outcome["problems"]:
                name, problem, choices = outcome["problems"][0]
                close = closest_candidates(str(fields[name]), choices) if choices else []
                raise BusinessError(
                    field_problem(name, problem),
                    hint=_("did you mean {name}?").format(name=f"'{close[0]}'")
                    if close
                    else (_("choices: {choices}").format(choices=", ".join(choices)) if choices else None),
                )
            for label in outcome["files"]:
                self.context.refuse_outside("browser.fill_form", f"fields.{label}", str(fields[label]))
                path = self.context.input_file(
                    str(fields[label]), _("the file to upload in '{field}'").format(field=label)
                )
                await (
                    Target(label=label, exact=True)
                    .locate(scope)
                    .set_input_files(str(path), timeout=self._ms(timeout))
                )
            if submit:
                button = Target(role="button", name=submit)

                element = await self._on_one(button, scope, timeout, self._shown)
                self._before_gesture()
                try:
                    await element.click(timeout=self._ms(timeout))
                except Exception as exc:  # the button's failure, not the first field's (the step's target)
                    doing = _("clicking {target}").format(target=button.describe())
                    raise await explain(
                        exc, self._page, button, doing, timeout or self.default_timeout, self._frame
                    ) from None
                state = await self._after_submit(
                    self._page,
                    _("submitting the form with '{button}'").format(button=submit),
                    error_when,
                    timeout,
                )
                # The loaded page's own title, as its document noted it (no round trip more).
                return {"url": self._page.url, "title": state["title"]}
            # The form's script read the title (its document's: the page's own when not in a frame).
            title = await self._page.title() if self._frame else outcome["title"]
            return {"url": self._page.url, "title": title}

        return self._run(_("filling the form"), work, target=anchor, timeout=timeout)

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
        paths = [
            self.context.input_file(f, _("the file to upload"))
            for f in ([files] if isinstance(files, str) else files)
        ]

        async def work(scope: Any) -> list[str]:
            field = await self._find(target, scope, timeout)
            await field.set_input_files([str(p) for p in paths], timeout=self._ms(timeout))
            return [str(p) for p in paths]

        return self._run(
            _("uploading into {target}").format(target=target.describe()),
            work,
            target=target,
            timeout=timeout,
        )

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
                    _("clicking {target} started no download within {seconds} s").format(
                        target=target.describe(), seconds=f"{timeout:g}"
                    ),
                    hint=_("is it the right link? a link that opens a page is read with goto or read_text"),
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
            self.context.record_artifact(
                destination, "download", _("downloaded from {url}").format(url=self._page.url)
            )
            return {
                "path": str(destination),
                "name": name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }

        return self._run(
            _("downloading with {target}").format(target=target.describe()),
            work,
            target=target,
            timeout=timeout,
        )

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
            self._before_gesture()
            if target is None:
                await self._page.keyboard.press(key)
            else:
                await (await self._find(target, scope, timeout)).press(key, timeout=self._ms(timeout))
            if key.lower().endswith("enter") or error_when is not None:
                await self._after_submit(self._page, _("pressing {key}").format(key=key), error_when, timeout)

        self._run(_("pressing {key}").format(key=key), work, target=target, timeout=timeout)

    @action
    def hover(self, target: Target, timeout: Seconds | None = None) -> None:
        """Move the mouse over an element (to open a menu, show a tooltip).

        Args:
            target: The element.
            timeout: Seconds to wait for it.
        """

        async def work(scope: Any) -> None:
            await (await self._find(target, scope, timeout)).hover(timeout=self._ms(timeout))

        self._run(
            _("hovering {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )


__all__ = ["Browser", "Target"]
