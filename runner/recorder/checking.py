"""Choosing an element's locator: the most human one that names it, and it alone, as the browser robot reads it.

The page script offers the ways a person would name the element (label, role and name, text, placeholder, test
id, CSS last). Each is checked here with the browser robot's own `Target`: the same Playwright locator, the same
choice among its matches (`Target.choose`) for the names people read, the first match for a test id or CSS
selector. A target counts only when it leads to exactly this element; a name matching several elements is tried
again as an exact name, then the next kind is tried. When the page can no longer be asked (it was replaced by the
next one before the check), the page script's own count of matches at the moment of the action decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from robots.browser import Target

NTH_IS = "(found, [index, element]) => found[index] === element"
ONLY_ONE_IS = "(found, element) => found.length === 1 && found[0] === element"
NAMED = ("label", "role", "text", "placeholder")


def target_of(kind: str, value: str, exact: bool = False) -> Target:
    """The browser robot's target of one kind (`label`, `role`, `css`…)."""
    options: dict[str, Any] = {kind: value}
    if exact:
        options["exact"] = True
    return Target(**options)


def variants(kind: str, value: str) -> list[Target]:
    """The targets to try for one candidate: as written, then exact for a name people read."""
    plain = target_of(kind, value)
    return [plain, target_of(kind, value, exact=True)] if kind in NAMED else [plain]


async def leads_to(scope: Any, target: Target, element: Any) -> bool:
    """Whether the browser robot, given `target`, would act on `element` and nothing else.

    Only calls that never wait for an element (`evaluate_all`): the page may already be another one.
    """
    if target.named is not None:
        locator, matches = await target.matches(scope)
        chosen = target.choose(matches)
        if len(chosen) != 1:
            # asked of the next page when the action replaced this one: then the element's own document is gone,
            # which raises here, and the count at the action decides (see `unique_target`)
            await element.evaluate("(element) => element.isConnected")
            return False
        return bool(await locator.evaluate_all(NTH_IS, [chosen[0].index, element]))
    return bool(await target.locate_all(scope).evaluate_all(ONLY_ONE_IS, element))


async def unique_target(scope: Any, element: Any, candidates: Sequence[Sequence[Any]]) -> Target | None:
    """The first candidate (kind, value, count in the page) that names `element` alone; None if none does."""
    for kind, value, count in candidates:
        for target in variants(str(kind), str(value)):
            try:
                if await leads_to(scope, target, element):
                    return target
            except Exception:  # the page is gone (navigation, closed tab): its count at the action decides
                if int(count) == 1 and not target.exact:
                    return target
    return None
