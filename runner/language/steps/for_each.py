"""The `for_each` step: the same steps for every item of a list, each item a work item of its own."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field

from robots.kit import N_
from runner.language.loader import Location
from runner.language.steps.base import (
    ANY_NAME,
    DefinedName,
    Scope,
    StepBase,
    StepChecker,
    StepRunner,
    find_template,
)
from runner.language.values import KeyDuplicates, Name, OnError, QueueName, RetryPolicy

if TYPE_CHECKING:
    from runner.language.steps import Step


SAVED_NAME = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*")


class ForEachStep(StepBase):
    """`for_each`: run `steps` for each item of a list (optionally in parallel lanes, each with its `setup`)."""

    kind: ClassVar[str] = "for_each"
    placeholders: ClassVar[dict[str, Any]] = {"items": [], "steps": []}
    missing_hints: ClassVar[dict[str, str]] = {
        "steps": N_("add 'steps:' followed by a list of steps, each starting with '- '")
    }
    example: ClassVar[str] = "for_each: [1, 2]\n    steps:\n      - log: '{{ item }}'"
    # The order of the fields is the order of the keys in `robo schema`.
    items: str | list[Any] = Field(alias="for_each")
    as_: Name = Field("item", alias="as")
    key: str | None = None
    key_duplicates: KeyDuplicates = Field(
        "error",
        description="Two items with the same key: refuse to start (error), or number them (D1#2).",
    )
    parallel: Annotated[int, Field(ge=1, le=32)] | str = 1
    distribute: bool | QueueName = Field(
        False,
        description=(
            "Spread the items over the fleet's workers (true, or the name of the queue whose workers can do"
            " them); `parallel` is then how many workers take them at once. Without a fleet (a PostgreSQL"
            " run store and `robo worker`s), the loop runs on this machine."
        ),
    )
    collect: dict[str, Any] | None = Field(None, description="Fields kept from each item, in the saved list.")
    save: Name | None = Field(None, description="Keep the list of item outcomes under this name.")
    setup: list[Step] = Field(default_factory=list)
    recover: list[Step] = Field(default_factory=list)
    already_done: list[Step] = Field(default_factory=list)
    steps: list[Step]
    on_error: OnError = "continue"
    retry: RetryPolicy | None = None

    def default_label(self) -> str:
        return f"for each {self.as_}"

    def items_name(self) -> str | None:
        """The saved result the loop goes through, when its items are one name (`for_each: "{{ demandes }}"`)."""
        saved = SAVED_NAME.fullmatch(self.items) if isinstance(self.items, str) else None
        return saved.group(1) if saved else None

    def queue(self) -> str:
        """The queue of the workers that can do this loop's items: the one named, else what its steps use (the
        desktop needs a machine with a screen; a browser, one with Chromium)."""
        if isinstance(self.distribute, str):
            return self.distribute
        from runner.language.steps import ActionStep, walk_steps

        robots = {step.robot for step in walk_steps(self.children_steps()) if isinstance(step, ActionStep)}
        if "desktop" in robots:
            return "desktop"
        return "browser" if "browser" in robots else "robo"

    def children_steps(self) -> list[Step]:
        return [step for steps in self.children() for step in steps]

    def children(self) -> list[list[Step]]:
        return [self.setup, self.steps, self.recover, self.already_done]

    keeps_names_inside: ClassVar[bool] = True

    def names_defined(self, broken: frozenset[str]) -> list[DefinedName]:
        names = []
        if self.save and "save" not in broken:
            names.append(DefinedName(self.save, "saved", (*self.path, "save")))
        if "as_" not in broken:
            names.append(DefinedName(self.as_, "loop", (*self.path, self.kind), at_key=True))
        return names

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        if "items" not in broken:
            if isinstance(self.items, str):
                checker.check_expression(self.items, (*self.path, "for_each"), scope, "expression")
            else:
                checker.check_templates(self.items, (*self.path, "for_each"), scope)
        lane_scope = checker.check_steps(self.setup, scope) if self.setup else scope
        item_names = {"loop", ANY_NAME if "as_" in broken else self.as_}
        inner = lane_scope | item_names
        if self.key is not None:
            checker.check_loop_key(self, scope | item_names, lane_scope - scope)
        if isinstance(self.parallel, str):
            checker.check_expression(self.parallel, (*self.path, "parallel"), scope, "expression")
        checker.check_lanes(self)
        after_item = checker.check_steps(self.steps, inner)
        if self.already_done:
            checker.check_steps(self.already_done, inner)
        else:
            checker.check_changes_are_checked(self)
        if self.recover:
            checker.check_steps(self.recover, inner | {"error"})
        if self.collect is not None:
            checker.check_templates(self.collect, (*self.path, "collect"), after_item)
        if self.save:
            scope.add(self.save)
        return scope

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        runner.execute_loop(self, scope, lane, item)

    def template_location(self, where: str, template: str) -> Location:
        if where == "for_each":
            return (*self.path, "for_each", *find_template(self.items, template))
        return super().template_location(where, template)
