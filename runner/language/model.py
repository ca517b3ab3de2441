"""The workflow language as typed models; `runner.language.parser` builds them from loaded YAML.

A workflow is a mapping with `name`, `steps` and optional `description`, `version`, `inputs`, `vars`,
`secrets`, `defaults`, `schedule`, `browser`, `desktop`, `display` and `concurrency`. A step is a mapping whose kind is given by exactly one of its
keys: `robot.action`, `for_each`, `if`, `try`, `set`, `log` or `fail`.

The step kinds are declared in `runner.language.steps`, one class each, and the values both are made of in
`runner.language.values`. These models are the language's single definition: the parser, the validator, the
engine and `robo schema` all read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from robots.browser import RECYCLE_EVERY
from robots.desktop import DesktopSettings
from robots.kit import Duration
from runner.language.loader import SpanIndex
from runner.language.steps import Step, walk_steps
from runner.language.values import Identifier, LanguageModel, PositiveSeconds, RetryPolicy, not_blank

InputType = Literal["string", "number", "integer", "boolean", "date", "file", "folder", "list"]
# How many runs of one workflow may go at once on one run store: 1 by default, so that two runs never write the
# same files or enter the same records together; a second run is refused at its start (or waits, `--wait`).
Concurrency = Annotated[int, Field(ge=1, le=1000)] | Literal["unlimited"]
UNLIMITED = "unlimited"


class InputSpec(LanguageModel):
    type: InputType = "string"
    description: str = ""
    default: Any = None
    required: bool | None = None
    choices: list[Any] | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class Defaults(LanguageModel):
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy = RetryPolicy()
    run_timeout: PositiveSeconds | None = None


class ScheduleEntry(LanguageModel):
    cron: str | None = None
    every: Annotated[Duration, Field(gt=0)] | None = None
    at: dt.datetime | None = None
    timezone: str = "Europe/Paris"
    inputs: dict[str, Any] = Field(default_factory=dict)
    jitter: Annotated[Duration, Field(ge=0)] = 0.0
    enabled: bool = True
    name: str | None = None
    skip: list[str] = Field(default_factory=list)
    closed_days_file: str | None = None
    between: list[str] | None = None
    working_days_only: bool = False
    misfire: Literal["run_once_late", "skip"] = "run_once_late"
    grace: Annotated[Duration, Field(ge=0)] | None = None


class NotifySettings(LanguageModel):
    email: list[str] = Field(default_factory=list)
    webhook: str | None = None
    send_on: list[Literal["failure", "recovery", "success"]] = Field(default=["failure", "recovery"])


class BrowserSettings(LanguageModel):
    headless: bool = True
    executable: str | None = None
    slow_mo: Annotated[float, Field(ge=0)] = 0.0
    timeout: PositiveSeconds = 10.0
    viewport: dict[str, int] | None = None
    trace: Literal["off", "on_failure", "full"] = "on_failure"
    light: bool | None = None
    """No images, fonts, media, animations nor requests to other hosts (`robots.browser.light`); by default
    light when no one watches the browser (headless), not with `--headed`."""
    allow_hosts: list[Annotated[str, AfterValidator(not_blank)]] = Field(default_factory=list)
    """Hosts a light browser still reaches besides those of the pages opened, e.g. "cdn.exemple.fr", "*.gouv.fr"."""
    recycle_every: Annotated[int, Field(ge=0)] = RECYCLE_EVERY
    """Items of a loop after which the browser's tab is replaced by a fresh one (0: never), see
    `robots.browser.recycling`."""


class Workflow(LanguageModel):
    name: Annotated[str, AfterValidator(not_blank)]
    description: str = ""
    version: str | int | float | None = None
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    vars: dict[Identifier, Any] = Field(default_factory=dict)
    secrets: list[Identifier] = Field(default_factory=list)
    defaults: Defaults = Defaults()
    schedule: list[ScheduleEntry] = Field(default_factory=list)
    notify: NotifySettings | None = None
    browser: BrowserSettings = BrowserSettings()
    desktop: DesktopSettings = DesktopSettings()
    """The desktop robot's settings, declared by the robot (`robots.desktop.DesktopSettings`)."""
    display: Literal["current", "virtual"] = "current"
    """`virtual`: the run gets a virtual screen of its own (Xvfb) for its length, as `robo run --virtual-display`."""
    concurrency: Concurrency = 1
    steps: list[Step]
    file: str = "<workflow>"
    spans: SpanIndex | None = Field(default=None, exclude=True, repr=False)
    """Where each node of the file stands, for run-time errors that point inside a step (a template's line)."""

    def walk(self) -> Iterable[Step]:
        """Every step, depth first."""
        return walk_steps(self.steps)


INPUT_PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "number": float,
    "integer": int,
    "boolean": bool,
    "date": dt.date,
    "file": str,
    "folder": str,
    "list": list[Any],
}
