"""The desktop robot on a real X display: an Xvfb started by the tests, xterm from Debian, a Tk window of ours.

The Tk window (`desktop_target.py`) runs as its own process, as an application the robot drives would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from robots import action_spec
from robots.desktop import NO_DISPLAY, Desktop, FailSafeStop, Spot
from robots.kit import ApplicationError, ConfigurationError, RobotContext, WorkflowBug
from tests.mock_desktop.fixtures import SCREEN, DisplayInfo
from tests.robots.conftest import Artifact
from tests.waiting import wait_until

TARGET_SCRIPT = Path(__file__).with_name("desktop_target.py")
TARGET_TITLE = "Cible Rob'O"
TARGET_AT = (600, 380)
TARGET_REGION = [TARGET_AT[0], TARGET_AT[1], 660, 400]
ACCENTED = "Café élève à l'hôpital « déjà vu » 12 €"


def _pattern(path: Path, seed: int) -> None:
    """A picture of coloured blocks, unlike anything else on the screen, different for each seed."""
    picture = Image.new("RGB", (120, 72), "white")
    draw = ImageDraw.Draw(picture)
    colours = ["#c0392b", "#2471a3", "#1e8449", "#d4ac0d", "#6c3483", "#1c2833"]
    for row in range(3):
        for column in range(5):
            colour = colours[(row * 5 + column * (seed + 2) + seed) % len(colours)]
            box = (column * 24 + 2, row * 24 + 2, column * 24 + 21, row * 24 + 21)
            (draw.ellipse if (row + column + seed) % 2 else draw.rectangle)(box, fill=colour)
    picture.save(path)


@dataclass
class Target:
    """The Tk window on screen: its picture, and the file its buttons write a line to when clicked."""

    picture: Path
    clicks: Path
    folder: Path

    def clicked(self) -> list[str]:
        return self.clicks.read_text(encoding="utf-8").split()


def _context(folder: Path, artifacts: list[Artifact] | None = None) -> RobotContext:
    return RobotContext(
        run_id="t",
        workflow_name="t",
        workflow_dir=folder,
        artifacts_dir=folder / "artifacts",
        record_artifact=lambda path, kind, description: (artifacts if artifacts is not None else []).append(
            (path, kind, description)
        ),
    )


@pytest.fixture(scope="module")
def target(xvfb_display: DisplayInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The Tk window, started once for the module and stopped at its end."""
    folder = tmp_path_factory.mktemp("desktop-target")
    picture, clicks = folder / "motif.png", folder / "clics.txt"
    _pattern(picture, 0)
    clicks.touch()
    process = subprocess.Popen(
        [sys.executable, str(TARGET_SCRIPT), TARGET_TITLE, str(picture), str(clicks), *map(str, TARGET_AT)]
    )
    try:
        Desktop(_context(folder)).wait_for_window(TARGET_TITLE, timeout=30)
        yield Target(picture, clicks, folder)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def desktop(xvfb_display: DisplayInfo, robot_context: RobotContext) -> Iterator[Desktop]:
    """A desktop robot on the test's context, closed (with what it started) at the end of the test."""
    robot = Desktop(robot_context)
    try:
        yield robot
    finally:
        robot.close()


def _screenshots(artifacts: list[Artifact]) -> list[Path]:
    return [path for path, kind, _description in artifacts if kind == "screenshot"]


class TestRealApplication:
    def test_accented_french_text_typed_into_xterm_arrives_intact(
        self, desktop: Desktop, tmp_path: Path
    ) -> None:
        saved = tmp_path / "sortie.txt"
        started = desktop.launch(
            [
                "xterm",
                "-u8",
                "-geometry",
                "70x4+0+0",
                "-title",
                "Saisie xterm",
                "-e",
                "sh",
                "-c",
                "head -n 1 > sortie.txt",
            ],
            window="saisie XTERM",
            timeout=30,
        )
        assert started["title"] == "Saisie xterm"
        desktop.type_text(ACCENTED + "\n")
        assert wait_until(lambda: saved.exists() and saved.read_text(encoding="utf-8"), 20) == ACCENTED + "\n"

    def test_the_application_it_started_is_stopped_with_the_robot(self, robot_context: RobotContext) -> None:
        robot = Desktop(robot_context)
        pid = robot.launch("xterm -title Arrêt -geometry 20x2+0+0", window="Arrêt", timeout=30)["pid"]
        robot.close()
        with pytest.raises(ProcessLookupError):
            wait_until(lambda: os.kill(pid, 0), 10)


