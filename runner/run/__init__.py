"""One run, from the workflow file to the report: the composition of the stages."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
