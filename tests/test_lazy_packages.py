"""Packages imported in part export their names lazily: their `__init__.pyi` names what they export (for mypy and
for people), and `exports_lazily` (robots/kit/lazy.py) imports a name's module when it is first used. So a command imports what it uses:
`robo validate` not the run store (SQLAlchemy), a run not the robots its workflow does not use."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.running import ROOT

LAZY_PACKAGES = sorted(
    ".".join(stub.parent.relative_to(ROOT).parts)
    for top in ("runner", "robots")
    for stub in (ROOT / top).rglob("__init__.pyi")
)

WORKFLOW = """\
name: Relevé
steps:
  - name: Lire les dossiers
    data.read_csv: {path: dossiers.csv}
    save: dossiers
  - log: "{{ dossiers | length }} dossiers"
"""

# Run in a `python -c` process: the command given as arguments, then the names of every module it imported,
# written where MODULES_FILE says when the process ends (however the command exits).
PROBE = """\
import atexit, json, os, sys
from pathlib import Path

atexit.register(lambda: Path(os.environ["MODULES_FILE"]).write_text(json.dumps(sorted(sys.modules))))
sys.argv = ["robo", *sys.argv[1:]]
from runner.cli import main

main()
"""


def _folder(package: str) -> Path:
    return ROOT.joinpath(*package.split("."))


def _stub_all(package: str) -> list[str]:
    """The names the stub lists in its `__all__` (what mypy sees exported)."""
    for node in ast.parse((_folder(package) / "__init__.pyi").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{package}/__init__.pyi has no __all__")


def test_the_packages_imported_in_part_are_lazy() -> None:
    lazy = {
        "runner.language",
        "runner.run",
        "runner.record",
        "robots.kit",
        "robots.browser",
        "robots.desktop",
    }
    assert lazy <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_name_of_its_stub_is_exported_and_found(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(_stub_all(package))
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_its_init_imports_nothing_but_the_loader(package: str) -> None:
    """An import added to the `__init__.py` would be imported with any module of the package again."""
    tree = ast.parse((_folder(package) / "__init__.py").read_text(encoding="utf-8"))
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported == ["exports_lazily"]


def _imported_by(tmp_path: Path, *args: str) -> set[str]:
    modules_file = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MODULES_FILE": str(modules_file)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(modules_file.read_text(encoding="utf-8")))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "releve.yaml").write_text(WORKFLOW, encoding="utf-8")
    (tmp_path / "dossiers.csv").write_text("reference;nom\nD1;Martin\nD2;Durand\n", encoding="utf-8")
    return tmp_path


def test_validating_does_not_import_the_run_store_nor_the_robots_it_does_not_use(project: Path) -> None:
    modules = _imported_by(project, "validate", "releve.yaml")
    assert "runner.language" in modules
    assert not {"sqlalchemy", "alembic", "runner.record.store", "runner.run.session"} & modules
    assert (
        not {"playwright", "robots.browser.browser", "robots.desktop.desktop", "pyautogui", "cv2"} & modules
    )


def test_a_run_does_not_import_the_robots_its_workflow_does_not_use(project: Path) -> None:
    modules = _imported_by(project, "run", "releve.yaml")
    assert {"runner.run.session", "runner.record.store", "robots.data"} <= modules
    assert (
        not {"playwright", "robots.browser.browser", "robots.desktop.desktop", "pyautogui", "cv2"} & modules
    )


def test_listing_runs_does_not_import_the_language(project: Path) -> None:
    _imported_by(project, "run", "releve.yaml")
    modules = _imported_by(project, "runs", "list")
    assert "runner.review" in modules
    assert not {"runner.language.model", "runner.language.validate", "runner.engine", "playwright"} & modules


def test_a_mistake_in_a_module_is_said_not_hidden_behind_cannot_import_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python turns an `AttributeError` met while a name is loaded by a module `__getattr__` into a bare "cannot
    import name"; the mistake itself must reach the person who reads the error."""
    package = tmp_path / "paquet_paresseux"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from robots.kit import exports_lazily\n__getattr__, __dir__, __all__ = exports_lazily(__name__, __file__)\n",
        encoding="utf-8",
    )
    (package / "__init__.pyi").write_text("from .outil import Outil\n__all__ = ['Outil']\n", encoding="utf-8")
    (package / "outil.py").write_text("import os\nVALEUR = os.chemin_qui_n_existe_pas\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "paquet_paresseux", None)  # restored (removed) once the test ends
    del sys.modules["paquet_paresseux"]
    with pytest.raises(
        ImportError, match=r"paquet_paresseux\.Outil could not be imported: .*chemin_qui_n_existe_pas"
    ):
        exec("from paquet_paresseux import Outil", {})
    with pytest.raises(AttributeError):
        importlib.import_module("paquet_paresseux").Autre  # noqa: B018 (not one of its names)
