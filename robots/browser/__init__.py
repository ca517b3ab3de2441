"""The browser robot: web pages driven through Playwright and Debian's Chromium."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
