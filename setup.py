"""Build hook: the gettext catalogs (`robots/kit/locale/*/LC_MESSAGES/robo.po`) compiled to `.mo` files.

The `.mo` files are build outputs, never committed: a wheel gets them in its build folder, an editable install
(`pip install -e .`, `make install`) beside their `.po` in the source tree. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = "robots/kit/locale"


class BuildWithCatalogs(build_py):
    """`build_py`, then each `.po` catalog compiled with Babel (fuzzy entries left out, as `msgfmt` does)."""

    def run(self) -> None:
        """Copy the packages, then write each catalog's `.mo` (in the source tree for an editable install)."""
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(__file__).parent
        target = root if getattr(self, "editable_mode", False) else Path(self.build_lib)
        for source in sorted((root / CATALOGS).glob("*/LC_MESSAGES/*.po")):
            compiled = target / source.relative_to(root).with_suffix(".mo")
            compiled.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as file:
                catalog = read_po(file)
            with compiled.open("wb") as file:
                write_mo(file, catalog)


setup(cmdclass={"build_py": BuildWithCatalogs})
