"""The workflow language as typed models, and the parser that builds them from loaded YAML.

A workflow is a mapping with `name`, `steps` and optional `description`, `version`, `inputs`, `vars`,
`secrets`, `defaults`, `schedule` and `browser`. A step is a mapping whose kind is given by exactly one of its
keys: `robot.action`, `for_each`, `if`, `try`, `set`, `log` or `fail`.

`parse_workflow` never raises for bad input: it returns the model it could build (or None) and a diagnostic
for every problem, each pointing at the YAML node it concerns.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import types
import typing
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
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
    run_timeout: PositiveSeconds | None = None


class ScheduleEntry(_Model):
    cron: str | None = None
    every: Annotated[float, Field(gt=0)] | None = None
    at: dt.datetime | None = None
    timezone: str = "Europe/Paris"
    inputs: dict[str, Any] = Field(default_factory=dict)
    jitter: Annotated[float, Field(ge=0)] = 0.0
    enabled: bool = True
    name: str | None = None
    skip: list[str] = Field(default_factory=list)
    closed_days_file: str | None = None
    between: list[str] | None = None
    working_days_only: bool = False
    misfire: Literal["run_once_late", "skip"] = "run_once_late"
    grace: Annotated[float, Field(ge=0)] | None = None


class NotifySettings(_Model):
    email: list[str] = Field(default_factory=list)
    webhook: str | None = None
    send_on: list[Literal["failure", "recovery", "success"]] = ["failure", "recovery"]


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
    recover: list[Step] = Field(default_factory=list)

    def default_label(self) -> str:
        return f"{self.robot}.{self.action}"

    def children(self) -> list[list[Step]]:
        return [self.recover, *([self.on_error] if isinstance(self.on_error, list) else [])]


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
    recover: list[Step] = Field(default_factory=list)
    already_done: list[Step] = Field(default_factory=list)

    def default_label(self) -> str:
        return f"for each {self.as_}"

    def children(self) -> list[list[Step]]:
        return [self.setup, self.steps, self.recover, self.already_done]


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
    notify: NotifySettings | None = None
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
ACTION_KEYS = ("save", "timeout", "retry", "on_error", "recover")
KIND_KEYS = tuple(STEP_CLASSES)
WORKFLOW_KEYS = tuple(name for name in Workflow.model_fields if name != "file")
NAME_RULE = "use letters, digits and '_' only, not starting with a digit"

# A step keeps its kind when one of its keys is wrong, so that the rest of it (its parameters, its templates,
# its child steps) is still checked. A required field whose value is wrong or missing holds one of these
# placeholders, and its name is listed in `ParsedWorkflow.broken` so that the semantic checks skip it.
_PLACEHOLDERS: dict[str, Any] = {
    "items": [],
    "steps": [],
    "condition": "",
    "then": [],
    "body": [],
    "values": {},
    "message": "",
}
_MAPPING_EXAMPLES = {
    "retry": "{attempts: 3, delay: 10}",
    "defaults": "{timeout: 30, retry: {attempts: 3}}",
    "browser": "{headless: false}",
    "inputs": "{fichier: {type: file}}",
    "vars": "{service: Urbanisme}",
    "collect": "{total: '{{ item.montant }}'}",
    "set": "{objet: Relance}",
}
# Words people write for a choice, and the choice they mean (when it is one of the choices).
_CHOICE_SYNONYMS = {
    "text": "string",
    "str": "string",
    "int": "integer",
    "float": "number",
    "decimal": "number",
    "bool": "boolean",
    "array": "list",
    "path": "file",
    "directory": "folder",
    "dir": "folder",
    "ignore": "continue",
    "ignorer": "continue",
    "continuer": "continue",
    "arreter": "fail",
    "arrêter": "fail",
    "echouer": "fail",
    "échouer": "fail",
    "skip": "continue",
    "stop": "fail",
    "abort": "fail",
    "warn": "warning",
    "debug": "info",
}


@dataclass
class ParsedWorkflow:
    """What the structural parser built: the workflow (or None), its diagnostics, and the fields it could not read.

    `broken` maps a step's path to the names of its fields whose value was wrong (they hold defaults or
    placeholders); the semantic checks skip those fields rather than report on a value the user did not write.
    """

    workflow: Workflow | None
    diagnostics: list[Diagnostic]
    broken: dict[Location, frozenset[str]] = dataclass_field(default_factory=dict)


class _Parser:
    """Builds models from loaded data, collecting a diagnostic per problem instead of raising."""

    def __init__(self, document: LoadedDocument) -> None:
        self.document = document
        self.spans: SpanIndex = document.spans
        self.diagnostics: list[Diagnostic] = []
        self.broken: dict[Location, frozenset[str]] = {}

    def error(self, path: Location, code: str, message: str, *, at_key: bool = False, **extra: Any) -> None:
        span = self.spans.key(path) if at_key else self.spans.value(path)
        self.diagnostics.append(Diagnostic(span, code, message, **extra))

    def check(self, annotation: Any, value: Any, path: Location, what: str) -> tuple[bool, Any]:
        """Validate one value against a type; report wrong types at the offending node."""
        try:
            return True, _adapter(annotation).validate_python(value)
        except ValidationError as exc:
            members = _union_members(annotation)
            if members:
                self.report_union(members, value, path, what)
            else:
                for problem in exc.errors():
                    self.report_pydantic(problem, path, what)
            return False, None

    def report_union(self, members: list[Any], value: Any, path: Location, what: str) -> None:
        """One error for a value that fits no member of a union, rather than one per member."""
        kind = _value_kind(value)
        for member in members:
            if _type_kind(member) != kind:
                continue
            try:
                _adapter(member).validate_python(value)
            except ValidationError as exc:
                for problem in exc.errors():
                    self.report_pydantic(problem, path, what)
                return
        descriptions = list(dict.fromkeys(_describe_type(member) for member in members))
        if "a number" in descriptions and "a whole number" in descriptions:
            descriptions.remove("a whole number")
        described = " or ".join(descriptions)
        self.error(path, "wrong-type", f"'{what}' should be {described}", found=_show(value))

    def report_pydantic(self, problem: Any, base: Location, what: str) -> None:
        loc = tuple(problem["loc"])
        on_key = bool(loc) and loc[-1] == "[key]"
        if on_key:
            loc = loc[:-1]
        where = (*base, *loc)
        names = [what, *(part for part in loc if isinstance(part, str))]
        kind = problem["type"]
        value = problem.get("input")
        if kind == "extra_forbidden" and loc:
            allowed = self._allowed_keys_for(where[:-1])
            self.error(
                where,
                "unknown-key",
                f"'{'.'.join(names[:-1])}' has no key '{loc[-1]}'",
                at_key=True,
                expected=one_of(allowed) if allowed else None,
                hint=did_you_mean(str(loc[-1]), allowed),
            )
        elif kind == "missing" and loc:
            self.error(where[:-1], "missing-key", f"'{'.'.join(names[:-1])}' needs the key '{loc[-1]}'")
        elif (
            kind == "string_pattern_mismatch" and problem.get("ctx", {}).get("pattern") == IDENTIFIER.pattern
        ):
            self.error(where, "wrong-type", bad_name_message(value), at_key=on_key, hint=name_hint(value))
        else:
            name = ".".join(names)
            if kind in ("model_type", "model_attributes_type", "dict_type"):
                example = _MAPPING_EXAMPLES.get(names[-1])
                message = f"'{name}' should be a mapping" + (f", e.g. {example}" if example else "")
            else:
                message = f"'{name}' {describe_problem(problem['msg'])}"
            self.error(
                where, "wrong-type", message, found=_show(value), hint=self._wrong_type_hint(problem, where)
            )

    def _wrong_type_hint(self, problem: Any, where: Location) -> str | None:
        kind = problem["type"]
        value = problem.get("input")
        if kind == "literal_error" and isinstance(value, str):
            choices = re.findall(r"'([^']*)'", str(problem.get("ctx", {}).get("expected", "")))
            synonym = _CHOICE_SYNONYMS.get(value.strip().lower())
            if synonym in choices:
                return f"did you mean '{synonym}'?"
            return did_you_mean(value, choices)
        if where == ("secrets",) and isinstance(value, str):
            return f"write a list of names, e.g. 'secrets: [{value}]'"
        if where == ("secrets",) and isinstance(value, dict):
            names = ", ".join(str(key) for key in value) or "identifiant"
            return (
                f"list only the names, e.g. 'secrets: [{names}]', and store the values with "
                "'robo secrets set <name>', never in the workflow"
            )
        return None

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
        for problem in self.document.problems:
            self.diagnostics.append(
                Diagnostic(problem.span, "yaml-syntax", problem.message, hint=problem.hint)
            )
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
        for key in Workflow.model_fields:
            if key in ("steps", "file") or key not in data:
                continue
            annotation = _field_type(Workflow, key)
            valid, value = self.check(annotation, data[key], (key,), key)
            if valid:
                fields[key] = value
            else:
                salvaged = _salvage(annotation, data[key])
                if salvaged is not None:  # the entries that were right, so that they are still checked
                    fields[key] = salvaged
        if "steps" in data:
            fields["steps"] = self.steps(data["steps"], ("steps",)) or []
        fields.setdefault("name", "?")
        fields.setdefault("steps", [])
        # Every field was validated on its own above: build the model from the parts that were right, so that
        # the semantic checks can still report on the rest.
        return Workflow.model_construct(**fields)

    def steps(self, data: Any, path: Location) -> list[Step] | None:
        if data is None or data == []:
            self.error(
                path,
                "empty-steps",
                "this list of steps is empty",
                at_key=data is None,
                hint="add at least one step",
            )
            return []
        if not isinstance(data, list):
            self.error(
                path, "wrong-type", "steps must be a list, each step starting with '- '", found=_show(data)
            )
            return None
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

    def structured_step(self, cls: type[StepBase], data: dict[Any, Any], path: Location, span: Span) -> Step:
        fields: dict[str, Any] = {"span": span, "path": path}
        aliases = {
            (f.alias or name): name for name, f in cls.model_fields.items() if name not in ("span", "path")
        }
        broken: set[str] = set()
        clean = True
        a_kind = f"{_article(cls.kind)} '{cls.kind}' step"
        for key, value in data.items():
            if key not in aliases:
                allowed = list(aliases)
                self.error(
                    (*path, key),
                    "unknown-key",
                    f"{a_kind} has no key '{key}'",
                    at_key=True,
                    expected=one_of(allowed),
                    hint=did_you_mean(str(key), allowed),
                )
                clean = False
                continue
            name = aliases[key]
            annotation = _field_type(cls, name)
            if _holds_steps(annotation):
                parsed = self.step_list_or_choice(value, (*path, key), annotation)
                valid = parsed is not _INVALID
            else:
                valid, parsed = self.check(annotation, value, (*path, key), key)
            if valid:
                fields[name] = parsed
            else:
                broken.add(name)
                clean = False
        for name, field in cls.model_fields.items():
            if name in ("span", "path") or name in fields or not field.is_required():
                continue
            if clean:  # report a missing key only when the keys given were right
                self.error(
                    (*path, cls.kind),
                    "missing-key",
                    f"{a_kind} needs the key '{field.alias or name}'",
                    at_key=True,
                    hint=_MISSING_HINTS.get(field.alias or name),
                )
            broken.add(name)
            fields[name] = copy.copy(_PLACEHOLDERS.get(name))
        if broken:
            self.broken[path] = frozenset(broken)
        return cls.model_construct(**fields)  # type: ignore[return-value]

    def step_list_or_choice(self, value: Any, path: Location, annotation: Any) -> Any:
        choice = _union_members(annotation)
        if choice and isinstance(value, str):
            valid, converted = self.check(OnError, value, path, str(path[-1]))
            return converted if valid else _INVALID
        if choice and value is not None and not isinstance(value, list):
            self.error(
                path,
                "wrong-type",
                f"'{path[-1]}' should be 'fail' or 'continue', or a list of steps",
                found=_show(value),
            )
            return _INVALID
        parsed = self.steps(value, path)
        return _INVALID if parsed is None else parsed

    def action_step(self, kind: str, data: dict[Any, Any], path: Location, span: Span) -> Step:
        robot, _, action_name = kind.partition(".")
        params = data[kind]
        broken: set[str] = set()
        if params is None:
            params = {}
        if not isinstance(params, dict):
            example, hint = _params_example(kind, params)
            self.error(
                (*path, kind),
                "wrong-type",
                f"the parameters of {kind} must be a mapping, e.g. {example}",
                found=_show(params),
                hint=hint,
            )
            broken.add("params")
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
                continue
            annotation = _field_type(ActionStep, key)
            if key in ("on_error", "recover"):
                parsed = self.step_list_or_choice(value, (*path, key), annotation)
                valid = parsed is not _INVALID
            else:
                valid, parsed = self.check(annotation, value, (*path, key), key)
            if valid:
                fields[key] = parsed
            else:
                broken.add(key)
        if broken:
            self.broken[path] = frozenset(broken)
        return ActionStep.model_construct(**fields)


_INVALID = object()
_MISSING_HINTS = {
    "name": "add a line 'name: <what this workflow does>' at the top",
    "steps": "add 'steps:' followed by a list of steps, each starting with '- '",
    "then": "add 'then:' with the steps to run when the condition is true",
    "steps_for_each": "add 'steps:' with the steps to run for each item",
}


def bad_name_message(value: Any) -> str:
    return f"'{value}' is not a valid name: {NAME_RULE}"


def valid_name_for(value: Any) -> str | None:
    """The closest valid name: `liste_electorale` for `liste-electorale`, `annee` for `année`."""
    decomposed = unicodedata.normalize("NFKD", str(value))
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not text:
        return None
    if text[0].isdigit():
        text = "_" + text
    return text if text != value and IDENTIFIER.match(text) else None


def name_hint(value: Any) -> str | None:
    """`did you mean 'liste_electorale'?` for `liste-electorale`."""
    suggestion = valid_name_for(value)
    return f"did you mean '{suggestion}'?" if suggestion else None


_PYDANTIC_SUBJECT = re.compile(
    r"^(Input|String|List|Dictionary|Value|Tuple|Set|Decimal|Number|Date|Datetime|Time|Object) should "
)
_PYDANTIC_TAIL = re.compile(r", (unable to|invalid|input is|got |expected ).*$", re.DOTALL)


def describe_problem(message: str) -> str:
    """Pydantic's `Input should be a valid integer, unable to parse…` as `should be a valid integer`."""
    text = _PYDANTIC_TAIL.sub("", message.strip())
    if text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    if _PYDANTIC_SUBJECT.match(text):
        return "should " + _PYDANTIC_SUBJECT.sub("", text)
    return "is not valid: " + text[:1].lower() + text[1:]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}
