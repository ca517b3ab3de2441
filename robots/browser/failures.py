"""Turning what goes wrong in a browser into errors a person understands, with the evidence saved."""

from __future__ import annotations

import asyncio
import html
import json
import re
import urllib.parse
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from robots.browser.locators import CANDIDATES_SCRIPT, Match, Target, closest_candidates
from robots.kit import N_, ApplicationError, ConfigurationError, RoboError, WorkflowBug, _, atomic_path

_NETWORK_ERRORS = {
    "ERR_CONNECTION_REFUSED": N_("the connection was refused"),
    "ERR_NAME_NOT_RESOLVED": N_("the server name is unknown"),
    "ERR_CONNECTION_RESET": N_("the connection was cut"),
    "ERR_CONNECTION_TIMED_OUT": N_("the server did not answer"),
    "ERR_ADDRESS_UNREACHABLE": N_("the address cannot be reached"),
    "ERR_INTERNET_DISCONNECTED": N_("there is no network"),
    "ERR_EMPTY_RESPONSE": N_("the server closed the connection without answering"),
}
"""Chromium's network error codes in words (translated with `_()` where shown, see `network_words`)."""


def network_words(code: str) -> str:
    """A Chromium network error code (`ERR_CONNECTION_REFUSED`) in words, in the language shown; "" if unknown."""
    words = _NETWORK_ERRORS.get(code)
    return _(words) if words else ""


def the_page(title: str) -> str:
    """`the page 'Title'` (or `the page` without a title), as messages name a page without its address."""
    return _("the page '{title}'").format(title=title) if title else _("the page")


async def page_place(page: Any) -> str:
    """`the page 'Nouveau dossier — Portail' (http://…)`."""
    try:
        title = await page.title()
    except Exception:
        title = ""
    if title:
        return _("the page '{title}' ({url})").format(title=title, url=page.url)
    return _("the page {url}").format(url=page.url)


async def explain(
    exc: BaseException, page: Any, target: Target | None, doing: str, timeout: float
) -> RoboError:
    """The error to report for an exception raised by Playwright while `doing` something."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    if isinstance(exc, RoboError):
        return exc
    covering = _covering(str(exc)) if isinstance(exc, PlaywrightTimeoutError) else None
    if covering and target is not None and page is not None:
        return ApplicationError(
            _("{target} could not be clicked on {page} within {seconds} s: {covering} covered it").format(
                target=target.describe(),
                page=await page_place(page),
                seconds=f"{timeout:g}",
                covering=covering,
            ),
            hint=_(
                "a popup, menu or overlay the page opened is in front of it: close it first (e.g. click "
                "elsewhere or press Escape), or wait for it to go"
            ),
        )
    if isinstance(exc, PlaywrightTimeoutError) and target is not None and page is not None:
        place = await page_place(page)
        return ApplicationError(
            _("{target} was not found on {page} within {seconds} s").format(
                target=target.describe(), page=place, seconds=f"{timeout:g}"
            ),
            hint=await what_the_page_has(page, target)
            or _("the page may have changed, or not finished loading: check the screenshot in the artifacts"),
        )
    if isinstance(exc, PlaywrightTimeoutError):
        place = await page_place(page) if page is not None else _("the page")
        return ApplicationError(
            _("{doing} did not finish within {seconds} s on {page}").format(
                doing=doing, seconds=f"{timeout:g}", page=place
            )
        )
    if isinstance(exc, PlaywrightError):
        message = str(exc).strip()
        for code in _NETWORK_ERRORS:
            if code in message:
                url = re.search(r"at (\S+)", message)
                words = network_words(code)
                return ApplicationError(
                    _("cannot reach {url}: {reason}").format(url=url.group(1), reason=words)
                    if url
                    else _("cannot reach: {reason}").format(reason=words),
                    hint=_("is the server running? check the address and the port"),
                )
        if "Target page, context or browser has been closed" in message or "Browser closed" in message:
            return ApplicationError(
                _("the browser closed unexpectedly"), hint=_("it will be started again on retry")
            )
        if "Download is starting" in message:  # an address that answers with a file (a PDF, an export)
            return ConfigurationError(
                _("{doing}: the address gives a file to download, not a page").format(doing=doing),
                hint=_("save the file with browser.download (a click on its link) or http.download"),
            )
        if "executable doesn't exist" in message.lower():
            return ConfigurationError(message.splitlines()[0])
        first = message.splitlines()[0] if message else type(exc).__name__
        return ApplicationError(_("{doing} failed: {reason}").format(doing=doing, reason=first))
    return ApplicationError(
        _("{doing} failed unexpectedly: {reason}").format(doing=doing, reason=f"{type(exc).__name__}: {exc}")
    )


def _covering(message: str) -> str | None:
    """The element Playwright's call log says was in front of the one to click (the last one it tried), if any."""
    found = re.findall(r"^\s*-?\s*(.+?) intercepts pointer events", message, re.MULTILINE)
    if not found:
        return None
    element = str(found[-1]).strip()
    return element if len(element) <= 160 else element[:157] + "..."


