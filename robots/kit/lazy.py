"""Packages whose names are imported when first used (docs/architecture.md, "Who may import whom").

`robo validate` does not import the run store, nor a run the robots its workflow does not use. Such a package's
`__init__.pyi` holds its imports and `__all__` (what mypy and a reader see); its `__init__.py` only hands that stub
to `exports_lazily`, built on lazy_loader (which imports a name's module on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lazy_loader


def exports_lazily(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The `__getattr__`, `__dir__` and `__all__` of the package `package`, whose `__init__.py` is `init_file`.

    An `AttributeError` raised while a name's module is imported (a mistake in it, a library that changed) is
    raised as an `ImportError` naming it: Python would turn it into a bare "cannot import name", its cause lost.
    """
    load, listing, names = lazy_loader.attach_stub(package, init_file)

    def __getattr__(name: str) -> Any:
        try:
            return load(name)
        except AttributeError as error:
            if name not in names:  # not one of its names: Python goes on looking (a submodule), as always
                raise
            raise ImportError(f"{package}.{name} could not be imported: {error}", name=package) from error

    return __getattr__, listing, names