_FIELD_TYPES: dict[tuple[type[BaseModel], str], Any] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """A cached validator for a type (building one costs far more than using it)."""
    cached = _ADAPTERS.get(id(annotation))
    if cached is None or cached[0] is not annotation:
        cached = (annotation, TypeAdapter(annotation))
        _ADAPTERS[id(annotation)] = cached
    return cached[1]


def _field_type(owner: type[BaseModel], name: str) -> Any:
    """A field's type with its constraints: pydantic keeps them apart, in `field.metadata`."""
    key = (owner, name)
    if key not in _FIELD_TYPES:
        field = owner.model_fields[name]
        annotation = field.annotation
        if field.metadata:
            annotation = Annotated.__class_getitem__((annotation, *field.metadata))  # type: ignore[attr-defined]
        _FIELD_TYPES[key] = annotation
    return _FIELD_TYPES[key]


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> list[Any]:
    """The members of a union other than None (an empty list when `annotation` is no union of two or more)."""
    base = _strip_annotated(annotation)
    if typing.get_origin(base) not in (Union, types.UnionType):
        return []
    members = [arg for arg in typing.get_args(base) if arg is not type(None)]
    return members if len(members) > 1 else []


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, dt.date):
        return "date"
    return "null" if value is None else type(value).__name__


