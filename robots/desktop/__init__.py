"""The desktop robot: legacy desktop applications driven through the X display, with pyautogui, xdotool and OCR."""

from robots.kit import exports_lazily

# Each name of __init__.pyi is imported when first used.
__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)
