"""The workflow language: loading a file with the place of every node, the models and step kinds, parsing,
validation, templating, durations and diagnostics."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
