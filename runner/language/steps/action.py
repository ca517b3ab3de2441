"""The action step: `robot.action: {parameters}` calls one action of one robot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from runner.language.loader import Location
from runner.language.steps.base import DefinedName, Scope, StepBase, StepChecker, StepRunner, find_template
from runner.language.values import Name, OnError, PositiveSeconds, RetryPolicy

if TYPE_CHECKING:
    from runner.language.steps import Step


class ActionStep(StepBase):
    """`robot.action`: call an action of a robot with its parameters (the key names the action, not the kind)."""

    kind: ClassVar[str] = "action"
    example: ClassVar[str] = "data.set: {value: 1}"
    robot: str
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    save: Name | None = Field(None, description="Keep the result under this name.")
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy | None = None
    on_error: OnError | list[Step] = "fail"
    recover: list[Step] = Field(default_factory=list)
    allow_outside: bool = Field(
        False, description="Let paths built from data lead outside the workflow's folders."
    )
    """Let paths built from data lead outside the workflow's folder, the run's artifacts and the input folders."""

    NAMING_FIELDS: ClassVar[tuple[str, ...]] = ("robot", "action", "params")
    """The fields the step's key and value give (`robot.action: {params}`), not written as keys of their own."""

    @classmethod
    def option_keys(cls) -> list[str]:
        """The keys an action step may have beside its action and every step's keys (`save`, `timeout`…)."""
        return [name for name in cls.own_fields() if name not in cls.NAMING_FIELDS]

    def default_label(self) -> str:
        return f"{self.robot}.{self.action}"

    def children(self) -> list[list[Step]]:
        return [self.recover, *([self.on_error] if isinstance(self.on_error, list) else [])]

    def names_defined(self, broken: frozenset[str]) -> list[DefinedName]:
        if not self.save or "save" in broken:
            return []
        return [DefinedName(self.save, "saved", (*self.path, "save"))]

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        checker.check_action(self, scope, broken)
        if isinstance(self.on_error, list):
            checker.check_steps(self.on_error, scope | {"error"})
        if self.recover:
            checker.check_steps(self.recover, scope | {"error"})
        if self.save:
            scope.add(self.save)
        return scope

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        runner.execute_action(self, scope, lane, item)

    def template_location(self, where: str, template: str) -> Location:
        if where == "parameters":
            return (*self.path, f"{self.robot}.{self.action}", *find_template(self.params, template))
        return super().template_location(where, template)
