"""The steps that choose which steps run: `if` on a condition, `try` on an error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from robots.kit import N_, _
from runner.language.steps.base import FailedStep, Scope, StepBase, StepChecker, StepRunner
from runner.language.values import OnError

if TYPE_CHECKING:
    from runner.language.steps import Step


class IfStep(StepBase):
    """`if`: run `then` when the condition is true, else `else`."""

    kind: ClassVar[str] = "if"
    placeholders: ClassVar[dict[str, Any]] = {"condition": "", "then": []}
    missing_hints: ClassVar[dict[str, str]] = {
        "then": N_("add 'then:' with the steps to run when the condition is true")
    }
    example: ClassVar[str] = "if: '{{ 1 > 0 }}'\n    then:\n      - log: oui\n    else:\n      - log: non"
    condition: str = Field(alias="if")
    then: list[Step]
    else_: list[Step] = Field(default_factory=list, alias="else")

    def default_label(self) -> str:
        return f"if {self.condition}"

    def children(self) -> list[list[Step]]:
        return [self.then, self.else_]

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        if "condition" not in broken:
            checker.check_expression(self.condition, (*self.path, "if"), scope, "condition")
        after_then = checker.check_steps(self.then, scope)
        after_else = checker.check_steps(self.else_, scope) if self.else_ else scope
        return scope | after_then | after_else

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        branch = self.then if runner.condition(self, self.condition, scope, item, "if") else self.else_
        runner.execute_steps(branch, scope, lane, item)


class TryStep(StepBase):
    """`try`: run the steps; on an error, fail, continue, or run the `on_error` steps."""

    kind: ClassVar[str] = "try"
    placeholders: ClassVar[dict[str, Any]] = {"body": []}
    example: ClassVar[str] = "try:\n      - fail: non\n    on_error: continue"
    body: list[Step] = Field(alias="try")
    on_error: OnError | list[Step] = "fail"

    def children(self) -> list[list[Step]]:
        return [self.body, *([self.on_error] if isinstance(self.on_error, list) else [])]

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        after = checker.check_steps(self.body, scope)
        if isinstance(self.on_error, list):
            checker.check_steps(self.on_error, scope | {"error"})
        return scope | after

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        def handled(failure: FailedStep) -> bool:
            if self.on_error == "fail":
                return False
            if self.on_error == "continue":
                runner.report(
                    self,
                    "warning",
                    _("'{step}' failed, continuing after the try block: {error}").format(
                        step=failure.step.label, error=failure.error.message
                    ),
                    item,
                )
            else:
                runner.handle_error(self, self.on_error, failure, scope, lane, item)
            return True

        runner.execute_steps_handling(self.body, scope, lane, item, handled)
