"""The robot kit: everything a robot may use (its base class, actions, context, errors, durations, safe files and paths, CSV files, extraction from texts, the text of any document). Robots import only this, never the runner."""

# The names below are imported when first used (their modules: __init__.pyi), so that importing one module of
# the package does not import all of them.
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
