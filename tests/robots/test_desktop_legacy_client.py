"""The desktop robot against the Tk legacy client (`tests/mock_desktop`): « Valider » found by its image and by its
text, the client's answer waited for among several windows, and a dialog read by OCR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import ImageGrab

from robots.desktop import Desktop, Spot
from robots.kit import RobotContext
from tests.mock_desktop import (
    ERROR_TITLE,
    FORM_TITLE,
    SAVED_TITLE,
    TEXT_FIELDS,
    VALIDER_POSITION,
)
from tests.mock_desktop.fixtures import MockDesktop
from tests.mock_intranet.accounts import DEFAULT_ACCOUNT
from tests.waiting import wait_until

ANSWERS = [SAVED_TITLE, ERROR_TITLE]
RECORD = {
    "reference": "BUR-TEST-001",
    "nom": "Lefèvre",
    "prenom": "Hélène",
    "commune": "Saint-Étienne",
    "montant": "1 250,50 €",
    "type_demande": "Subvention",
}


@pytest.fixture
def desktop(mock_desktop: MockDesktop, robot_context: RobotContext) -> Iterator[Desktop]:
    robot = Desktop(robot_context)
    try:
        yield robot
    finally:
        robot.close()


def _open_form(client: MockDesktop) -> str:
    xdotool = client.xdotool
    xdotool.focus(client.login_window)
    xdotool.type(DEFAULT_ACCOUNT.username)
    xdotool.key("Tab")
    xdotool.type(DEFAULT_ACCOUNT.password)
    xdotool.key("Return")
    return xdotool.wait_for_window(FORM_TITLE)


def _fill(client: MockDesktop, form: str, values: dict[str, str]) -> None:
    client.xdotool.focus(form)
    for key, _label in TEXT_FIELDS:
        client.xdotool.type(values[key])
        client.xdotool.key("Tab")
    client.xdotool.type(values["type_demande"])


def _crop_valider(client: MockDesktop, form: str, path: Path) -> None:
    """A picture of the « Valider » button, cut from a screenshot of the screen as it is now."""
    box = client.xdotool.geometry(form)
    x = box.x + round(box.width * VALIDER_POSITION[0])
    y = box.y + round(box.height * VALIDER_POSITION[1])
    ImageGrab.grab().crop((x - 47, y - 15, x + 48, y + 15)).save(path)


def test_valider_found_by_its_image_then_by_its_text_stores_each_record(
    mock_desktop: MockDesktop, desktop: Desktop, tmp_path: Path
) -> None:
    form = _open_form(mock_desktop)
    _crop_valider(mock_desktop, form, tmp_path / "valider.png")

    _fill(mock_desktop, form, RECORD)
    desktop.click(Spot(image="valider.png"))
    answer = desktop.wait_for_window(ANSWERS)
    assert answer["title"] == SAVED_TITLE
    assert "DOS-000001" in desktop.read_text(window=SAVED_TITLE, language="fra")
    desktop.press("enter")
    wait_until(lambda: not mock_desktop.xdotool.windows(SAVED_TITLE), timeout=10)

    second = {**RECORD, "reference": "BUR-TEST-002", "nom": "Association « À Cœur Ouvert »"}
    _fill(mock_desktop, form, second)
    clicked = desktop.click(Spot(text="Valider"))
    box = mock_desktop.xdotool.geometry(form)
    assert abs(clicked["x"] - (box.x + box.width * VALIDER_POSITION[0])) < 30
    assert abs(clicked["y"] - (box.y + box.height * VALIDER_POSITION[1])) < 15
    assert desktop.wait_for_window(ANSWERS)["title"] == SAVED_TITLE
    desktop.press("enter")

    cases = mock_desktop.cases()
    assert [(case.reference, case.nom, case.commune, case.montant_centimes) for case in cases] == [
        ("BUR-TEST-001", "Lefèvre", "Saint-Étienne", 125050),
        ("BUR-TEST-002", "Association « À Cœur Ouvert »", "Saint-Étienne", 125050),
    ]


def test_a_refused_record_is_told_apart_by_the_window_that_answers(
    mock_desktop: MockDesktop, desktop: Desktop
) -> None:
    form = _open_form(mock_desktop)
    _fill(mock_desktop, form, {**RECORD, "montant": "douze"})
    desktop.click(Spot(text="Valider"))
    answer = desktop.wait_for_window(ANSWERS)
    assert answer["title"] == ERROR_TITLE
    assert "montant" in desktop.read_text(window=ERROR_TITLE, language="fra").lower()
    assert mock_desktop.cases() == []
