"""The desktop robot: legacy desktop applications driven through the X display, with pyautogui, xdotool and OCR."""

from robots.desktop.desktop import Desktop
from robots.desktop.display import NO_DISPLAY, display_problem
from robots.desktop.screen import Spot
from robots.desktop.session import FailSafeStop
from robots.desktop.settings import OCR_LANGUAGES, DesktopSettings

__all__ = [
    "NO_DISPLAY",
    "OCR_LANGUAGES",
    "Desktop",
    "DesktopSettings",
    "FailSafeStop",
    "Spot",
    "display_problem",
]
