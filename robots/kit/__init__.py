"""The robot kit: everything a robot may use (its base class, actions, context, errors, durations, safe files and paths, CSV files, extraction from texts, the text of any document). Robots import only this, never the runner."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
