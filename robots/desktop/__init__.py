"""The desktop robot: legacy desktop applications driven through the X display, with pyautogui, xdotool and OCR."""

from robots.desktop.desktop import Desktop
from robots.desktop.display import NO_DISPLAY, display_problem
from robots.desktop.screen import Spot

__all__ = [
    "NO_DISPLAY",
    "Desktop",
    "Spot",
    "display_problem",
]