class TestWindows:
    def test_a_window_that_never_shows_fails_after_its_timeout_with_a_screenshot(
        self, desktop: Desktop, artifacts: list[Artifact]
    ) -> None:
        started = time.monotonic()
        with pytest.raises(ApplicationError, match="no window titled 'Nulle part' appeared within"):
            desktop.wait_for_window("Nulle part", timeout=0.5)
        assert 0.5 <= time.monotonic() - started < 5
        (shot,) = _screenshots(artifacts)
        with Image.open(shot) as picture:
            assert picture.size == SCREEN

    def test_focus_and_close_a_window_by_its_title(self, desktop: Desktop, tmp_path: Path) -> None:
        desktop.launch(["xterm", "-title", "Fenêtre à fermer", "-geometry", "20x2+0+0"], window="à fermer")
        assert desktop.focus_window("fenêtre À")["title"] == "Fenêtre à fermer"
        desktop.close_window("Fenêtre à fermer", timeout=10)
        with pytest.raises(ApplicationError):
            desktop.wait_for_window("Fenêtre à fermer", timeout=0.3)


class TestImages:
    def test_finds_and_clicks_a_picture_on_the_screen(self, target: Target, desktop: Desktop) -> None:
        box = desktop.wait_for_image(str(target.picture), timeout=10)
        assert box["left"] >= TARGET_AT[0] and box["top"] >= TARGET_AT[1]
        assert (box["width"], box["height"]) == (120, 72) and box["confidence"] > 0.95
        before = target.clicked().count("image")
        desktop.click(Spot(image=str(target.picture)))
        wait_until(lambda: target.clicked().count("image") == before + 1, 10)

    def test_finds_a_picture_taken_at_another_screen_scale(
        self, target: Target, desktop: Desktop, tmp_path: Path
    ) -> None:
        larger = tmp_path / "motif-125.png"
        with Image.open(target.picture) as original:
            original.resize((150, 90), Image.Resampling.NEAREST).save(larger)
        box = desktop.wait_for_image(str(larger), confidence=0.8, timeout=10)
        assert abs(box["width"] - 120) <= 2 and box["left"] >= TARGET_AT[0]

    def test_a_missing_picture_fails_after_its_timeout_with_a_screenshot(
        self, target: Target, desktop: Desktop, tmp_path: Path, artifacts: list[Artifact]
    ) -> None:
        absent = tmp_path / "absent.png"
        _pattern(absent, 3)
        with pytest.raises(ApplicationError, match=r"image .*absent\.png not found on the screen within"):
            desktop.wait_for_image(str(absent), timeout=0.5)
        assert len(_screenshots(artifacts)) == 1


class TestText:
    def test_reads_a_known_sentence(self, target: Target, desktop: Desktop) -> None:
        assert "Enregistrement effectué" in desktop.read_text(region=TARGET_REGION)

    def test_clicks_a_button_found_by_its_text(self, target: Target, desktop: Desktop) -> None:
        before = target.clicked().count("valider")
        desktop.click(Spot(text="Valider", region=TARGET_REGION), timeout=10)
        wait_until(lambda: target.clicked().count("valider") == before + 1, 10)

    def test_a_text_that_never_shows_fails_after_its_timeout_with_a_screenshot(
        self, target: Target, desktop: Desktop, artifacts: list[Artifact]
    ) -> None:
        with pytest.raises(ApplicationError, match="text 'Dossier introuvable' not found on the screen"):
            desktop.wait_for_text("Dossier introuvable", region=TARGET_REGION, timeout=0.5)
        assert len(_screenshots(artifacts)) == 1


