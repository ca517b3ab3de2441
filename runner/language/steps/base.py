"""What every step kind has, and the two sides a kind is dispatched to: the validator and the engine.

A step kind is one class (`runner.language.steps`): its fields, the keys it is written with, what the parser
puts in a field it could not read, the hint for a missing key, an example, how it is checked (`check`, given a
`StepChecker`) and how it runs (`run`, given a `StepRunner`). The two Protocols name what the validator and
the engine offer, so that the language never imports the engine: `Engine` and the validator's checker satisfy
them structurally.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NoReturn, Protocol, Union

from pydantic import AfterValidator, Field

from robots.kit import RoboError, Span
from runner.language.loader import Location
from runner.language.values import Identifier, LanguageModel, not_blank

if TYPE_CHECKING:
    from runner.language.steps import Step
    from runner.language.steps.action import ActionStep
    from runner.language.steps.for_each import ForEachStep

PLACE_FIELDS = ("span", "path")
"""The fields the parser fills from where a step stands, never written in the file."""
COMMON_KEYS = ("name", "id", "when")
"""The keys every step may have, whatever its kind."""
ANY_NAME = "*"
"""A name in a validator's scope that stands for "any name": the loop variable of a for_each whose `as` is wrong."""

Scope = MutableMapping[str, Any]
"""What a step's templates see: the run's names (`inputs`, `vars`…) and those the steps before it defined."""


@dataclass(frozen=True, slots=True)
class DefinedName:
    """A name a step defines for the steps after it: `how` ("saved", "set" or "loop") and where it is written."""

    name: str
    how: str
    where: Location
    at_key: bool = False


class StepChecker(Protocol):
    """What the validator offers a step kind's `check`."""

    def check_steps(self, steps: Sequence[Step], scope: set[str]) -> set[str]: ...

    def check_expression(self, expression: str, path: Location, scope: set[str], what: str) -> None: ...

    def check_templates(
        self, value: Any, path: Location, scope: set[str], *, hidden: str | None = None
    ) -> None: ...

    def check_action(self, step: ActionStep, scope: set[str], broken: frozenset[str]) -> None: ...

    def check_loop_key(self, step: ForEachStep, scope: set[str], saved_by_setup: set[str]) -> None: ...

    def check_lanes(self, loop: ForEachStep) -> None: ...

    def check_changes_are_checked(self, loop: ForEachStep) -> None: ...


class FailedStep(Protocol):
    """A step that failed, as the steps handling its failure see it (the engine's `StepFailure`)."""

    @property
    def step(self) -> StepBase: ...

    @property
    def error(self) -> RoboError: ...


class StepRunner(Protocol):
    """What the engine offers a step kind's `run`: the same for every kind (`lane` is the engine's own: the
    language does not look in it). A template or a condition that does not render, a text that cannot be
    encoded and `fail` stop the step with the run's failure, which the engine records and handles."""

    def render(self, step: StepBase, value: Any, scope: Scope, item: str | None, where: str) -> Any:
        """`value` with its templates rendered in `scope`; `where` names it in the messages (`set.objet`)."""
        ...

    def condition(self, step: StepBase, expression: str, scope: Scope, item: str | None, where: str) -> bool:
        """Whether `expression` holds in `scope`."""
        ...

    def check_encodable(self, step: StepBase, what: str, values: Mapping[str, Any], item: str | None) -> None:
        """Fail the step when one of `values` holds text no file, database or screen can take."""
        ...

    def report(self, step: StepBase, level: str, message: str, item: str | None) -> None:
        """A message of the step to the console, the audit log and the report."""
        ...

    def raise_business_error(self, step: StepBase, message: str, item: str | None) -> NoReturn:
        """Stop the step (the item, in a loop) with a business error."""
        ...

    def recorded(self, step: StepBase, lane: Any, item: str | None) -> AbstractContextManager[None]:
        """The step's start and end in the records, with its status (failed when a failure leaves the block)."""
        ...

    def execute_steps(self, steps: Sequence[Step], scope: Scope, lane: Any, item: str | None) -> None:
        """Run steps one after the other in `scope`."""
        ...

    def execute_steps_handling(
        self,
        steps: Sequence[Step],
        scope: Scope,
        lane: Any,
        item: str | None,
        handled: Callable[[FailedStep], bool],
    ) -> None:
        """Run steps; when one fails, `handled(failure)` says whether the failure stops there (else it goes on)."""
        ...

    def handle_error(
        self,
        step: StepBase,
        handler: list[Step],
        failure: FailedStep,
        scope: Scope,
        lane: Any,
        item: str | None,
    ) -> None:
        """Run the steps that handle a failure (`on_error:`), with `error` in their scope."""
        ...

    def execute_action(self, step: ActionStep, scope: Scope, lane: Any, item: str | None) -> None: ...

    def execute_loop(self, step: ForEachStep, scope: Scope, lane: Any, item: str | None) -> None: ...


