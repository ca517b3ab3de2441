"""The desktop robot's plumbing: its settings, pyautogui on first use, and evidence saved when an action fails.

A failure's screenshot never shows a window a secret was typed into (see `secrets.py`), and the fail-safe (the
mouse moved into a corner of the screen by a person) stops the whole run, not only the item in progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from robots.desktop.display import load_pyautogui, no_display_error, require_display
from robots.desktop.screen import Box, Region, Spot, find_image, find_text, grab, read_words
from robots.desktop.secrets import SecretsOnScreen
from robots.desktop.settings import DesktopSettings
from robots.desktop.windows import poll
from robots.kit import (
    ApplicationError,
    ConfigurationError,
    RoboError,
    Robot,
    RobotContext,
    WorkflowBug,
    _,
    format_duration,
)

if TYPE_CHECKING:
    from PIL.Image import Image

T = TypeVar("T")


class FailSafeStop(ConfigurationError):
    """A person moved the mouse into a corner of the screen: they are taking over, and the whole run stops."""

    stops_run = True


class DesktopCore(Robot):
    """Settings, the display, and the guard every desktop action runs in (mixed into the desktop robot)."""

    name = "desktop"
    thread_bound = False
    one_screen = True

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        try:
            self.settings = DesktopSettings.model_validate(dict(context.settings.get("desktop", {})))
        except ValidationError as exc:  # settings given to the run by code: a workflow's are validated before
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in ("desktop", *problem["loc"]))
            raise ConfigurationError(
                _("the desktop settings are not valid: {reason}").format(reason=f"{where}: {problem['msg']}"),
                hint=_("see `robo schema`, key 'desktop'"),
            ) from None
        self.default_timeout = self.settings.timeout
        self.pause = self.settings.pause
        self.fail_safe = self.settings.fail_safe
        self.language = self.settings.ocr_language
        self.secrets = SecretsOnScreen(context.redact)
        self._taken_over = False
        self._gui: Any = None

    @classmethod
    def unavailable(cls) -> ConfigurationError | None:
        """The error every action would meet when there is no X display."""
        return no_display_error()

    @property
    def gui(self) -> Any:
        """pyautogui, imported on first use (a clear error without a display)."""
        if self._gui is None:
            self._gui = load_pyautogui(self.pause, self.fail_safe)
        return self._gui

    def _guarded(self, doing: str, work: Callable[[], T]) -> T:
        """Run `work()`; on failure save a screenshot of the screen in the artifacts and raise a clear error.

        Once the fail-safe has stopped an action, every later one stops the same way: the person who moved the
        mouse has the screen, even if the run goes on (a step with `on_error: continue`).
        """
        require_display()
        if self._taken_over:
            raise self._fail_safe_stop(doing)
        try:
            return work()
        except ConfigurationError:
            raise
        except Exception as exc:
            self._save_screenshot(doing)
            if type(exc).__name__ == "FailSafeException":
                self._taken_over = True
                raise self._fail_safe_stop(doing) from None
            if isinstance(exc, RoboError):
                raise
            raise ApplicationError(
                _("{doing} failed: {reason}").format(doing=doing, reason=str(exc) or type(exc).__name__),
                hint=_("check the screenshot in the artifacts"),
            ) from exc

    @staticmethod
    def _fail_safe_stop(doing: str) -> FailSafeStop:
        return FailSafeStop(
            _(
                "{doing}: stopped by the fail-safe (the mouse was moved to a corner of the screen): "
                "the run stops"
            ).format(doing=doing),
            hint=_(
                "a person took over the screen; once it is free again, resume the run with "
                "`robo run <workflow> --resume <run id>`"
            ),
        )

    def _picture(self, region: Region | None, doing: str) -> Image | None:
        """The screen (or a region), every window a secret was typed into blacked out.

        None when that cannot be done safely (the reason is in the run's log).
        """
        shot: Image = grab(region)
        if self.secrets.cover(shot, region):
            return shot
        self.context.log(
            _(
                "no screenshot of the screen when this failed: {doing}: a secret was typed into a window "
                "that cannot be told, and it could show"
            ).format(doing=doing)
        )
        return None

    def _save_screenshot(self, doing: str) -> None:
        label = re.sub(r"\W+", "-", doing.split(" ")[0]).strip("-") or "desktop"
        try:
            picture = self._picture(None, doing)
            if picture is None:
                return
            path = self.context.artifact_path(f"lane{self.context.lane}-desktop-{label}-failure.png")
            picture.save(path)
            self.context.record_artifact(
                path, "screenshot", _("the screen when this failed: {doing}").format(doing=doing)
            )
        except Exception as exc:
            self.context.log(_("no screenshot could be taken: {reason}").format(reason=exc))

    def _timeout(self, timeout: float | None) -> float:
        return float(timeout or self.default_timeout)

    def _region(self, region: list[int] | None) -> Region | None:
        if region is None:
            return None
        if len(region) != 4:
            raise WorkflowBug(_("a region is four numbers: [left, top, width, height]"))
        left, top, width, height = region
        return left, top, width, height

    def _locate(self, spot: Spot, timeout: float | None) -> Box:
        """Where `spot` is on the screen, once it shows; an `ApplicationError` when it does not in time."""
        if spot.position is not None:
            x, y = spot.position
            return Box(x, y, 1, 1, 1.0)
        region = self._region(spot.region)
        seconds = self._timeout(timeout)
        if spot.image is not None:
            template = self.context.input_file(spot.image, _("image"))
            confidence = spot.confidence if spot.confidence is not None else self.settings.image_confidence
            found, waited = poll(lambda: find_image(template, confidence, region), seconds)
            if found is None:
                raise ApplicationError(
                    _("image {image} not found on the screen within {duration}").format(
                        image=spot.image, duration=format_duration(waited)
                    ),
                    hint=_(
                        "check the screenshot in the artifacts; a lower confidence accepts a looser match"
                    ),
                )
            return found
        wanted = spot.text or ""
        if not wanted.strip():
            raise WorkflowBug(_("the text to look for is empty"))
        confidence = spot.confidence if spot.confidence is not None else self.settings.text_confidence
        found, waited = poll(
            lambda: find_text(wanted, read_words(region, self.language), confidence), seconds
        )
        if found is None:
            raise ApplicationError(
                _("text '{text}' not found on the screen within {duration}").format(
                    text=wanted, duration=format_duration(waited)
                ),
                hint=_(
                    "check the screenshot in the artifacts; the text must be read as one or more whole words"
                ),
            )
        return found
