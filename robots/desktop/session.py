"""The desktop robot's plumbing: its settings, pyautogui on first use, and evidence saved when an action fails."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from robots.desktop.display import load_pyautogui, no_display_error, require_display
from robots.desktop.screen import Box, Region, Spot, find_image, find_text, grab, read_words
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

T = TypeVar("T")

DEFAULT_PAUSE = 0.05
"""Seconds pyautogui waits after each of its calls, so the application keeps up (setting `desktop.pause`)."""

IMAGE_CONFIDENCE = 0.8
TEXT_CONFIDENCE = 0.6


class DesktopCore(Robot):
    """Settings, the display, and the guard every desktop action runs in (mixed into the desktop robot)."""

    name = "desktop"
    thread_bound = False

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        self.settings: dict[str, Any] = dict(context.settings.get("desktop", {}))
        self.default_timeout = float(self.settings.get("timeout") or 10.0)
        self.pause = float(self.settings.get("pause", DEFAULT_PAUSE))
        self.fail_safe = bool(self.settings.get("fail_safe", True))
        self.language = str(self.settings.get("language") or "fra+eng")
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
        """Run `work()`; on failure save a screenshot of the screen in the artifacts and raise a clear error."""
        require_display()
        try:
            return work()
        except ConfigurationError:
            raise
        except Exception as exc:
            self._save_screenshot(doing)
            if isinstance(exc, RoboError):
                raise
            if type(exc).__name__ == "FailSafeException":
                raise ConfigurationError(
                    _(
                        "{doing}: stopped by the fail-safe (the mouse was moved to a corner of the screen)"
                    ).format(doing=doing)
                ) from None
            raise ApplicationError(
                _("{doing} failed: {reason}").format(doing=doing, reason=str(exc) or type(exc).__name__),
                hint=_("check the screenshot in the artifacts"),
            ) from exc

    def _save_screenshot(self, doing: str) -> None:
        label = re.sub(r"\W+", "-", doing.split(" ")[0]).strip("-") or "desktop"
        path = self.context.artifact_path(f"lane{self.context.lane}-desktop-{label}-failure.png")
        try:
            grab().save(path)
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
            confidence = spot.confidence if spot.confidence is not None else IMAGE_CONFIDENCE
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
        confidence = spot.confidence if spot.confidence is not None else TEXT_CONFIDENCE
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
