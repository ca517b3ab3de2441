from .browser import Browser
from .evidence import redact_zip
from .finding import ABSENT_AFTER
from .launch import HEADLESS_SHELLS, LAUNCH_ARGS, find_browser
from .locators import (
    LABEL_TEXT_JS,
    NORMALISE_JS,
    Target,
    closest_candidates,
    normalise,
    option_values,
)
from .recycling import RECYCLE_EVERY

__all__ = [
    "ABSENT_AFTER",
    "HEADLESS_SHELLS",
    "LABEL_TEXT_JS",
    "LAUNCH_ARGS",
    "NORMALISE_JS",
    "RECYCLE_EVERY",
    "Browser",
    "Target",
    "closest_candidates",
    "find_browser",
    "normalise",
    "option_values",
    "redact_zip",
]
