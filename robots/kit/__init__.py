"""The robot kit: everything a robot may use (its base class, actions, context, errors, durations, safe files and paths, CSV files, extraction from texts, the text of any document). Robots import only this, never the runner."""

from robots.kit.lazy import exports_lazily

# Each name of __init__.pyi is imported when first used.
__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)
