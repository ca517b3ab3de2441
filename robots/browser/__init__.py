"""The browser robot: web pages driven through Playwright and Debian's Chromium."""

from robots.browser.browser import Browser
from robots.browser.failures import redact_zip
from robots.browser.finding import ABSENT_AFTER
from robots.browser.launch import HEADLESS_SHELLS, LAUNCH_ARGS, find_browser
from robots.browser.locators import (
    LABEL_TEXT_JS,
    NORMALISE_JS,
    Target,
    closest_candidates,
    normalise,
    option_values,
)
from robots.browser.recycling import RECYCLE_EVERY

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
