"""The workflow language as typed models, and the parser that builds them from loaded YAML.

A workflow is a mapping with `name`, `steps` and optional `description`, `version`, `inputs`, `vars`,
`secrets`, `defaults`, `schedule` and `browser`. A step is a mapping whose kind is given by exactly one of its
keys: `robot.action`, `for_each`, `if`, `try`, `set`, `log` or `fail`.

`parse_workflow` never raises for bad input: it returns the model it could build (or None) and a diagnostic
for every problem, each pointing at the YAML node it concerns.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from runner.diagnostics import Diagnostic, did_you_mean, one_of
from runner.loader import LoadedDocument, Location, Span, SpanIndex

InputType = Literal["string", "number", "integer", "boolean", "date", "file", "folder", "list"]
OnError = Literal["fail", "continue"]
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Identifier = Annotated[str, Field(pattern=IDENTIFIER.pattern)]
PositiveSeconds = Annotated[float, Field(gt=0, le=7 * 86_400)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


class InputSpec(_Model):
    type: InputType = "string"
    description: str = ""
    default: Any = None
    required: bool | None = None
    choices: list[Any] | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class RetryPolicy(_Model):
    attempts: Annotated[int, Field(ge=1, le=100)] = 1
    delay: Annotated[float, Field(ge=0, le=3600)] = 1.0
    backoff: Annotated[float, Field(ge=1, le=10)] = 1.0
    max_delay: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    jitter: Annotated[float, Field(ge=0, le=3600)] = 0.0


class Defaults(_Model):
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy = RetryPolicy()


class ScheduleEntry(_Model):
    cron: str | None = None
    every: Annotated[float, Field(gt=0)] | None = None
    at: dt.datetime | None = None
    timezone: str = "Europe/Paris"
    inputs: dict[str, Any] = Field(default_factory=dict)
    jitter: Annotated[float, Field(ge=0)] = 0.0
    enabled: bool = True
    name: str | None = None


class BrowserSettings(_Model):
    headless: bool = True
    executable: str | None = None
    slow_mo: Annotated[float, Field(ge=0)] = 0.0
    timeout: PositiveSeconds = 10.0
    viewport: dict[str, int] | None = None
    trace: Literal["off", "on_failure"] = "on_failure"


class StepBase(_Model):
    """What every step has: where it stands, an optional name, id and condition."""

    kind: ClassVar[str] = ""
    span: Span
    path: tuple[Any, ...]
    name: str | None = None
    id: Identifier | None = None
    when: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.default_label()

    def default_label(self) -> str:
        return self.kind

    def children(self) -> list[list[Step]]:
        """The nested step lists of this step (for walking the plan)."""
        return []


class ActionStep(StepBase):
    kind: ClassVar[str] = "action"
    robot: str
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    save: Identifier | None = None
    timeout: PositiveSeconds | None = None
    retry: RetryPolicy | None = None
    on_error: OnError | list[Step] = "fail"

    def default_label(self) -> str:
        return f"{self.robot}.{self.action}"

    def children(self) -> list[list[Step]]:
        return [self.on_error] if isinstance(self.on_error, list) else []


class ForEachStep(StepBase):
    kind: ClassVar[str] = "for_each"
    items: str | list[Any] = Field(alias="for_each")
    as_: Identifier = Field("item", alias="as")
    key: str | None = None
    parallel: Annotated[int, Field(ge=1, le=32)] | str = 1
    setup: list[Step] = Field(default_factory=list)
    steps: list[Step]
    collect: dict[str, Any] | None = None
    save: Identifier | None = None
    on_error: OnError = "continue"
    retry: RetryPolicy | None = None

    def default_label(self) -> str:
        return f"for each {self.as_}"

    def children(self) -> list[list[Step]]:
        return [self.setup, self.steps]


class IfStep(StepBase):
    kind: ClassVar[str] = "if"
    condition: str = Field(alias="if")
    then: list[Step]
    else_: list[Step] = Field(default_factory=list, alias="else")

    def default_label(self) -> str:
        return f"if {self.condition}"

    def children(self) -> list[list[Step]]:
        return [self.then, self.else_]


class TryStep(StepBase):
    kind: ClassVar[str] = "try"
    body: list[Step] = Field(alias="try")
    on_error: OnError | list[Step] = "fail"

    def children(self) -> list[list[Step]]:
        return [self.body, *([self.on_error] if isinstance(self.on_error, list) else [])]


class SetStep(StepBase):
    kind: ClassVar[str] = "set"
    values: dict[Identifier, Any] = Field(alias="set")

    def default_label(self) -> str:
        return "set " + ", ".join(self.values)


class LogStep(StepBase):
    kind: ClassVar[str] = "log"
    message: str = Field(alias="log")
    level: Literal["info", "warning", "error"] = "info"

    def default_label(self) -> str:
        return "log"


class FailStep(StepBase):
    kind: ClassVar[str] = "fail"
    message: str = Field(alias="fail")


Step = Union[ActionStep, ForEachStep, IfStep, TryStep, SetStep, LogStep, FailStep]  # noqa: UP007
STEP_CLASSES: dict[str, type[StepBase]] = {
    "for_each": ForEachStep,
    "if": IfStep,
    "try": TryStep,
    "set": SetStep,
    "log": LogStep,
    "fail": FailStep,
}
for _cls in (ActionStep, ForEachStep, IfStep, TryStep):
    _cls.model_rebuild()


class Workflow(_Model):
    name: str
    description: str = ""
    version: str | int | float | None = None
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    vars: dict[Identifier, Any] = Field(default_factory=dict)
    secrets: list[Identifier] = Field(default_factory=list)
    defaults: Defaults = Defaults()
    schedule: list[ScheduleEntry] = Field(default_factory=list)
    browser: BrowserSettings = BrowserSettings()
    steps: list[Step]
    file: str = "<workflow>"

    def walk(self) -> Iterable[Step]:
        """Every step, depth first."""
        return walk_steps(self.steps)


def walk_steps(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        for child in step.children():
            yield from walk_steps(child)


COMMON_KEYS = ("name", "id", "when")
ACTION_KEYS = ("save", "timeout", "retry", "on_error")
KIND_KEYS = tuple(STEP_CLASSES)
WORKFLOW_KEYS = tuple(name for name in Workflow.model_fields if name != "file")


class _Parser:
    """Builds models from loaded data, collecting a diagnostic per problem instead of raising."""

    def __init__(self, document: LoadedDocument) -> None:
        self.document = document
        self.spans: SpanIndex = document.spans
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: Location, code: str, message: str, *, at_key: bool = False, **extra: Any) -> None:
        span = self.spans.key(path) if at_key else self.spans.value(path)
        self.diagnostics.append(Diagnostic(span, code, message, **extra))

    def check(self, annotation: Any, value: Any, path: Location, what: str) -> tuple[bool, Any]:
        """Validate one value against a type; report wrong types at the offending node."""
        try:
            return True, TypeAdapter(annotation).validate_python(value)
        except ValidationError as exc:
            for problem in exc.errors():
                where = (*path, *problem["loc"])
                self.report_pydantic(problem, where, what)
            return False, None

    def report_pydantic(self, problem: Any, where: Location, what: str) -> None:
        kind = problem["type"]
        if kind == "extra_forbidden":
            allowed = self._allowed_keys_for(where[:-1])
            self.error(
                where,
                "unknown-key",
                f"{what} has no key '{where[-1]}'",
                at_key=True,
                expected=one_of(allowed) if allowed else None,
                hint=did_you_mean(str(where[-1]), allowed),
            )
        elif kind == "missing":
            self.error(where[:-1], "missing-key", f"{what} needs the key '{where[-1]}'")
        else:
            inner = [str(part) for part in problem["loc"] if isinstance(part, str)]
            name = ".".join([what.strip("'"), *inner]) if inner else what.strip("'")
            hint = None
            if kind == "literal_error" and isinstance(problem.get("input"), str):
                choices = re.findall(r"'([^']*)'", str(problem.get("ctx", {}).get("expected", "")))
                hint = did_you_mean(problem["input"], choices)
            self.error(
                where,
                "wrong-type",
                f"'{name}': {problem['msg'][:1].lower()}{problem['msg'][1:]}",
                found=_show(problem.get("input")),
                hint=hint,
            )

    def _allowed_keys_for(self, path: Location) -> list[str]:
        parent = path[-1] if path else None
        models: dict[Any, type[BaseModel]] = {
            "defaults": Defaults,
            "retry": RetryPolicy,
            "browser": BrowserSettings,
        }
        if len(path) >= 2 and path[-2] == "inputs":
            return list(InputSpec.model_fields)
        if len(path) >= 2 and path[-2] == "schedule":
            return list(ScheduleEntry.model_fields)
        model = models.get(parent)
        return list(model.model_fields) if model else []

    def workflow(self) -> Workflow | None:
        data = self.document.data
        if data is None:
            self.error(
                (), "empty-workflow", "the file is empty", hint="a workflow needs at least 'name' and 'steps'"
            )
            return None
        if not isinstance(data, dict):
            self.error(
                (), "wrong-type", "a workflow must be a mapping of keys (name, steps, …)", found=_show(data)
            )
            return None
        fields: dict[str, Any] = {"file": self.document.path}
        for key in data:
            if key not in WORKFLOW_KEYS:
                self.error(
                    (key,),
                    "unknown-key",
                    f"a workflow has no key '{key}'",
                    at_key=True,
                    expected=one_of(WORKFLOW_KEYS),
                    hint=did_you_mean(str(key), WORKFLOW_KEYS),
                )
        for key in ("name", "steps"):
            if key not in data:
                self.error((), "missing-key", f"a workflow needs the key '{key}'", hint=_MISSING_HINTS[key])
        for key, field in Workflow.model_fields.items():
            if key in ("steps", "file") or key not in data:
                continue
            valid, value = self.check(field.annotation, data[key], (key,), f"'{key}'")
            if valid:
                fields[key] = value
        if "steps" in data:
            steps = self.steps(data["steps"], ("steps",))
            if steps is not None:
                fields["steps"] = steps
        if "name" not in fields:
            fields["name"] = "?"
        # Built from the parts that were valid, so semantic checks can still report on the rest.
        fields.setdefault("steps", [])
        try:
            return Workflow.model_validate(fields)
        except ValidationError as exc:  # a rule the per-field checks did not cover
            for problem in exc.errors():
                self.report_pydantic(problem, tuple(problem["loc"]), "the workflow")
            return None

    def steps(self, data: Any, path: Location) -> list[Step] | None:
        if not isinstance(data, list):
            self.error(
                path, "wrong-type", "steps must be a list, each step starting with '- '", found=_show(data)
            )
            return None
        if not data:
            self.error(path, "empty-steps", "this list of steps is empty", hint="add at least one step")
            return []
        parsed: list[Step] = []
        for index, item in enumerate(data):
            step = self.step(item, (*path, index))
            if step is not None:
                parsed.append(step)
        return parsed

    def step(self, data: Any, path: Location) -> Step | None:
        if not isinstance(data, dict):
            self.error(
                path,
                "wrong-type",
                "a step must be a mapping, e.g. '- log: Bonjour'",
                found=_show(data),
            )
            return None
        kinds = [key for key in data if key in STEP_CLASSES or (isinstance(key, str) and "." in key)]
        if not kinds:
            unknown = [k for k in data if k not in COMMON_KEYS + ACTION_KEYS]
            guess = did_you_mean(str(unknown[0]), KIND_KEYS) if unknown else None
            self.error(
                (*path, next(iter(data))) if data else path,
                "missing-action",
                "this step does nothing: it needs an action (robot.action) or one of " + ", ".join(KIND_KEYS),
                found="keys " + ", ".join(str(k) for k in data) if data else "an empty mapping",
                hint=guess or "for example: '- log: Bonjour' or '- data.set: {value: 1}'",
                at_key=bool(data),
            )
            return None
        if len(kinds) > 1:
            self.error(
                (*path, kinds[1]),
                "ambiguous-step",
                f"a step does one thing, this one has both '{kinds[0]}' and '{kinds[1]}'",
                at_key=True,
                hint="split it into two steps, each starting with '- '",
            )
            return None
        kind = kinds[0]
        span = self.spans.key((*path, kind))
        if kind in STEP_CLASSES:
            return self.structured_step(STEP_CLASSES[kind], data, path, span)
        return self.action_step(kind, data, path, span)

    def structured_step(
        self, cls: type[StepBase], data: dict[Any, Any], path: Location, span: Span
    ) -> Step | None:
        fields: dict[str, Any] = {"span": span, "path": path}
        aliases = {
            (f.alias or name): name for name, f in cls.model_fields.items() if name not in ("span", "path")
        }
        ok = True
        for key, value in data.items():
            if key not in aliases:
                allowed = list(aliases)
                self.error(
                    (*path, key),
                    "unknown-key",
                    f"a '{cls.kind}' step has no key '{key}'",
                    at_key=True,
                    expected=one_of(allowed),
                    hint=did_you_mean(str(key), allowed),
                )
                ok = False
                continue
            name = aliases[key]
            annotation = cls.model_fields[name].annotation
            if _holds_steps(annotation):
                parsed = self.step_list_or_choice(value, (*path, key), annotation)
                if parsed is _INVALID:
                    ok = False
                else:
                    fields[name] = parsed
                continue
            valid, converted = self.check(annotation, value, (*path, key), f"'{key}'")
            ok = ok and valid
            if valid:
                fields[name] = converted
        for name, field in cls.model_fields.items():
            if field.is_required() and name not in fields and name not in ("span", "path"):
                if ok:  # report a missing key only when the keys given were right
                    self.error(
                        (*path, cls.kind),
                        "missing-key",
                        f"a '{cls.kind}' step needs the key '{field.alias or name}'",
                        at_key=True,
                        hint=_MISSING_HINTS.get(field.alias or name),
                    )
                ok = False
        if not ok:
            return None
        return cls.model_validate(fields)  # type: ignore[return-value]

    def step_list_or_choice(self, value: Any, path: Location, annotation: Any) -> Any:
        if isinstance(value, str) and not isinstance(annotation, type):
            valid, converted = self.check(OnError, value, path, f"'{path[-1]}'")
            return converted if valid else _INVALID
        parsed = self.steps(value, path)
        return _INVALID if parsed is None else parsed

    def action_step(self, kind: str, data: dict[Any, Any], path: Location, span: Span) -> Step | None:
        robot, _, action_name = kind.partition(".")
        params = data[kind]
        ok = True
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self.error(
                (*path, kind),
                "wrong-type",
                f"the parameters of {kind} must be a mapping, e.g. {{label: Nom, value: Dupont}}",
                found=_show(params),
            )
            ok = False
            params = {}
        fields: dict[str, Any] = {
            "span": span,
            "path": path,
            "robot": robot,
            "action": action_name,
            "params": params,
        }
        allowed = [*COMMON_KEYS, *ACTION_KEYS]
        for key, value in data.items():
            if key == kind:
                continue
            if key not in allowed:
                self.error(
                    (*path, key),
                    "unknown-key",
                    f"an action step has no key '{key}'",
                    at_key=True,
                    expected=one_of(allowed),
                    hint=did_you_mean(str(key), allowed),
                )
                ok = False
                continue
            annotation = ActionStep.model_fields[key].annotation
            if key == "on_error":
                parsed = self.step_list_or_choice(value, (*path, key), annotation)
                if parsed is _INVALID:
                    ok = False
                else:
                    fields[key] = parsed
                continue
            valid, converted = self.check(annotation, value, (*path, key), f"'{key}'")
            ok = ok and valid
            if valid:
                fields[key] = converted
        if not ok:
            return None
        return ActionStep.model_validate(fields)


_INVALID = object()
_MISSING_HINTS = {
    "name": "add a line 'name: <what this workflow does>' at the top",
    "steps": "add 'steps:' followed by a list of steps, each starting with '- '",
    "then": "add 'then:' with the steps to run when the condition is true",
    "steps_for_each": "add 'steps:' with the steps to run for each item",
}


def _holds_steps(annotation: Any) -> bool:
    text = str(annotation)
    return "Step" in text and "list" in text


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_workflow(document: LoadedDocument) -> tuple[Workflow | None, list[Diagnostic]]:
    """Build the typed workflow from a loaded document; every problem becomes a diagnostic."""
    parser = _Parser(document)
    workflow = parser.workflow()
    return workflow, parser.diagnostics