def _type_kind(annotation: Any) -> str | None:
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base) or base
    if origin is Literal:
        values = typing.get_args(base)
        return _value_kind(values[0]) if values else None
    if origin is bool:
        return "boolean"
    if origin in (int, float):
        return "number"
    if origin is str:
        return "text"
    if origin in (list, tuple, set, frozenset):
        return "list"
    if origin is dict or (isinstance(origin, type) and issubclass(origin, BaseModel)):
        return "mapping"
    if origin in (dt.date, dt.datetime):
        return "date"
    return None


def _describe_type(annotation: Any) -> str:
    base = _strip_annotated(annotation)
    if typing.get_origin(base) is Literal:
        return " or ".join(f"'{value}'" for value in typing.get_args(base))
    if base is int:
        return "a whole number"
    kind = _type_kind(base)
    return {
        "boolean": "true or false",
        "number": "a number",
        "text": "a text",
        "list": "a list",
        "mapping": "a mapping",
        "date": "a date",
    }.get(kind or "", str(base))


def _salvage(annotation: Any, value: Any) -> Any:
    """The entries of a mapping or list that are right on their own (None when `value` is neither)."""
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base)
    args = typing.get_args(base)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        keys, values = _adapter(args[0]), _adapter(args[1])
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                kept[keys.validate_python(key)] = values.validate_python(item)
            except ValidationError:
                continue
        return kept
    if origin is list and len(args) == 1 and isinstance(value, list):
        adapter = _adapter(args[0])
        items = []
        for item in value:
            try:
                items.append(adapter.validate_python(item))
            except ValidationError:
                continue
        return items
    return None


