"""A step's timeout: the action owns it; the engine's limit on a call is only a watchdog.

A step's `timeout:` (or `defaults.timeout`) is handed to the action as its own `timeout` parameter when the action
takes one and leaves it to a default: the action waits that long itself and says what it waited for (an element,
a page, an answer). The engine's limit on the call is a watchdog for a robot that never returns (stuck in its
library): it fires well after the action's own timeout, so that the action's precise message comes first. Only for
an action that takes no timeout (a file read) is the watchdog the step's limit: its `timeout:`, or
`WATCHDOG_WITHOUT_TIMEOUT` when none is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robots.kit import ActionSpec

WATCHDOG_WITHOUT_TIMEOUT = 600.0
"""Seconds the watchdog waits for an action that takes no timeout, when neither its step nor `defaults` sets one."""
WATCHDOG_FACTOR = 1.5
"""How many times an action's own timeout the watchdog waits before `WATCHDOG_GRACE` is added."""
WATCHDOG_GRACE = 10.0
"""Seconds the watchdog adds to an action's own timeout: time for the action to end and report it itself."""


def give_action_timeout(spec: ActionSpec, rendered: dict[str, Any], timeout: float | None) -> None:
    """Hand the step's `timeout` to the action, as its `timeout` parameter, unless the workflow gave that one."""
    own = spec.parameters.get("timeout")
    # Only where the action's timeout is a limit left to a default (None): not, e.g., how long to wait for.
    if timeout and own and own.default is None and "timeout" not in rendered:
        rendered["timeout"] = timeout  # the action waits that long itself, and says what it waited for


def watchdog_limit(spec: ActionSpec, params: Mapping[str, Any], timeout: float | None) -> float:
    """Seconds the engine waits for the call before abandoning it (`timeout`: the step's, if it has one)."""
    limit = timeout or WATCHDOG_WITHOUT_TIMEOUT
    if "timeout" in spec.parameters:
        own = params.get("timeout") or limit
        limit = max(limit, float(own)) * WATCHDOG_FACTOR + WATCHDOG_GRACE
    return limit