async def what_the_page_has(page: Any, target: Target) -> str | None:
    """A "did you mean" naming the closest names the page has, or those names, for a target it does not show."""
    try:
        candidates = [str(c) for c in await page.evaluate(CANDIDATES_SCRIPT, target.kind)]
    except Exception:
        candidates = []
    close = closest_candidates(target.named or target.value, candidates)
    if close:
        return _("did you mean {names}?").format(names=_(" or ").join(f"'{c}'" for c in close))
    if candidates and target.kind in ("label", "placeholder", "title", "test_id"):
        return _("the page has: {names}").format(names=", ".join(f"'{c}'" for c in candidates[:12]))
    return None


async def absent_target(page: Any, target: Target, waited: float) -> WorkflowBug:
    """A target missing from a page that has finished loading: the workflow names something the page lacks.

    The message is the same on every item (the page's title, not its address), so that the engine stops the run
    after a few items in a row, and carries the "did you mean" shown live.
    """
    try:
        title = await page.title()
    except Exception:
        title = ""
    where = the_page(title)
    close = await what_the_page_has(page, target)
    advice = _(
        "the page had finished loading: write the name as the page shows it (see the screenshot in the "
        "artifacts); quotes, spaces, case, a trailing ':' and a '*' do not matter"
    )
    return WorkflowBug(
        _("{target} is not on {page}: {suggestion}").format(
            target=target.describe(), page=where, suggestion=close
        )
        if close
        else _("{target} is not on {page}").format(target=target.describe(), page=where),
        hint=f"{close}; {advice}" if close else advice,
        cause=[_("on {url}, after waiting {seconds} s").format(url=page.url, seconds=f"{waited:.1f}")],
    )


async def other_page(page: Any, what: str, before: str, now: str, waited: float) -> ApplicationError:
    """`what`, found at the address `before` by earlier actions, is missing from this loaded page: another page.

    `before` and `now` (where the steps act now) are a page's address, or a frame's when the steps act inside one.

    A failure of the application (an expired session's login page, an error page), worth retrying the item
    after its `recover` steps, not a mistake in the workflow.
    """
    return ApplicationError(
        _(
            "{what} is not on {page}, though earlier actions found it on {before}: the application shows "
            "another page"
        ).format(what=what, page=await page_place(page), before=before),
        hint=_(
            "a session that expired, an error page? The screenshot in the artifacts shows it; steps in "
            "'recover' (logging in again) run before the item is tried again"
        ),
        cause=[_("on {url}, after waiting {seconds} s").format(url=now, seconds=f"{waited:.1f}")],
    )


async def missing_labels(page: Any, missing: list[str], settled: bool) -> RoboError:
    """The error for labels a form lacks, naming the closest labels the page has (or its labels).

    A workflow error on a page that had finished loading (every item would meet it, see `ABSENT_AFTER`), else a
    failure worth retrying.
    """
    candidates = [str(c) for c in await page.evaluate(CANDIDATES_SCRIPT, "label")]
    hints = []
    for label in missing:
        close = closest_candidates(label, candidates, limit=1)
        if close:
            hints.append(_("'{label}': did you mean '{name}'?").format(label=label, name=close[0]))
    names = ", ".join(f"'{m}'" for m in missing)
    hint = "; ".join(hints) or _("the form's labels are: {labels}").format(
        labels=", ".join(f"'{c}'" for c in candidates[:15])
    )
    if settled:
        return WorkflowBug(
            _("no field labelled {labels} on the page '{title}': {hint}").format(
                labels=names, title=await page.title(), hint=hint
            ),
            hint=_(
                "{hint}; write the labels as the page shows them (quotes, spaces, case, a trailing ':' and "
                "a '*' do not matter)"
            ).format(hint=hint),
            cause=[_("on {url}").format(url=page.url)],
        )
    return ApplicationError(
        _("no field labelled {labels} on {page}").format(labels=names, page=await page_place(page)), hint=hint
    )


