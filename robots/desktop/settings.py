"""The desktop robot's settings: the `desktop:` key of a workflow, declared once here.

The workflow language (`runner.language`) reads this model for the `desktop:` key (validation, `robo schema`),
the run passes what the workflow says to the robot under `context.settings["desktop"]`, and the robot reads it
back through the same model: every default lives here only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from robots.kit import Duration

OCR_LANGUAGES = r"^[a-z][a-z_]*(\+[a-z][a-z_]*)*$"
"""Tesseract's way of naming the languages to read: "fra", "fra+eng" (its data files' names)."""


class DesktopSettings(BaseModel):
    """How the desktop robot works for a whole run (the workflow's `desktop:` key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pause: Annotated[Duration, Field(ge=0, le=10)] = 0.05
    """Seconds waited after each mouse or keyboard action, so a slow application keeps up."""
    fail_safe: bool = True
    """A person moving the mouse into a corner of the screen stops the whole run at once."""
    timeout: Annotated[Duration, Field(gt=0, le=86_400)] = 10.0
    """Seconds an action waits for a window, an image or a text when its step says nothing."""
    ocr_language: Annotated[str, Field(pattern=OCR_LANGUAGES)] = "fra+eng"
    """The languages the screen is read in (Tesseract's names, joined by +), e.g. "fra" or "fra+eng"."""
    image_confidence: Annotated[float, Field(gt=0, le=1)] = 0.8
    """How closely an image must match what is on the screen when the step says nothing, from 0 to 1."""
    text_confidence: Annotated[float, Field(gt=0, le=1)] = 0.6
    """How sure the reading of a text must be when the step says nothing, from 0 to 1."""
