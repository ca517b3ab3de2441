"""What stays of a run: the run store (and who claims a run in it, and the leases of a fleet's workers on its
items), the audit log, the console."""

from robots.kit import exports_lazily

# Each name of __init__.pyi is imported when first used.
__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)