class TestWithoutDisplay:
    def test_importing_the_robot_needs_no_display(self) -> None:
        env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}
        code = (
            "import sys; from robots import robot_class; "
            "robot_class('desktop').action_specs(); print('pyautogui' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr

    def test_an_action_without_display_says_how_to_get_one(
        self, robot_context: RobotContext, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("DISPLAY", raising=False)
        with pytest.raises(ConfigurationError) as raised:
            Desktop(robot_context).type_text("bonjour")
        assert str(raised.value) == NO_DISPLAY == "no X display: set DISPLAY or run under Xvfb; see README"


class TestDeclarations:
    @pytest.mark.parametrize("name", ["click", "double_click", "right_click", "type_text", "press", "hotkey", "drag", "close_window"])  # fmt: skip
    def test_each_changing_action_is_recorded_by_the_work_item_ledger(self, name: str) -> None:
        spec = action_spec("desktop", name)
        assert spec is not None and spec.may_enter_twice

    @pytest.mark.parametrize("name", ["read_text", "wait_for_image", "wait_for_text", "screenshot", "wait_for_window"])  # fmt: skip
    def test_looking_changes_nothing(self, name: str) -> None:
        spec = action_spec("desktop", name)
        assert spec is not None and not spec.side_effects

    def test_an_unknown_key_is_a_workflow_mistake(self, desktop: Desktop) -> None:
        with pytest.raises(WorkflowBug, match="unknown key: entrée"):
            desktop.press("entrée")


class TestSafety:
    def test_the_fail_safe_stops_the_robot_when_the_mouse_is_in_a_corner(
        self, desktop: Desktop, artifacts: list[Artifact]
    ) -> None:
        desktop.press("shift")
        desktop.gui.FAILSAFE = False
        desktop.gui.moveTo(0, 0)
        desktop.gui.FAILSAFE = True
        try:
            with pytest.raises(FailSafeStop, match="stopped by the fail-safe") as stopped:
                desktop.press("shift")
            assert isinstance(stopped.value, ConfigurationError) and stopped.value.stops_run
            assert len(_screenshots(artifacts)) == 1
        finally:
            desktop.gui.FAILSAFE = False
            desktop.gui.moveTo(SCREEN[0] // 2, SCREEN[1] // 2)
            desktop.gui.FAILSAFE = True
        with pytest.raises(FailSafeStop):  # the person has the screen: later actions stop too
            desktop.press("shift")

    def test_the_pause_after_each_call_is_a_setting(self, xvfb_display: DisplayInfo, tmp_path: Path) -> None:
        context = _context(tmp_path)
        context.settings = {"desktop": {"pause": 0.2}}
        robot = Desktop(context)
        robot.press("shift")
        assert (robot.gui.PAUSE, robot.gui.FAILSAFE) == (0.2, True)
        started = time.monotonic()
        robot.press("shift")
        assert time.monotonic() - started >= 0.2

    def test_one_key_or_click_waits_the_pause_once_and_several_between_each(self, tmp_path: Path) -> None:
        # pyautogui sleeps `interval` after every press (the last one too) and then its pause: the interval given
        # for a single press made each key wait twice (measured in the desktop benchmark).
        context = _context(tmp_path)
        context.settings = {"desktop": {"pause": 0.2}}
        robot = Desktop(context)
        assert (robot._between(1), robot._between(3)) == (0.0, 0.2)


def test_a_language_tesseract_has_no_data_for_is_a_clear_configuration_error(
    xvfb_display: DisplayInfo, tmp_path: Path
) -> None:
    context = _context(tmp_path)
    context.settings = {"desktop": {"ocr_language": "fra+klingon"}}
    with pytest.raises(ConfigurationError, match="Tesseract has no data for the language klingon") as refused:
        Desktop(context).read_text()
    assert refused.value.hint is not None and "tesseract-ocr-klingon" in refused.value.hint


def test_settings_out_of_bounds_given_to_the_run_are_a_clear_configuration_error(tmp_path: Path) -> None:
    context = _context(tmp_path)
    context.settings = {"desktop": {"pause": -1}}
    with pytest.raises(ConfigurationError, match=r"the desktop settings are not valid: desktop\.pause: "):
        Desktop(context)
