"""The desktop robot: legacy desktop applications driven through the X display, with pyautogui, xdotool and OCR."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
