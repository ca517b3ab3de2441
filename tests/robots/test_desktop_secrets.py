"""A secret typed on the desktop never shows in what a run leaves: screenshots, text read on the screen, records.

The application is xterm running `cat`, which shows what is typed twice (the terminal's echo, then cat's copy),
as an old client showing a password in clear would. The run's secrets are masked by the engine's `Redactor`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageGrab
from Xlib import X, display

from robots.desktop import Desktop
from robots.desktop.secrets import loose
from robots.desktop.windows import top_level_box, windows_titled
from robots.kit import ApplicationError, RobotContext
from runner.engine import Redactor
from tests.mock_desktop.fixtures import DisplayInfo
from tests.robots.conftest import Artifact
from tests.security.scanner import find_secrets
from tests.security.test_secret_leaks import assert_no_leak, robo

SECRET = "Sésame-Ouvre-Toi 42"
TERMINAL = "Terminal à secrets"
XTERM = ["xterm", "-u8", "-fa", "DejaVu Sans Mono", "-fs", "16", "-geometry", "40x6+0+0", "-title"]


def _black(picture: Image.Image, box: tuple[int, int, int, int]) -> bool:
    left, top, width, height = box
    extrema = picture.convert("L").crop((left, top, left + width, top + height)).getextrema()
    return extrema == (0, 0)


@pytest.fixture
def secret_desktop(
    xvfb_display: DisplayInfo, tmp_path: Path, artifacts: list[Artifact]
) -> Iterator[tuple[Desktop, list[Artifact]]]:
    """A desktop robot whose run knows SECRET, with xterm running `cat` given the keyboard."""
    redactor = Redactor([SECRET])
    context = RobotContext(
        run_id="t",
        workflow_name="t",
        workflow_dir=tmp_path,
        artifacts_dir=tmp_path / "artifacts",
        record_artifact=lambda path, kind, description: artifacts.append((path, kind, description)),
        redact=redactor.text,
    )
    robot = Desktop(context)
    try:
        robot.launch([*XTERM, TERMINAL, "-e", "cat"], window=TERMINAL, timeout=30)
        yield robot, artifacts
    finally:
        robot.close()


def _terminal_box() -> tuple[int, int, int, int]:
    ((window, _title),) = windows_titled(TERMINAL)
    box = top_level_box(window)
    assert box is not None
    return box


class TestScreenshots:
    def test_the_window_a_secret_was_typed_into_is_black_in_a_failure_screenshot(
        self, secret_desktop: tuple[Desktop, list[Artifact]]
    ) -> None:
        desktop, artifacts = secret_desktop
        box = _terminal_box()
        desktop.type_text("bonjour\n")
        assert not _black(ImageGrab.grab(), box)
        with pytest.raises(ApplicationError):
            desktop.wait_for_window("Fenêtre absente", timeout=0.3)
        assert not _black(Image.open(artifacts[-1][0]), box)  # nothing secret typed yet: shown as it is

        desktop.type_text(SECRET + "\n")
        with pytest.raises(ApplicationError):
            desktop.wait_for_window("Fenêtre absente", timeout=0.3)
        shot = Image.open(artifacts[-1][0]).convert("RGB")
        assert _black(shot, box)
        live = ImageGrab.grab().convert("RGB")  # the rest of the screen is as it is
        ImageDraw.Draw(live).rectangle(
            (box[0], box[1], box[0] + box[2] - 1, box[1] + box[3] - 1), fill="black"
        )
        assert ImageChops.difference(live, shot).getbbox() is None

    def test_a_screenshot_the_workflow_asks_for_hides_it_too(
        self, secret_desktop: tuple[Desktop, list[Artifact]]
    ) -> None:
        desktop, _artifacts = secret_desktop
        box = _terminal_box()
        desktop.type_text(SECRET + "\n")
        whole = desktop.screenshot("ecran.png")
        part = desktop.screenshot("partie.png", region=[box[0], box[1], box[2] + 50, box[3]])
        assert whole is not None and part is not None
        assert _black(Image.open(whole), box)
        assert _black(Image.open(part), (0, 0, box[2], box[3]))

    def test_a_secret_typed_where_no_window_has_the_keyboard_means_no_screenshot(
        self, xvfb_display: DisplayInfo, tmp_path: Path
    ) -> None:
        logged: list[str] = []
        context = RobotContext(
            run_id="t",
            workflow_name="t",
            workflow_dir=tmp_path,
            artifacts_dir=tmp_path / "a",
            log=logged.append,
            redact=Redactor([SECRET]).text,
        )
        robot = Desktop(context)
        screen = display.Display()
        try:
            screen.set_input_focus(X.NONE, X.RevertToNone, X.CurrentTime)
            screen.sync()
            robot.type_text(SECRET)
        finally:
            screen.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
            screen.close()
        with pytest.raises(ApplicationError):
            robot.wait_for_window("Fenêtre absente", timeout=0.2)
        assert not (tmp_path / "a").exists() or not list((tmp_path / "a").iterdir())
        assert logged and "a secret was typed into a window that cannot be told" in logged[0]


class TestReading:
    def test_a_secret_read_back_on_the_screen_is_masked(
        self, secret_desktop: tuple[Desktop, list[Artifact]]
    ) -> None:
        desktop, _artifacts = secret_desktop
        box = _terminal_box()
        desktop.type_text("Identifiant dupont\n" + SECRET + "\n")
        read = desktop.read_text(region=list(box))
        assert "dupont" in read  # the rest is read as it is
        assert "***" in read
        assert "sesame" not in loose(read) and "ouvre" not in loose(read)

    def test_loose_forms_ignore_what_ocr_gets_wrong(self) -> None:
        assert loose("SÉSAME-0uvre-T0I 42") == loose(SECRET)
        assert loose("Sesame-Ouvre-Tol 42") == loose(SECRET)

    def test_a_line_showing_half_a_typed_secret_is_masked(
        self, secret_desktop: tuple[Desktop, list[Artifact]]
    ) -> None:
        desktop, _artifacts = secret_desktop
        desktop.type_text(SECRET + "\n")
        secrets = desktop.secrets
        read = "SIdentifiant dupont\nésame-0uvre-Toi 42\nSésame-Ouv\nre-Toi 42\nBonjour Sésame, dupont 42"
        assert secrets.mask_read(read) == "SIdentifiant dupont\n***\n***\n***\nBonjour Sésame, dupont 42"
        cut = "Connexion\nIdentifiant : dupont\nSésame-O\nuvre-Toi 42\nBienvenue"
        assert secrets.mask_read(cut) == "Connexion\nIdentifiant : dupont\n***\n***\nBienvenue"


WORKFLOW = """\
name: Connexion au client lourd
secrets: [mot_de_passe]
steps:
  - desktop.launch:
      command: ["xterm", "-u8", "-fa", "DejaVu Sans Mono", "-fs", "16", "-geometry", "40x6+0+0", "-title", "Connexion", "-e", "cat"]
      window: Connexion
      timeout: 30
  - desktop.type_text: {text: "dupont\\n{{ secrets.mot_de_passe }}\\n"}
  - desktop.read_text: {region: [0, 0, 400, 160]}
    save: lu
  - data.write_json: {data: "{{ lu }}", path: lu.json}
  - log: "lu à l'écran : {{ lu }}"
  - desktop.press: {key: "{{ secrets.mot_de_passe }}"}
"""


def test_a_typed_secret_never_reaches_the_records_nor_what_is_read(
    xvfb_display: DisplayInfo, tmp_path: Path
) -> None:
    run = robo(tmp_path, WORKFLOW, {"ROBO_SECRET_MOT_DE_PASSE": SECRET, "ROBO_LANG": "en"})
    assert run.returncode != 0, run.output
    assert "unknown key: ***" in run.output  # the failing step's message names the secret: masked
    assert_no_leak(run, SECRET)
    written = tmp_path / "flux" / "lu.json"
    assert "dupont" in json.loads(written.read_text(encoding="utf-8"))
    assert not find_secrets([written], [SECRET])
    shots = sorted(run.logs.rglob("*desktop-pressing-failure.png"))
    assert len(shots) == 1
    assert _black(Image.open(shots[0]), (2, 2, 300, 100))  # the terminal, at the top left corner