class StepBase(LanguageModel):
    """What every step has: where it stands, an optional name, id and condition."""

    kind: ClassVar[str] = ""
    """The YAML key that names the kind (`log`), whose value is the kind's first field."""
    placeholders: ClassVar[dict[str, Any]] = {}
    """By field name: what a required field holds when its value was wrong or missing (the parser keeps the step
    so that the rest of it is still checked, and lists the field as broken)."""
    missing_hints: ClassVar[dict[str, str]] = {}
    """By YAML key: the hint for a required key that is missing."""
    example: ClassVar[str] = ""
    """A step of this kind as written in a workflow (one YAML list item, without its `- `)."""

    span: Span
    path: tuple[Any, ...]
    name: Annotated[str, AfterValidator(not_blank)] | None = Field(
        None, description="What the step does, in words a colleague understands."
    )
    id: Identifier | None = Field(None, description="A unique identifier.")
    when: str | None = Field(None, description="Run the step only when this expression is true.")

    @property
    def label(self) -> str:
        return self.name or self.default_label()

    def default_label(self) -> str:
        return self.kind

    def children(self) -> list[list[Step]]:
        """The nested step lists of this step (for walking the plan)."""
        return []

    @classmethod
    def yaml_keys(cls) -> set[str]:
        """The keys a step of this kind may be written with."""
        return {field.alias or name for name, field in cls.model_fields.items() if name not in PLACE_FIELDS}

    @classmethod
    def own_fields(cls) -> list[str]:
        """The fields of this kind beyond every step's, in the order they are declared."""
        return [name for name in cls.model_fields if name not in StepBase.model_fields]

    keeps_names_inside: ClassVar[bool] = False
    """Whether what its child steps define exists only inside it (a for_each's items), not after it."""

    def names_defined(self, broken: frozenset[str]) -> list[DefinedName]:
        """The names this step defines for the steps after it (or for its own steps), leaving out broken fields."""
        return []

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        """Check this step (its `when` is checked already); returns the scope for the steps after it."""
        raise NotImplementedError(f"the step kind '{self.kind}' has no check")

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        """Run this step (its `when` held)."""
        raise NotImplementedError(f"the step kind '{self.kind}' cannot run")

    def template_location(self, where: str, template: str) -> Location:
        """Where a template that the engine rendered as `where` stands in the workflow file."""
        return (*self.path, where)


def is_step(annotation: Any) -> bool:
    """Whether `annotation` is a step kind or a union of step kinds (`Step`)."""
    members = typing.get_args(annotation) or (annotation,)
    return all(isinstance(member, type) and issubclass(member, StepBase) for member in members)


def holds_steps(annotation: Any) -> bool:
    """Whether a field of this type may hold a list of steps (`steps`, `then`, an action's `on_error`…)."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else ()
    return any(
        typing.get_origin(member) is list and is_step(typing.get_args(member)[0])
        for member in (members or (annotation,))
    )


def find_template(value: Any, template: str) -> tuple[str | int, ...]:
    """The path of the string `template` inside nested lists and mappings (empty when it is not there)."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return ()
    for key, item in items:
        if item == template:
            return (key,)
        inner = find_template(item, template)
        if inner:
            return (key, *inner)
    return ()
