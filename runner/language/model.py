"""The workflow language as typed models; `runner.language.parser` builds them from loaded YAML.

A workflow is a mapping with `name`, `steps` and optional `description`, `version`, `inputs`, `vars`,
`secrets`, `defaults`, `schedule`, `browser` and `concurrency`. A step is a mapping whose kind is given by exactly one of its
keys: `robot.action`, `for_each`, `if`, `try`, `set`, `log` or `fail`.

These models are the language's single definition: the parser, the validator, the engine and `robo schema`
all read them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from robots.kit import Duration, Span
from runner.language.loader import SpanIndex

InputType = Literal["string", "number", "integer", "boolean", "date", "file", "folder", "list"]
OnError = Literal["fail", "continue"]
KeyDuplicates = Literal["error", "number"]
"""What a `for_each` does when two items have the same key: refuse to start, or number the repeats (`D1#2`)."""
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Identifier = Annotated[str, Field(pattern=IDENTIFIER.pattern)]
RESERVED_NAMES = ("inputs", "vars", "secrets", "env", "run", "now", "today", "loop", "error")
"""The names a run defines itself in every template's scope (`error` in the steps that handle one): a step
may not save, set or loop under one of them, which would hide the run's own value (`save: secrets`)."""


def _not_reserved(name: str) -> str:
    if name in RESERVED_NAMES:
        raise PydanticCustomError(
            "reserved_name", "'{name}' is a name the run defines itself", {"name": name}
        )
    return name


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank_text", "should not be empty")
    return text


Name = Annotated[Identifier, AfterValidator(_not_reserved)]
"""A name a step defines for the steps after it (`save`, `set`, a loop's `as`)."""
PositiveSeconds = Annotated[Duration, Field(gt=0, le=7 * 86_400)]
# How many runs of one workflow may go at once on one run store: 1 by default, so that two runs never write the
# same files or enter the same records together; a second run is refused at its start (or waits, `--wait`).
Concurrency = Annotated[int, Field(ge=1, le=1000)] | Literal["unlimited"]
UNLIMITED = "unlimited"


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


class InputSpec(_Model):
    type: InputType = "string"
    description: str = ""
    default: Any = None
    required: bool | None = None
    choices: list[Any] | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class RetryPolicy(_Model):
    attempts: Annotated[int, Field(ge=1, le=100)] = 1
    delay: Annotated[Duration, Field(ge=0, le=3600)] = 1.0
    backoff: Annotated[float, Field(ge=1, le=10)] = 1.0
    max_delay: Annotated[Duration, Field(ge=0, le=86_400)] = 300.0
    jitter: Annotated[Duration, Field(ge=0, le=3600)] = 0.0


class Defaults(_Model):
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy = RetryPolicy()
    run_timeout: PositiveSeconds | None = None


class ScheduleEntry(_Model):
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


class NotifySettings(_Model):
    email: list[str] = Field(default_factory=list)
    webhook: str | None = None
    send_on: list[Literal["failure", "recovery", "success"]] = ["failure", "recovery"]


class BrowserSettings(_Model):
    headless: bool = True
    executable: str | None = None
    slow_mo: Annotated[float, Field(ge=0)] = 0.0
    timeout: PositiveSeconds = 10.0
    viewport: dict[str, int] | None = None
    trace: Literal["off", "on_failure", "full"] = "on_failure"


class StepBase(_Model):
    """What every step has: where it stands, an optional name, id and condition."""

    kind: ClassVar[str] = ""
    span: Span
    path: tuple[Any, ...]
    name: Annotated[str, AfterValidator(_not_blank)] | None = None
    id: Identifier | None = None
    when: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.default_label()

    def default_label(self) -> str:
        return self.kind

    def children(self) -> list[list[Step]]:
        """The nested step lists of this step (for walking the plan)."""
        return []


