"""What the robots share through the kit: one answer for a missing input file, one for a CSV in another encoding,
and robots that import nothing but the kit."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from robots.data import Data
from robots.excel import Excel
from robots.files import Files
from robots.kit import ConfigurationError, RobotContext, detect_delimiter
from robots.pdf import Pdf
from robots.word import Word

ROBOTS = Path(__file__).resolve().parents[3] / "robots"

# (robot, the file that is there, a call naming it with a typo, what the error calls it)
MISSPELLED: list[tuple[type[Any], str, Callable[[Any], object], str]] = [
    (Data, "clients.csv", lambda robot: robot.read_csv("client.csv"), "input file"),
    (Data, "clients.json", lambda robot: robot.read_json("client.json"), "input file"),
    (Excel, "dossiers.xlsx", lambda robot: robot.read_rows("dossier.xlsx"), "spreadsheet"),
    (Pdf, "arrete.pdf", lambda robot: robot.page_count("arrte.pdf"), "PDF file"),
    (Word, "courrier.docx", lambda robot: robot.read_text("courier.docx"), "document"),
    (Word, "modele.docx", lambda robot: robot.render_template("model.docx", "out.docx", {}), "template"),
    (Files, "rapport.txt", lambda robot: robot.copy("raport.txt", "copie.txt"), "file"),
    (Files, "envoi.zip", lambda robot: robot.unzip("envoi.zp.zip", "dossier"), "file"),
]


@pytest.mark.parametrize(
    ("robot_class", "present", "call", "what"),
    MISSPELLED,
    ids=[f"{case[0].name}-{case[1]}" for case in MISSPELLED],
)
def test_a_misspelled_input_file_names_the_file_beside_it(
    robot_context: RobotContext,
    tmp_path: Path,
    robot_class: type[Any],
    present: str,
    call: Callable[[Any], object],
    what: str,
) -> None:
    (tmp_path / present).write_bytes(b"")
    robot = robot_class(robot_context)
    try:
        with pytest.raises(ConfigurationError) as caught:
            call(robot)
    finally:
        robot.close()
    assert caught.value.message.startswith(f"{what} not found: {tmp_path}")
    assert caught.value.hint == f"did you mean {present!r}?"


def test_a_folder_given_for_an_input_file_is_said_to_be_one(
    robot_context: RobotContext, tmp_path: Path
) -> None:
    (tmp_path / "dossiers.csv").mkdir()
    with pytest.raises(ConfigurationError, match="input file not found") as caught:
        Data(robot_context).read_csv("dossiers.csv")
    assert caught.value.hint == "this is a folder, not a file"


def test_data_and_excel_say_the_same_of_a_csv_in_another_encoding(
    robot_context: RobotContext, tmp_path: Path
) -> None:
    (tmp_path / "export.csv").write_bytes("nom;ville\nDupont;Lyon\nLefèvre;Orléans\n".encode("cp1252"))
    with pytest.raises(ConfigurationError) as from_data:
        Data(robot_context).read_csv("export.csv")
    with pytest.raises(ConfigurationError) as from_excel:
        Excel(robot_context).read_rows("export.csv")
    assert (
        from_data.value.message
        == f"{tmp_path / 'export.csv'}: line 3 is not valid utf-8-sig text (byte 0xE8)"
    )
    assert from_excel.value.message == from_data.value.message
    assert from_excel.value.hint == from_data.value.hint
    assert "add `encoding: cp1252` to the step" in (from_data.value.hint or "")


@pytest.mark.parametrize(
    ("header", "separator"),
    [
        ("nom;ville;code", ";"),
        ('"Dupont, Jean";ville', ";"),  # a comma inside quotes does not count
        ("nom\tville", "\t"),
        ("nom|ville|code", "|"),
        ("nom,ville", ","),
        ("nom", ","),
    ],
)
def test_the_separator_is_the_one_the_header_uses_most_outside_quotes(header: str, separator: str) -> None:
    assert detect_delimiter(header) == separator


def robot_of(module: Path) -> str:
    """The robot a module of `robots/` belongs to: its package, or its own name for a one-module robot."""
    parts = module.relative_to(ROBOTS).with_suffix("").parts
    return parts[0]


def imported_modules(module: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names if node.module == "robots"]
    return found


def test_robots_import_the_kit_and_their_own_modules_only() -> None:
    modules = [m for m in ROBOTS.rglob("*.py") if m.parent != ROBOTS or m.name != "__init__.py"]
    assert len(modules) > 20
    wrong = []
    for module in modules:
        robot = robot_of(module)
        for name in imported_modules(module):
            parts = name.split(".")
            if parts[0] == "runner":
                wrong.append(f"{module.relative_to(ROBOTS)} imports {name}")
            elif parts[0] == "robots" and (len(parts) == 1 or parts[1] not in ("kit", robot)):
                wrong.append(f"{module.relative_to(ROBOTS)} imports {name}")
    assert wrong == []
