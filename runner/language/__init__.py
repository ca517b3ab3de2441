"""The workflow language: loading a file with the place of every node, the models and step kinds, parsing,
validation, templating, durations and diagnostics."""

from robots.kit import exports_lazily

# Each name of __init__.pyi is imported when first used.
__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)
