"""The exception tree of Rob'O.

```
RoboError                      anything Rob'O raises on purpose; never shown to a user as a traceback
├── WorkflowError              a workflow definition is wrong, found by validation (diagnostics: span, code, hint)
├── WorkflowBug                a mistake in the workflow found while running (a typo in a template, a sandbox
│                              refusal, `parallel` out of range, a missing loop key): never retried; after 3
│                              items in a row fail with the same one, the run stops
├── BusinessError              the data was refused (a validation message, a `fail` step, a file name from the
│                              data too long or holding a NUL byte): never retried
│   └── AccessRefused          a login or an account was refused (wrong password, account locked): the run stops
│                              at once, since every item would meet it and each attempt may lock the account
├── ApplicationError           a system misbehaved (timeout, element missing, HTTP 5xx): retried
│   └── StepTimeout            a step ran past its timeout
└── ConfigurationError         a browser, display, secret or server is missing: says what to install or set
```

An error whose class says `stops_run` (AccessRefused, the desktop robot's fail-safe) stops the whole run at once
instead of failing one item of a loop and going on with the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from robots.kit.i18n import N_


class RoboError(Exception):
    """Base of every error Rob'O raises on purpose."""

    kind = "error"
    stops_run: ClassVar[bool] = False
    """True when no later item would fare better (a refused login, a person taking the mouse): the run stops at
    once instead of going on with the next item of its loop."""

    def __init__(self, message: str, *, hint: str | None = None, cause: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.cause = tuple(cause)

    def __str__(self) -> str:
        return self.message


class WorkflowBug(RoboError):
    """A mistake in the workflow that only running it shows: every item would meet it, so it is never retried.

    Not `WorkflowError`, which gathers what validation finds before anything runs. `span` is the place of the
    mistake in the workflow file when it is more precise than its step's (the template's own line).
    """

    kind = "workflow"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        cause: Sequence[str] = (),
        span: Span | None = None,
    ) -> None:
        super().__init__(message, hint=hint, cause=cause)
        self.span = span


class BusinessError(RoboError):
    """The data was refused: retrying would give the same answer, so the item is marked failed."""

    kind = "business"


class AccessRefused(BusinessError):
    """A login was refused (wrong password, locked account), or a `recover` step was: the run stops at once."""

    kind = "business"
    stops_run = True


class ApplicationError(RoboError):
    """A system misbehaved (timeout, missing element, server error): worth retrying."""

    kind = "application"


class StepTimeout(ApplicationError):
    """A step ran longer than its timeout."""

    kind = "application"


class ConfigurationError(RoboError):
    """Something the run needs is not set up: the message says what to install or set."""

    kind = "configuration"


KIND_WORDS = {
    "workflow": N_("a mistake in the workflow"),
    "business": N_("the data was refused"),
    "application": N_("a system failed"),
    "configuration": N_("something is not set up"),
}
"""Each kind of error in plain words, for the console and the report (translated where shown, with `_()`)."""


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file: line and column count from 1, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> dict[str, Any]:
        """The span as JSON data, for `robo validate --format json`."""
        return {"file": self.file, "line": self.line, "col": self.col, "end_col": self.end_col}
