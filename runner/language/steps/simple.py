"""The steps that need no robot: `set` names values, `log` writes a message, `fail` stops with a business error."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.language.loader import Location
from runner.language.steps.base import DefinedName, Scope, StepBase, StepChecker, StepRunner, find_template
from runner.language.values import Name


class SetStep(StepBase):
    """`set`: give names to values (templates) for the steps after it."""

    kind: ClassVar[str] = "set"
    placeholders: ClassVar[dict[str, Any]] = {"values": {}}
    example: ClassVar[str] = "set: {objet: Relance}"
    values: dict[Name, Any] = Field(alias="set")

    def default_label(self) -> str:
        return "set " + ", ".join(self.values)

    def names_defined(self, broken: frozenset[str]) -> list[DefinedName]:
        return [DefinedName(name, "set", (*self.path, "set", name), at_key=True) for name in self.values]

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        for name, value in self.values.items():
            checker.check_templates(value, (*self.path, "set", name), scope)
        return scope | set(self.values)

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        with runner.recorded(self, lane, item):
            for name, value in self.values.items():
                scope[name] = runner.render(self, value, scope, item, f"set.{name}")

    def template_location(self, where: str, template: str) -> Location:
        head, _, name = where.partition(".")
        if head == "set":
            return (*self.path, "set", name, *find_template(self.values.get(name), template))
        return super().template_location(where, template)


class LogStep(StepBase):
    """`log`: write a message to the console, the audit log and the report."""

    kind: ClassVar[str] = "log"
    placeholders: ClassVar[dict[str, Any]] = {"message": ""}
    example: ClassVar[str] = "log: Bonjour"
    message: str = Field(alias="log")
    level: Literal["info", "warning", "error"] = "info"

    def default_label(self) -> str:
        return "log"

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        checker.check_templates(self.message, (*self.path, self.kind), scope)
        return scope

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        with runner.recorded(self, lane, item):
            message = str(runner.render(self, self.message, scope, item, "log"))
            runner.check_encodable(self, "log", {"message": message}, item)
            runner.report(self, self.level, message, item)


class FailStep(StepBase):
    """`fail`: stop the step (the item, in a loop) with a business error and this message."""

    kind: ClassVar[str] = "fail"
    placeholders: ClassVar[dict[str, Any]] = {"message": ""}
    example: ClassVar[str] = "fail: Dossier incomplet"
    message: str = Field(alias="fail")

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        checker.check_templates(self.message, (*self.path, self.kind), scope)
        return scope

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        with runner.recorded(self, lane, item):
            runner.raise_business_error(
                self, str(runner.render(self, self.message, scope, item, "fail")), item
            )