class ActionStep(StepBase):
    kind: ClassVar[str] = "action"
    robot: str
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    save: Name | None = None
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy | None = None
    on_error: OnError | list[Step] = "fail"
    recover: list[Step] = Field(default_factory=list)
    allow_outside: bool = False
    """Let paths built from data lead outside the workflow's folder, the run's artifacts and the input folders."""

    def default_label(self) -> str:
        return f"{self.robot}.{self.action}"

    def children(self) -> list[list[Step]]:
        return [self.recover, *([self.on_error] if isinstance(self.on_error, list) else [])]


class ForEachStep(StepBase):
    kind: ClassVar[str] = "for_each"
    items: str | list[Any] = Field(alias="for_each")
    as_: Name = Field("item", alias="as")
    key: str | None = None
    key_duplicates: KeyDuplicates = "error"
    parallel: Annotated[int, Field(ge=1, le=32)] | str = 1
    setup: list[Step] = Field(default_factory=list)
    steps: list[Step]
    collect: dict[str, Any] | None = None
    save: Name | None = None
    on_error: OnError = "continue"
    retry: RetryPolicy | None = None
    recover: list[Step] = Field(default_factory=list)
    already_done: list[Step] = Field(default_factory=list)

    def default_label(self) -> str:
        return f"for each {self.as_}"

    def children(self) -> list[list[Step]]:
        return [self.setup, self.steps, self.recover, self.already_done]


class IfStep(StepBase):
    kind: ClassVar[str] = "if"
    condition: str = Field(alias="if")
    then: list[Step]
    else_: list[Step] = Field(default_factory=list, alias="else")

    def default_label(self) -> str:
        return f"if {self.condition}"

    def children(self) -> list[list[Step]]:
        return [self.then, self.else_]


class TryStep(StepBase):
    kind: ClassVar[str] = "try"
    body: list[Step] = Field(alias="try")
    on_error: OnError | list[Step] = "fail"

    def children(self) -> list[list[Step]]:
        return [self.body, *([self.on_error] if isinstance(self.on_error, list) else [])]


class SetStep(StepBase):
    kind: ClassVar[str] = "set"
    values: dict[Name, Any] = Field(alias="set")

    def default_label(self) -> str:
        return "set " + ", ".join(self.values)


class LogStep(StepBase):
    kind: ClassVar[str] = "log"
    message: str = Field(alias="log")
    level: Literal["info", "warning", "error"] = "info"

    def default_label(self) -> str:
        return "log"


class FailStep(StepBase):
    kind: ClassVar[str] = "fail"
    message: str = Field(alias="fail")


Step = Union[ActionStep, ForEachStep, IfStep, TryStep, SetStep, LogStep, FailStep]  # noqa: UP007
STEP_CLASSES: dict[str, type[StepBase]] = {
    "for_each": ForEachStep,
    "if": IfStep,
    "try": TryStep,
    "set": SetStep,
    "log": LogStep,
    "fail": FailStep,
}
for _cls in (ActionStep, ForEachStep, IfStep, TryStep):
    _cls.model_rebuild()


class Workflow(_Model):
    name: Annotated[str, AfterValidator(_not_blank)]
    description: str = ""
    version: str | int | float | None = None
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    vars: dict[Identifier, Any] = Field(default_factory=dict)
    secrets: list[Identifier] = Field(default_factory=list)
    defaults: Defaults = Defaults()
    schedule: list[ScheduleEntry] = Field(default_factory=list)
    notify: NotifySettings | None = None
    browser: BrowserSettings = BrowserSettings()
    concurrency: Concurrency = 1
    steps: list[Step]
    file: str = "<workflow>"
    spans: SpanIndex | None = Field(default=None, exclude=True, repr=False)
    """Where each node of the file stands, for run-time errors that point inside a step (a template's line)."""

    def walk(self) -> Iterable[Step]:
        """Every step, depth first."""
        return walk_steps(self.steps)


def walk_steps(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        for child in step.children():
            yield from walk_steps(child)


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
