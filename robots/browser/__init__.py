"""The browser robot: web pages driven through Playwright and Debian's Chromium."""

# The names below are imported when first used (their modules: __init__.pyi), so that importing one module of
# the package does not import all of them.
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