def ambiguous_target(target: Target, matches: list[Match], title: str) -> WorkflowBug:
    """Several elements match a target equally well: clicking or filling the first one would be a guess."""
    listed = ", ".join(m.describe() for m in matches[:6]) + (", …" if len(matches) > 6 else "")
    return WorkflowBug(
        _("{target} matches {n} elements equally well on {page}: {matches}").format(
            target=target.describe(), n=len(matches), page=the_page(title), matches=listed
        ),
        hint=_(
            "add exact: true (the whole name), within: a CSS selector of the container to look in, "
            "or nth: 0 for the first of them (-1 for the last)"
        ),
    )


def redact_zip(path: Path, redact: Callable[[str], str], target: Path | None = None) -> None:
    """Remove secret values from a Playwright trace, rewriting it (or writing `target`) atomically.

    Playwright records every action's parameters (the value a `fill` typed), DOM snapshots and network bodies,
    and offers no way to leave a value out: so every text member is rewritten, its JSON lines parsed and each
    string masked (a JSON-escaped secret is found once unescaped), HTML bodies through `redact_html`.
    """
    with (
        atomic_path(target or path) as temporary,
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as written,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                written.writestr(entry, data)
                continue
            written.writestr(entry, _redact_document(text, redact).encode("utf-8"))


# -- keeping secrets out of the evidence -------------------------------------------------------------------------

MASK_COLOUR = "#FF00FF"
"""The colour painted over what shows a secret (or a password) in a screenshot."""
_MASK_ATTRIBUTE = "data-robo-mask"
# Both scripts walk the same elements in the same order (open shadow roots included), so that an index found by
# the first names the same element for the second. A page's own texts are read out and compared here, in
# Python: the secrets are never handed to the page's scripts.
_WALK = r"""
const walk = (root, visit) => {
  for (const el of root.querySelectorAll('*')) {
    visit(el);
    if (el.shadowRoot) walk(el.shadowRoot, visit);
  }
};
"""
_SHOWN_TEXTS_SCRIPT = (
    "() => {"
    + _WALK
    + r"""
  const texts = [];
  walk(document, (el) => {
    const parts = [];
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
      parts.push(el.value, el.getAttribute('value') || '', el.placeholder || '');
    } else if (el instanceof HTMLSelectElement) {
      for (const option of el.selectedOptions) parts.push(option.value, option.text);
    }
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) parts.push(el.innerText);
    for (const node of el.childNodes) if (node.nodeType === Node.TEXT_NODE) parts.push(node.data);
    const text = parts.filter((p) => p).join('\n');
    texts.push(text || null);
  });
  return texts;
}"""
)
_MARK_SCRIPT = (
    "([hits, name]) => {"
    + _WALK
    + r"""
  const wanted = new Set(hits);
  let index = 0;
  walk(document, (el) => { if (wanted.has(index++)) el.setAttribute(name, ''); });
}"""
)
_UNMARK_SCRIPT = (
    "(name) => {"
    + _WALK
    + r"walk(document, (el) => { if (el.hasAttribute(name)) el.removeAttribute(name); }); }"
)
_FIELDS = "input, textarea, select, [contenteditable]"


async def secret_masks(page: Any, redact: Callable[[str], str], timeout: float = 5.0) -> list[Any]:
    """Locators of everything on the page that shows a secret, and of every password field, to mask.

    A field whose value holds a secret, a list showing one, an element whose own text holds one: each is
    marked with an attribute until `unmark` (call it once the screenshot is taken). A frame that cannot be
    read (detached, or too busy to answer within `timeout` seconds) has all its fields masked.
    """
    masks: list[Any] = []
    for frame in page.frames:
        masks.append(frame.locator("input[type=password]"))
        try:
            texts = await asyncio.wait_for(frame.evaluate(_SHOWN_TEXTS_SCRIPT), timeout)
            if not isinstance(texts, list):
                raise TypeError("the page's texts could not be read")
            hits = [
                index for index, text in enumerate(texts) if isinstance(text, str) and redact(text) != text
            ]
            if hits:
                await asyncio.wait_for(frame.evaluate(_MARK_SCRIPT, [hits, _MASK_ATTRIBUTE]), timeout)
        except Exception:
            masks.append(frame.locator(_FIELDS))
            continue
        if hits:
            masks.append(frame.locator(f"[{_MASK_ATTRIBUTE}]"))
    return masks


async def unmark(page: Any, timeout: float = 5.0) -> None:
    """Remove the marks `secret_masks` left on the page."""
    for frame in page.frames:
        try:
            await asyncio.wait_for(frame.evaluate(_UNMARK_SCRIPT, _MASK_ATTRIBUTE), timeout)
        except Exception:
            continue


_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_JSON_CHARACTERS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescaped(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        return _JSON_CHARACTERS.get(match.group(2), match.group(2))

    decoded = _JSON_ESCAPE.sub(one, text)
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # joins \ud83d\ude00 pairs


_DECODINGS: tuple[Callable[[str], str], ...] = (html.unescape, _json_unescaped, urllib.parse.unquote_plus)
# One escaping, or one inside another (JSON in an HTML attribute, a URL in JSON, JSON in a JSON string).
_VIEWS: tuple[tuple[Callable[[str], str], ...], ...] = tuple(
    (outer, *inner) for outer in _DECODINGS for inner in ((), *((d,) for d in _DECODINGS))
)


_ESCAPE_SIGNS = re.compile(r"[&\\%+]")  # no decoding changes a text without one of these


def redact_text(text: str, redact: Callable[[str], str], depth: int = 3) -> str:
    """`text` with its secrets masked, also those an escaping hides (HTML entities, JSON or URL escapes).

    A text that shows a secret only once decoded is replaced by its decoded, masked form: evidence loses an
    escaping there, never a secret.
    """
    masked = redact(text)
    if depth <= 0 or not _ESCAPE_SIGNS.search(masked):
        return masked
    for decodings in _VIEWS:
        view = masked
        for decode in decodings:
            view = decode(view)
        if view != masked and redact(view) != view:
            return redact_text(view, redact, depth - 1)
    return masked


def _redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, redact)
    if isinstance(value, dict):
        return {redact_text(k, redact): _redact_json(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(item, redact) for item in value]
    return value


def _redact_json_line(line: str, redact: Callable[[str], str]) -> str:
    # Outside its strings a JSON line has no backslash, so decoding the whole line decodes each string in place:
    # a line that shows no secret so is kept as it is, without the cost of walking it.
    decoded = _json_unescaped(line)
    if redact_text(decoded, redact) == decoded:
        return line
    try:
        value = json.loads(line)
    except ValueError:
        return redact_text(line, redact)
    if isinstance(value, dict | list | str):
        return json.dumps(_redact_json(value, redact), ensure_ascii=False, separators=(",", ":"))
    return line


def _redact_document(text: str, redact: Callable[[str], str]) -> str:
    """A trace member or a network body: JSON lines, JSON, HTML, or any text."""
    start = text.lstrip()[:1]
    if start in ("{", "["):
        return "\n".join(
            _redact_json_line(line, redact) if line.strip() else line for line in text.split("\n")
        )
    if start == "<":
        return redact_html(text, redact)
    return redact_text(text, redact)


class _HtmlRedactor(HTMLParser):
    """Rewrites an HTML document with its texts, attribute values and comments masked (entities decoded first)."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__(convert_charrefs=True)
        self.redact = redact
        self.out: list[str] = []
        self.raw_text = False  # inside <script> or <style>, whose text is not HTML-escaped

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], close: str) -> str:
        masked = [(name, None if value is None else redact_text(value, self.redact)) for name, value in attrs]
        raw = self.get_starttag_text() or ""
        if masked == attrs and raw:
            return raw
        parts = [tag] + [
            name if value is None else f'{name}="{html.escape(value, quote=True)}"' for name, value in masked
        ]
        return "<" + " ".join(parts) + close + ">"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, ""))
        self.raw_text = tag in ("script", "style")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, " /"))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")
        self.raw_text = False

    def handle_data(self, data: str) -> None:
        masked = redact_text(data, self.redact)
        self.out.append(masked if self.raw_text else html.escape(masked, quote=False))

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{redact_text(data, self.redact)}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{redact_text(decl, self.redact)}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{redact_text(data, self.redact)}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{redact_text(data, self.redact)}]>")


def redact_html(text: str, redact: Callable[[str], str]) -> str:
    """An HTML document with every secret masked, whether written plainly or as entities (`&amp;`, `&#34;`)."""
    if redact_text(text, redact) == text:
        return text  # nothing to hide: the page is kept byte for byte
    parser = _HtmlRedactor(redact)
    parser.feed(text)
    parser.close()
    rewritten = "".join(parser.out)
    # A secret the parts did not show (split by the markup's own escapes, in a tag's name): the whole, decoded.
    return rewritten if redact_text(rewritten, redact) == rewritten else redact_text(text, redact)
