"""The step kinds of the language, one class each, and `STEP_KINDS`: the registry the parser, the validator,
`robo schema` and the engine read.

A new kind is a class here (fields, `placeholders`, `missing_hints`, `example`, `check`, `run`), listed in
`Step` and `STEP_KINDS`, and a section of docs/workflow-language.md; tests/language/test_step_kinds.py fails
until all of these agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from runner.language.steps.action import ActionStep
from runner.language.steps.base import (
    ANY_NAME,
    COMMON_KEYS,
    PLACE_FIELDS,
    DefinedName,
    Scope,
    StepBase,
    StepChecker,
    StepRunner,
    holds_steps,
)
from runner.language.steps.branching import IfStep, TryStep
from runner.language.steps.for_each import ForEachStep
from runner.language.steps.schema import field_schema, step_schema
from runner.language.steps.simple import FailStep, LogStep, SetStep

Step = Union[ActionStep, ForEachStep, IfStep, TryStep, SetStep, LogStep, FailStep]  # noqa: UP007
STEP_KINDS: dict[str, type[StepBase]] = {
    cls.kind: cls for cls in (ForEachStep, IfStep, TryStep, SetStep, LogStep, FailStep)
}
"""The kinds named by a key of their own (`for_each:`…), by that key; an action step is named by `robot.action`."""

_ALL_KINDS: tuple[type[StepBase], ...] = (ActionStep, *STEP_KINDS.values())
for _kind in _ALL_KINDS:
    _kind.model_rebuild(_types_namespace={"Step": Step})


def walk_steps(steps: Iterable[Step]) -> Iterable[Step]:
    """Every step of `steps` and of their children, depth first."""
    for step in steps:
        yield step
        for child in step.children():
            yield from walk_steps(child)


__all__ = [
    "ANY_NAME",
    "COMMON_KEYS",
    "PLACE_FIELDS",
    "STEP_KINDS",
    "ActionStep",
    "DefinedName",
    "FailStep",
    "ForEachStep",
    "IfStep",
    "LogStep",
    "Scope",
    "SetStep",
    "Step",
    "StepBase",
    "StepChecker",
    "StepRunner",
    "TryStep",
    "field_schema",
    "holds_steps",
    "step_schema",
    "walk_steps",
]
