"""One run, from the workflow file to the report: the composition of the stages."""

from robots.kit import exports_lazily

# Each name of __init__.pyi is imported when first used.
__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)
