"""A run's moving parts, shared by the engine's step runners: scopes, lanes, counters, step failures.

Also how a step is named, its templates rendered, and its parameters and results recorded.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from robots.kit import BusinessError, RoboError, StepTimeout, WorkflowBug, _
from runner.engine.robot_pool import RobotPool
from runner.language import (
    Diagnostic,
    Scope,
    SpanIndex,
    Step,
    describe_problem,
)
from runner.language.templating import TemplateError, render_value


class RunInterrupted(Exception):
    """The run was asked to stop (SIGINT/SIGTERM) and stopped between two steps."""


class StepFailure(Exception):
    """A step failed: the error, and which step (name, position, loop item) it came from."""

    def __init__(self, step: Step, error: RoboError, item: str | None = None) -> None:
        super().__init__(str(error))
        self.step = step
        self.error = error
        self.item = item

    @property
    def kind(self) -> str:
        return self.error.kind

    def diagnostic(self) -> Diagnostic:
        error = self.error
        code = "step-timeout" if isinstance(error, StepTimeout) else f"{error.kind}-error"
        span = error.span if isinstance(error, WorkflowBug) and error.span else self.step.span
        message = (
            _("step '{step}' failed (item {item}): {error}").format(
                step=self.step.label, item=self.item, error=error.message
            )
            if self.item is not None
            else _("step '{step}' failed: {error}").format(step=self.step.label, error=error.message)
        )
        return Diagnostic(
            span,
            code,
            message,
            hint=error.hint,
            cause=error.cause,
        )


@dataclass
class Lane:
    """One line of execution: lane 0 is the run itself; `parallel: N` loops add lanes 1…N."""

    index: int
    robots: RobotPool
    # The work items it is inside (`ItemChanges`), innermost last: whom a changing step counts for.
    open_items: list[Any] = field(default_factory=list)


@dataclass
class RunCounters:
    steps: int = 0
    steps_failed: int = 0
    items_done: int = 0
    items_failed: int = 0
    items_skipped: int = 0
    items_to_check: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, int]:
        return {
            "steps": self.steps,
            "steps_failed": self.steps_failed,
            "items_done": self.items_done,
            "items_failed": self.items_failed,
            "items_skipped": self.items_skipped,
            "items_to_check": self.items_to_check,
            "retries": self.retries,
        }


def step_ref(path: Sequence[Any]) -> str:
    """`("steps", 2, "steps", 0)` → `steps[2].steps[0]`."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def is_streamed(value: Any) -> bool:
    """Whether `value` is a collection read anew at each pass (e.g. the rows `excel.read_rows` streams), that
    holds no more than a few of its elements at once: it has a length and can be gone through several times."""
    return (
        isinstance(value, Sized)
        and isinstance(value, Iterable)
        and not isinstance(value, str | bytes | bytearray | list | tuple | Mapping | AbstractSet)
        and not isinstance(value, Iterator)
    )


def summarize(value: Any, limit: int = 2000, *, mask: Callable[[Any], Any] | None = None) -> Any:
    """A bounded copy of a result for the audit log: long lists and texts are cut, with their size kept.

    `mask` hides the secrets of a text before it is cut: after, half a secret would no longer be recognised."""
    if isinstance(value, list) and len(value) > 5:
        return {"list_length": len(value), "first": [summarize(v, limit // 5, mask=mask) for v in value[:3]]}
    if is_streamed(value):  # its first elements only: it is never read whole into memory
        elements = iter(value)
        try:
            first = [summarize(v, limit // 5, mask=mask) for v in itertools.islice(elements, 3)]
        finally:
            close = getattr(elements, "close", None)  # a generator holding an open file
            if close is not None:
                close()
        return {"list_length": len(value), "first": first}
    if isinstance(value, str) and len(value) > limit:
        shown = value if mask is None else mask(value)
        return shown[:limit] + f"… ({len(value)} characters)" if len(shown) > limit else shown
    if isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > limit:
            return {"keys": list(value)[:50], "size": len(text)}
    return value


def loggable_params(
    params: Mapping[str, Any], secret_names: frozenset[str], mask: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """An action's parameters as its records show them: secrets hidden, long values cut."""
    return {
        name: ("***" if name in secret_names else summarize(_compact(value), 500, mask=mask))
        for name, value in params.items()
    }


def _compact(value: Any) -> Any:
    """Parameter groups (e.g. how an element is found) as the few fields the workflow gave."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in dataclasses.asdict(value).items() if v not in (None, False)}
    return value


def template_failure(
    exc: TemplateError, where: str, step: Step | None = None, spans: SpanIndex | None = None
) -> RoboError:
    """A template that did not render: a `WorkflowBug` at the template's own line, or bad data (business)."""
    cause = [_("template {template}").format(template=repr(exc.template)), *exc.cause]
    if not exc.workflow_bug:
        return BusinessError(f"{where}: {exc.message}", hint=exc.hint, cause=cause)
    span = spans.value(step.template_location(where, exc.template)) if step and spans else None
    return WorkflowBug(f"{where}: {exc.message}", hint=exc.hint, cause=cause, span=span)


def conversion_failure(action: str, exc: ValidationError) -> BusinessError:
    problems = []
    for problem in exc.errors():
        where = ".".join(str(part) for part in problem["loc"])
        problems.append(
            _("parameter '{name}' {problem} (found {value})").format(
                name=where, problem=describe_problem(problem["msg"]), value=repr(problem.get("input"))
            )
        )
    return BusinessError(f"{action}: " + "; ".join(problems))


def error_record(error: RoboError) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": error.kind,
        "type": type(error).__name__,
        "message": error.message,
        "hint": error.hint,
        "cause": list(error.cause),
    }
    if isinstance(error, WorkflowBug) and error.span is not None:
        record["line"] = error.span.line  # more precise than its step's: the template's own line
    return record


def render_in_step(
    step: Step, value: Any, scope: Scope, item: str | None, where: str, spans: SpanIndex | None
) -> Any:
    """`value` rendered for `step` (as its `where`); a template that does not render fails the step."""
    try:
        return render_value(value, scope)
    except TemplateError as exc:
        raise StepFailure(step, template_failure(exc, where, step, spans), item) from None
