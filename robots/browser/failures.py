"""Turning what goes wrong in a browser into errors a person understands.

`evidence` keeps secrets out of what is saved with them.
"""

from __future__ import annotations

import re
from typing import Any

from robots.browser.locators import CANDIDATES_SCRIPT, Match, Target, closest_candidates
from robots.browser.navigation import frame_evaluate
from robots.kit import N_, ApplicationError, ConfigurationError, RoboError, WorkflowBug, _

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
    exc: BaseException, page: Any, target: Target | None, doing: str, timeout: float, frame: Any = None
) -> RoboError:
    """The error to report for an exception raised by Playwright while `doing` something.

    `frame` is the frame locator of `browser.in_frame` when the steps act inside a frame.
    """
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
            hint=await what_the_page_has(page, target, frame)
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


async def names_shown(page: Any, kind: str, frame: Any = None) -> list[str]:
    """The names of `kind` (labels, texts…) a person could have meant, in the document the steps act in.

    Inside `frame` (a frame locator) when they act in one, else the page's.
    """
    if frame is not None:
        names = await frame_evaluate(frame, CANDIDATES_SCRIPT, kind)
    else:
        names = await page.evaluate(CANDIDATES_SCRIPT, kind)
    return [str(name) for name in names or []]


async def what_the_page_has(page: Any, target: Target, frame: Any = None) -> str | None:
    """A "did you mean" naming the closest names the page has, or those names, for a target it does not show.

    Inside `frame` when the steps act in one (see `names_shown`).
    """
    try:
        candidates = await names_shown(page, target.kind, frame)
    except Exception:
        candidates = []
    close = closest_candidates(target.named or target.value, candidates)
    if close:
        return _("did you mean {names}?").format(names=_(" or ").join(f"'{c}'" for c in close))
    if candidates and target.kind in ("label", "placeholder", "title", "test_id"):
        return _("the page has: {names}").format(names=", ".join(f"'{c}'" for c in candidates[:12]))
    return None


async def absent_target(page: Any, target: Target, waited: float, frame: Any = None) -> WorkflowBug:
    """A target missing from a page that has finished loading: the workflow names something the page lacks.

    The message is the same on every item (the page's title, not its address), so that the engine stops the run
    after a few items in a row, and carries the "did you mean" shown live.
    """
    try:
        title = await page.title()
    except Exception:
        title = ""
    where = the_page(title)
    close = await what_the_page_has(page, target, frame)
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


async def missing_labels(page: Any, missing: list[str], settled: bool, frame: Any = None) -> RoboError:
    """The error for labels a form lacks, naming the closest labels the page has (or its labels).

    A workflow error on a page that had finished loading (every item would meet it, see `ABSENT_AFTER`), else a
    failure worth retrying.
    """
    candidates = await names_shown(page, "label", frame)
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


_FRAMES_SCRIPT = r"""() => {
  const quoted = (value) => '"' + value.replace(/[\\"]/g, '\\$&')
    .replace(/[\x00-\x1f\x7f]/g, (c) => '\\' + c.charCodeAt(0).toString(16) + ' ') + '"';
  return [...document.querySelectorAll('iframe, frame')].slice(0, 12).map((frame) => {
    const tag = frame.tagName.toLowerCase();
    let selector = tag;
    for (const name of ['id', 'name', 'title', 'src']) {
      const value = frame.getAttribute(name);
      if (!value) continue;
      const cut = Array.from(value).slice(0, 80).join('');
      selector = name === 'id' && cut === value ? tag + '#' + CSS.escape(value)
        : `${tag}[${name}${cut === value ? '' : '^'}=${quoted(cut)}]`;
      break;
    }
    let same = [frame];
    try { same = [...document.querySelectorAll(selector)]; } catch (error) {}
    return same.length > 1 ? `${selector} >> nth=${same.indexOf(frame)}` : selector;
  });
}"""
"""A selector that finds each frame of the page (the first 12): by its id, name, title or address (the first 80
characters of a longer one), escaped as CSS escapes, and its rank among those it shares the selector with. Frames
inside a web component's shadow root are not listed (nor counted in that rank)."""


async def page_frames(page: Any) -> list[str]:
    """The page's frames, as selectors that find them (`_FRAMES_SCRIPT`); none when it cannot be read."""
    try:
        return [str(frame) for frame in await page.evaluate(_FRAMES_SCRIPT)]
    except Exception:
        return []


async def missing_frame(page: Any, css: str, waited: float, frames: list[str]) -> WorkflowBug:
    """The frame the steps act in (`css`, `browser.in_frame`'s selector) is not on a page that has finished loading.

    The selector names none of its `frames` (a typo, a page that changed), or the steps before left the page that
    has it: a mistake in the workflow, named by the page's title as `absent_target` does.
    """
    try:
        title = await page.title()
    except Exception:
        title = ""
    close = closest_candidates(css, frames, limit=1)
    missing = _("the frame '{frame}' is not on {page}").format(frame=css, page=the_page(title))
    if close:
        missing = _("{missing}: did you mean '{frame}'?").format(missing=missing, frame=close[0])
    return WorkflowBug(
        missing,
        hint=_("'browser.in_frame' names a frame by a selector; the page's frames are: {frames}").format(
            frames=", ".join(frames)
        )
        if frames
        else _(
            "the page has no frame: the steps before 'browser.in_frame' may have left the page that has it "
            "(see the screenshot in the artifacts)"
        ),
        cause=[_("on {url}, after waiting {seconds} s").format(url=page.url, seconds=f"{waited:.1f}")],
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
