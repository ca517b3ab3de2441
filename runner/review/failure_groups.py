"""Identical failures, grouped: one card for "5 items — same error", whatever values each item put in its message.

Two failed items have the same error when they failed at the same step of the workflow, with the same kind of
error (data refused, system, workflow mistake…), and with the same message once what is proper to each item is
set aside: the item's key, then any text in quotes ('…', "…", « … »), then every run of digits. So "SIRET
invalide pour DOS-12 (42 caractères)" and "SIRET invalide pour DOS-13 (41 caractères)" are one error, while a
refusal and a timeout at the same step are two. Hints and causes are not compared (they follow the message).
"""

from __future__ import annotations

import re

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»")
_DIGITS = re.compile(r"\d+")
ITEM_VALUE = "…"


def error_signature(step: str | None, kind: str, message: str, key: str | None) -> tuple[str, str, str]:
    """What two failures share when they are the same error (see the module's docstring)."""
    text = message.replace(key, ITEM_VALUE) if key else message
    text = _QUOTED.sub(ITEM_VALUE, text)
    text = _DIGITS.sub("#", text)
    return (step or "", kind, " ".join(text.split()))


__all__ = ["error_signature"]
