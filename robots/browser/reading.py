"""Browser actions that wait and read: texts, values, tables, rows, the address and the application's messages."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from robots.browser.failures import page_place
from robots.browser.finding import Finding
from robots.browser.locators import Target
from robots.kit import BusinessError, ConfigurationError, Seconds, _, action


def _regular_expression(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(_("not a valid regular expression: {reason}").format(reason=exc)) from None
    return pattern


UrlPattern = Annotated[str, AfterValidator(_regular_expression)]
# A regular expression searched in an address; its named groups are the values read.


class ReadingActions(Finding):
    """Waiting for the page and reading it (mixed into the browser robot)."""

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
            raise ConfigurationError(_("browser.wait_for needs an element, a url or network_idle: true"))

        async def work(scope: Any) -> None:
            if target is not None:
                await target.locate(scope).wait_for(state=state, timeout=self._ms(timeout))
            if url is not None:
                await self._page.wait_for_url(lambda address: url in address, timeout=self._ms(timeout))
            if network_idle:
                await self._page.wait_for_load_state("networkidle", timeout=self._ms(timeout))

        self._run(
            _("waiting for {what}").format(what=target.describe() if target else url or _("the network")),
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
            return str(
                await self._read(target, scope, timeout, lambda e, ms: e.inner_text(timeout=ms))
            ).strip()

        return self._run(
            _("reading {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

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
            return str(await self._read(target, scope, timeout, lambda e, ms: e.input_value(timeout=ms)))

        return self._run(
            _("reading {target}").format(target=target.describe()), work, target=target, timeout=timeout
        )

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
            value = await self._read(
                target, scope, timeout, lambda e, ms: e.get_attribute(attribute, timeout=ms)
            )
            return None if value is None else str(value)

        return self._run(
            _("reading {attribute} of {target}").format(attribute=attribute, target=target.describe()),
            work,
            target=target,
            timeout=timeout,
        )

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
            for _page_number in range(max_pages):
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
                await self._check_status(_("opening the next page"))
            return records

        return self._run(
            _("reading {target}").format(target=table.describe()), work, target=table, timeout=timeout
        )

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

        return self._run(
            _("looking for {target}").format(target=target.describe()), work, timeout=max(timeout, 1)
        )

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
                raise BusinessError(
                    _("the text '{text}' is not shown on {page}").format(text=expected, page=where)
                ) from None

        self._run(_("checking the text '{text}'").format(text=expected), work, target=target, timeout=timeout)

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

        return self._run(_("reading the page's message"), work, timeout=timeout)

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
                        _("the address {url} does not match the pattern {pattern}").format(
                            url=address, pattern=pattern
                        ),
                        hint=_("is this the page the previous step should have led to? check the screenshot"),
                    )
                result.update(found.groupdict())
            return result

        return self._run(_("reading the address"), work)

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
            known = _("; its columns are {columns}").format(columns=", ".join(headers)) if headers else ""
            raise BusinessError(
                _("no row of {table} has a cell '{text}' on {page}").format(
                    table=where.describe(), text=contains, page=place
                ),
                hint=(
                    _("look in another column, or check the search")
                    if column is None
                    else _("the text was looked for in the column '{column}'").format(column=column)
                )
                + known,
            )

        return self._run(
            _("reading the row '{text}'").format(text=contains), work, target=table, timeout=timeout
        )
