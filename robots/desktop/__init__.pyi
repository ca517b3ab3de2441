from .desktop import Desktop
from .display import NO_DISPLAY, display_problem
from .screen import Spot
from .session import FailSafeStop
from .settings import OCR_LANGUAGES, DesktopSettings

__all__ = [
    "NO_DISPLAY",
    "OCR_LANGUAGES",
    "Desktop",
    "DesktopSettings",
    "FailSafeStop",
    "Spot",
    "display_problem",
]
