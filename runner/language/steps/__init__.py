"""The step kinds of the language, one class each, and `STEP_KINDS`: the registry the parser, the validator,
`robo schema` and the engine read.

A new kind is a module with its class (fields, `placeholders`, `missing_hints`, `example`, `check`, `run`),
registered with `register_step_kind` (the built-in kinds: one line in `_BUILT_IN`), and a section of
docs/workflow-language.md; tests/language/test_step_kinds.py fails until all of these agree. `Step`, the union
the step lists are typed with, is derived from the same registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias, TypeVar, Union

from runner.language.steps.action import ActionStep
from runner.language.steps.base import (
    ANY_NAME,
    COMMON_KEYS,
    PLACE_FIELDS,
    DefinedName,
    FailedStep,
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

K = TypeVar("K", bound=type[StepBase])

STEP_KINDS: dict[str, type[StepBase]] = {}
"""The kinds named by a key of their own (`for_each:`…), by that key, in the order of `robo schema`; an action
step is named by `robot.action`."""


def register_step_kind(kind: K) -> K:
    """Make `kind` a step kind: the parser, the validator, `robo schema` and the engine read it from here."""
    if not kind.kind or kind.kind in STEP_KINDS or "." in kind.kind:
        raise ValueError(f"a step kind needs a key of its own without a dot: {kind.kind!r}")
    STEP_KINDS[kind.kind] = kind
    if "Step" in globals():  # a kind registered after the built-in ones: its step lists are typed with `Step`
        kind.model_rebuild(_types_namespace={"Step": Step})
    return kind


_BUILT_IN: tuple[type[StepBase], ...] = (ForEachStep, IfStep, TryStep, SetStep, LogStep, FailStep)
for _kind in _BUILT_IN:
    register_step_kind(_kind)

if TYPE_CHECKING:
    Step: TypeAlias = StepBase  # every kind is run and checked through its own methods: none is special-cased
else:
    Step = Union[(ActionStep, *STEP_KINDS.values())]
"""A step of any kind (the type of a list of steps)."""

_ALL_KINDS: tuple[type[StepBase], ...] = (ActionStep, *_BUILT_IN)
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
    "FailedStep",
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
    "register_step_kind",
    "step_schema",
    "walk_steps",
]
