"""Static checks of a workflow: a list of diagnostics, never an exception for bad input.

Checks, in one pass over the file so every error is reported at once: YAML syntax, the structure of the
language (`runner.model`), actions and their parameters (from each action's spec), template syntax, filters and
references to names that cannot be defined at that point, duplicate step ids, schedules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.diagnostics import Diagnostic, closest, did_you_mean, one_of
from runner.loader import LoadedDocument, Location, Span, YamlSyntaxError, load_workflow_file, walk
from runner.model import (
    ActionStep,
    FailStep,
    ForEachStep,
    IfStep,
    LogStep,
    SetStep,
    Step,
    TryStep,
    Workflow,
    parse_workflow,
)
from runner.templating import (
    FILTER_NAMES,
    as_expression_template,
    attribute_references,
    filters_used,
    is_template,
    known_filters,
    referenced_names,
    syntax_problem,
)

BUILTIN_NAMES = frozenset({"inputs", "vars", "secrets", "env", "run", "now", "today", "loop"})


@dataclass
class ValidationResult:
    """The outcome of validating one file: the model (when it could be built) and every diagnostic."""

    path: str
    workflow: Workflow | None
    diagnostics: list[Diagnostic]
    document: LoadedDocument | None = None
    source_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def validate_file(path: str | Path) -> ValidationResult:
    """Load and check a workflow file."""
    name = str(path)
    try:
        document = load_workflow_file(path)
    except FileNotFoundError:
        return _fail(name, "file-not-found", f"no such file: {name}", "check the path and the file name")
    except IsADirectoryError:
        return _fail(name, "file-not-found", f"{name} is a folder, not a workflow file", None)
    except UnicodeDecodeError as exc:
        return _fail(name, "encoding", f"the file is not UTF-8 text ({exc.reason})", "save the file as UTF-8")
    except OSError as exc:
        return _fail(name, "file-not-readable", f"cannot read {name}: {exc.strerror}", None)
    except YamlSyntaxError as exc:
        lines = _read_lines(name)
        diagnostic = Diagnostic(exc.span, "yaml-syntax", exc.message, hint=exc.hint)
        return ValidationResult(name, None, [diagnostic], None, lines)
    return validate_document(document)


def validate_document(document: LoadedDocument) -> ValidationResult:
    workflow, diagnostics = parse_workflow(document)
    structural_errors = bool(diagnostics)
    if workflow is not None:
        checker = _SemanticChecker(document, workflow, lenient_names=_names_defined_anywhere(document.data))
        checker.run(strict_names=not structural_errors)
        diagnostics.extend(checker.diagnostics)
    diagnostics = _unique_sorted(diagnostics)
    return ValidationResult(document.path, workflow, diagnostics, document, document.source_lines())


def _fail(path: str, code: str, message: str, hint: str | None) -> ValidationResult:
    return ValidationResult(path, None, [Diagnostic(Span(path, 1, 1), code, message, hint=hint)])


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _unique_sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (diagnostic.span, diagnostic.code, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


def _names_defined_anywhere(data: Any) -> set[str]:
    """Names that some step of the raw data defines (used when structural errors hid steps)."""
    names: set[str] = set()
    for path, value in walk(data):
        if not path:
            continue
        if path[-1] in ("save", "as") and isinstance(value, str):
            names.add(value)
        if path[-1] == "set" and isinstance(value, dict):
            names.update(str(key) for key in value)
    return names


class _SemanticChecker:
    def __init__(self, document: LoadedDocument, workflow: Workflow, lenient_names: set[str]) -> None:
        self.document = document
        self.spans = document.spans
        self.workflow = workflow
        self.diagnostics: list[Diagnostic] = []
        self.lenient_names = lenient_names
        self.strict_names = True

    def error(self, span: Span, code: str, message: str, **extra: Any) -> None:
        self.diagnostics.append(Diagnostic(span, code, message, **extra))

    def run(self, strict_names: bool) -> None:
        self.strict_names = strict_names
        self.check_ids()
        self.check_inputs()
        self.check_schedule()
        scope = set(BUILTIN_NAMES) | set(self.workflow.vars)
        for name, value in self.workflow.vars.items():
            self.check_templates(value, ("vars", name), scope - {name})
        self.check_steps(self.workflow.steps, scope)

    def check_ids(self) -> None:
        first: dict[str, Step] = {}
        for step in self.workflow.walk():
            if step.id is None:
                continue
            if step.id in first:
                original = first[step.id].span
                self.error(
                    self.spans.value((*step.path, "id")),
                    "duplicate-id",
                    f"the step id '{step.id}' is already used at line {original.line}",
                    hint="step ids must be unique within a workflow",
                )
            else:
                first[step.id] = step

    def check_inputs(self) -> None:
        from pydantic import TypeAdapter, ValidationError

        from runner.inputs import INPUT_PYTHON_TYPES

        for name, spec in self.workflow.inputs.items():
            if spec.default is None:
                continue
            try:
                TypeAdapter(INPUT_PYTHON_TYPES[spec.type]).validate_python(spec.default)
            except ValidationError:
                self.error(
                    self.spans.value(("inputs", name, "default")),
                    "wrong-type",
                    f"the default of input '{name}' is not a {spec.type}",
                    found=repr(spec.default),
                )
            if spec.choices is not None and spec.default not in spec.choices:
                self.error(
                    self.spans.value(("inputs", name, "default")),
                    "wrong-type",
                    f"the default of input '{name}' is not one of its choices",
                    expected=one_of(str(c) for c in spec.choices),
                    found=repr(spec.default),
                )

    def check_schedule(self) -> None:
        from runner.schedule_check import schedule_problems

        for index, entry in enumerate(self.workflow.schedule):
            for key, code, message, hint in schedule_problems(entry, set(self.workflow.inputs)):
                path: Location = ("schedule", index, key) if key else ("schedule", index)
                self.error(self.spans.value(path), code, message, hint=hint)

    def check_steps(self, steps: Sequence[Step], scope: set[str]) -> set[str]:
        """Check steps in order; returns the scope after them (names saved or set along the way)."""
        scope = set(scope)
        for step in steps:
            if step.when is not None:
                self.check_expression(step.when, (*step.path, "when"), scope)
            if isinstance(step, ActionStep):
                self.check_action(step, scope)
                if isinstance(step.on_error, list):
                    self.check_steps(step.on_error, scope | {"error"})
                if step.save:
                    scope.add(step.save)
            elif isinstance(step, ForEachStep):
                if isinstance(step.items, str):
                    self.check_expression(step.items, (*step.path, "for_each"), scope)
                else:
                    self.check_templates(step.items, (*step.path, "for_each"), scope)
                if step.setup:
                    scope = scope | self.check_steps(step.setup, scope)
                inner = scope | {step.as_, "loop"}
                if step.key is not None:
                    self.check_expression(step.key, (*step.path, "key"), inner)
                if isinstance(step.parallel, str):
                    self.check_expression(step.parallel, (*step.path, "parallel"), scope)
                after_item = self.check_steps(step.steps, inner)
                if step.collect is not None:
                    self.check_templates(step.collect, (*step.path, "collect"), after_item)
                if step.save:
                    scope.add(step.save)
            elif isinstance(step, IfStep):
                self.check_expression(step.condition, (*step.path, "if"), scope)
                after_then = self.check_steps(step.then, scope)
                after_else = self.check_steps(step.else_, scope) if step.else_ else scope
                scope |= after_then | after_else
            elif isinstance(step, TryStep):
                after = self.check_steps(step.body, scope)
                if isinstance(step.on_error, list):
                    self.check_steps(step.on_error, scope | {"error"})
                scope |= after
            elif isinstance(step, SetStep):
                for name, value in step.values.items():
                    self.check_templates(value, (*step.path, "set", name), scope)
                scope |= set(step.values)
            elif isinstance(step, LogStep | FailStep):
                self.check_templates(step.message, (*step.path, step.kind), scope)
        return scope

    def check_action(self, step: ActionStep, scope: set[str]) -> None:
        from robots import UnknownRobotError, robot_class, robot_names

        qualified = f"{step.robot}.{step.action}"
        key_span = step.span
        params_path = (*step.path, qualified)
        try:
            cls = robot_class(step.robot)
        except UnknownRobotError:
            names = robot_names()
            candidates = [f"{r}.{a}" for r in names for a in _safe_actions(r)]
            self.error(
                Span(key_span.file, key_span.line, key_span.col, key_span.col + len(step.robot)),
                "unknown-action",
                f"there is no robot '{step.robot}'",
                expected=one_of(names),
                hint=did_you_mean(qualified, candidates) or did_you_mean(step.robot, names),
            )
            return
        except ImportError as exc:
            self.error(key_span, "robot-unavailable", f"the robot '{step.robot}' cannot be loaded: {exc}")
            return
        specs = cls.action_specs()
        spec = specs.get(step.action)
        if spec is None:
            self.error(
                Span(key_span.file, key_span.line, key_span.col, key_span.col + len(qualified)),
                "unknown-action",
                f"the {step.robot} robot has no action '{step.action}'",
                expected=one_of(specs),
                hint=did_you_mean(step.action, specs),
            )
            return
        misspelt: set[str] = set()
        for name, value in step.params.items():
            path = (*params_path, name)
            if name not in spec.parameters:
                misspelt.update(closest(str(name), spec.parameters))
                self.error(
                    self.spans.key(path),
                    "unknown-parameter",
                    f"{qualified} has no parameter '{name}'",
                    expected=one_of(spec.parameters),
                    hint=did_you_mean(str(name), spec.parameters),
                )
                continue
            self.check_templates(value, path, scope)
            if _contains_template(value):
                continue
            problem = spec.check_value(name, value)
            if problem is not None:
                self.error(
                    self.spans.value(path),
                    "wrong-type",
                    f"{qualified}: parameter '{name}' {problem[:1].lower()}{problem[1:]}",
                    expected=spec.parameters[name].type_text(),
                    found=repr(value),
                )
        given = set(step.params)
        missing = [p.name for p in spec.parameters.values() if p.required and p.name not in given]
        for name in missing:
            if name in misspelt:  # already reported as the misspelt parameter, with a hint
                continue
            self.error(
                key_span,
                "missing-parameter",
                f"{qualified} needs the parameter '{name}'",
                expected=f"{name}: {spec.parameters[name].type_text()} — {spec.parameters[name].description}",
            )
        for problem in spec.group_problems(given & set(spec.parameters)):
            self.error(key_span, "parameter-group", problem)

    def check_expression(self, expression: str, path: Location, scope: set[str]) -> None:
        self.check_template_text(as_expression_template(expression), path, scope)

    def check_templates(self, value: Any, path: Location, scope: set[str]) -> None:
        for sub_path, item in walk(value, path):
            if is_template(item):
                self.check_template_text(item, sub_path, scope)

    def check_template_text(self, text: str, path: Location, scope: set[str]) -> None:
        span = self.spans.value(path)
        problem = syntax_problem(text)
        if problem is not None:
            self.error(span, "template-syntax", f"this template cannot be read: {problem}", found=text)
            return
        allowed = scope if self.strict_names else scope | self.lenient_names
        for name in sorted(referenced_names(text) - allowed):
            self.error(
                span,
                "undefined-variable",
                f"'{name}' is not defined at this point",
                hint=did_you_mean(name, allowed) or _scope_hint(allowed),
            )
        for root, declared, what in (
            ("inputs", set(self.workflow.inputs), "input"),
            ("secrets", set(self.workflow.secrets), "secret"),
            ("vars", set(self.workflow.vars), "variable"),
        ):
            for attribute in attribute_references(text, root):
                if attribute not in declared:
                    self.error(
                        span,
                        "undefined-variable",
                        f"the workflow declares no {what} '{attribute}'",
                        hint=did_you_mean(attribute, declared) or f"declare it under '{root}:' at the top",
                    )
        for unknown in sorted(filters_used(text) - known_filters()):
            self.error(
                span,
                "unknown-filter",
                f"there is no filter '{unknown}'",
                hint=did_you_mean(unknown, known_filters()) or "Rob'O filters: " + ", ".join(FILTER_NAMES),
            )


def _scope_hint(scope: set[str]) -> str:
    user = sorted(scope - BUILTIN_NAMES)
    base = "inputs, vars, secrets, env, run"
    return f"names defined here: {base}" + (", " + ", ".join(user) if user else "")


def _contains_template(value: Any) -> bool:
    return any(is_template(item) for _, item in walk(value))


def _safe_actions(robot: str) -> list[str]:
    from robots import robot_class

    try:
        return list(robot_class(robot).action_specs())
    except Exception:  # a broken plugin must not break the hint
        return []