def _params_example(kind: str, params: Any) -> tuple[str, str | None]:
    """An example mapping for an action's parameters, from its first required one, and a hint for a lone value."""
    try:
        from robots import robot_class

        robot, _, action = kind.partition(".")
        spec = robot_class(robot).action_specs().get(action)
    except Exception:  # an unknown robot is reported elsewhere; a broken plugin must not break this message
        spec = None
    if spec is None or not spec.parameters:
        return "{name: value}", None
    parameters = list(spec.parameters.values())
    first = next((p for p in parameters if p.required), parameters[0])
    hint = None
    if isinstance(params, str | int | float | bool) and not isinstance(params, dict | list):
        hint = f"did you mean {{{first.name}: {_flow_scalar(params)}}}?"
    return f"{{{first.name}: …}}", hint


def _flow_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and (
        not re.fullmatch(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}]*", text)
        or ": " in text
        or " #" in text
        or text != text.strip()
    ):
        return json.dumps(text, ensure_ascii=False)
    return text


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


def parse_workflow_details(document: LoadedDocument) -> ParsedWorkflow:
    """Build the typed workflow from a loaded document; every problem becomes a diagnostic."""
    parser = _Parser(document)
    workflow = parser.workflow()
    return ParsedWorkflow(workflow, parser.diagnostics, parser.broken)


def parse_workflow(document: LoadedDocument) -> tuple[Workflow | None, list[Diagnostic]]:
    """Build the typed workflow from a loaded document; every problem becomes a diagnostic."""
    parsed = parse_workflow_details(document)
    return parsed.workflow, parsed.diagnostics
