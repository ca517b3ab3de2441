"""What stays of a run: the run store (and who claims a run in it, and the leases of a fleet's workers on its
items), the audit log, the console."""

# Each name of __init__.pyi is imported when first used (docs/architecture.md, "Who may import whom").
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
