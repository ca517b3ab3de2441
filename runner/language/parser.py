"""The parser of the workflow language: loaded YAML in, typed models and diagnostics out.

`parse_workflow` never raises for bad input: it returns the model it could build (or None) and a diagnostic
for every problem, each pointing at the YAML node it concerns. A step with a wrong key is kept with the
fields that were right, so the validator can still check the rest of it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pydantic import BaseModel, ValidationError

from robots.desktop import DesktopSettings
from robots.kit import N_, Span, _, format_number
from runner.language.diagnostics import Diagnostic, did_you_mean, did_you_mean_text, either, one_of
from runner.language.loader import LoadedDocument, Location, SpanIndex
from runner.language.model import BrowserSettings, Defaults, InputSpec, ScheduleEntry, Workflow
from runner.language.steps import (
    COMMON_KEYS,
    PLACE_FIELDS,
    STEP_KINDS,
    ActionStep,
    Step,
    StepBase,
    holds_steps,
)
from runner.language.values import IDENTIFIER, RESERVED_NAMES, OnError, RetryPolicy
from runner.language.wording import (
    CHOICE_SYNONYMS,
    MAPPING_EXAMPLES,
    WHOLE_NUMBER,
    WORKFLOW_MISSING_HINTS,
    bad_name_message,
    describe_problem,
    field_type,
    is_literal,
    missing_key_hint,
    name_hint,
    params_example,
    salvage,
    show,
    text_value_problem,
    type_adapter,
    type_kind,
    type_phrase,
    union_members,
    value_kind,
)

# An action step's own keys are the fields of its model beyond every step's and what names the action.
ACTION_KEYS = tuple(ActionStep.option_keys())
WORKFLOW_KEYS = tuple(name for name in Workflow.model_fields if name not in ("file", "spans"))


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

    def field_value(self, annotation: Any, value: Any, path: Location, key: str) -> tuple[bool, Any]:
        """A step field's value checked against its type: a list of steps is parsed step by step."""
        if holds_steps(annotation):
            parsed = self.step_list_or_choice(value, path, annotation)
            return parsed is not _INVALID, parsed
        return self.check(annotation, value, path, key)

    def check(self, annotation: Any, value: Any, path: Location, what: str) -> tuple[bool, Any]:
        """Validate one value against a type; report wrong types at the offending node."""
        try:
            return True, type_adapter(annotation).validate_python(value)
        except ValidationError as exc:
            members = union_members(annotation)
            if members:
                self.report_union(members, value, path, what)
            else:
                for problem in exc.errors():
                    self.report_pydantic(problem, path, what)
            return False, None

    def report_union(self, members: list[Any], value: Any, path: Location, what: str) -> None:
        """One error for a value that fits no member of a union, rather than one per member."""
        kind = value_kind(value)
        for member in members:
            if type_kind(member) != kind:
                continue
            try:
                type_adapter(member).validate_python(value)
            except ValidationError as exc:
                for problem in exc.errors():
                    self.report_pydantic(problem, path, what)
                return
        phrases = list(dict.fromkeys(type_phrase(member) for member in members))
        if N_("a number") in phrases and WHOLE_NUMBER in phrases:
            phrases.remove(WHOLE_NUMBER)
        literal = {type_phrase(member) for member in members if is_literal(member)}
        described = either([phrase if phrase in literal else _(phrase) for phrase in phrases])
        self.error(
            path,
            "wrong-type",
            _("'{name}' should be {described}").format(name=what, described=described),
            found=show(value),
        )

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
                _("'{name}' has no key '{key}'").format(name=".".join(names[:-1]), key=loc[-1]),
                at_key=True,
                expected=one_of(allowed) if allowed else None,
                hint=did_you_mean(str(loc[-1]), allowed),
            )
        elif kind == "missing" and loc:
            self.error(
                where[:-1],
                "missing-key",
                _("'{name}' needs the key '{key}'").format(name=".".join(names[:-1]), key=loc[-1]),
            )
        elif kind == "reserved_name":
            self.error(
                where,
                "reserved-name",
                _("'{name}' is a name the run defines itself: this would hide it").format(name=value),
                at_key=on_key,
                hint=_("choose another name; these are the run's own: {names}").format(
                    names=", ".join(RESERVED_NAMES)
                ),
            )
        elif kind == "blank_text":
            self.error(
                where,
                "empty-value",
                _("'{name}' is empty").format(name=".".join(names)),
                hint=_("say what this workflow does, e.g. 'name: Relance des factures impayées'")
                if where == ("name",)
                else _("say what this step does, e.g. 'name: Saisir le dossier', or leave 'name' out"),
            )
        elif said := text_value_problem(problem, ".".join(names)):
            self.error(where, "wrong-type", said[0], found=show(value), hint=said[1])
        elif (
            kind == "string_pattern_mismatch" and problem.get("ctx", {}).get("pattern") == IDENTIFIER.pattern
        ):
            self.error(where, "wrong-type", bad_name_message(value), at_key=on_key, hint=name_hint(value))
        else:
            name = ".".join(names)
            if kind in ("model_type", "model_attributes_type", "dict_type"):
                example = MAPPING_EXAMPLES.get(names[-1]) or _kind_value_example(names[-1])
                message = (
                    _("'{name}' should be a mapping, e.g. {example}").format(name=name, example=example)
                    if example
                    else _("'{name}' should be a mapping").format(name=name)
                )
            else:
                message = _("'{name}' {problem}").format(name=name, problem=describe_problem(problem["msg"]))
            self.error(
                where, "wrong-type", message, found=show(value), hint=self._wrong_type_hint(problem, where)
            )

    def _wrong_type_hint(self, problem: Any, where: Location) -> str | None:
        kind = problem["type"]
        value = problem.get("input")
        if kind == "literal_error" and isinstance(value, str):
            choices = re.findall(r"'([^']*)'", str(problem.get("ctx", {}).get("expected", "")))
            synonym = CHOICE_SYNONYMS.get(value.strip().lower())
            if synonym is not None and synonym in choices:
                return did_you_mean_text(synonym)
            return did_you_mean(value, choices)
        if str(where[-1]).endswith("confidence") and isinstance(value, int | float) and 1 < value <= 100:
            return _("a confidence is written from 0 to 1: {fraction}, not {value}").format(
                fraction=format_number(value / 100), value=format_number(value)
            )
        if where == ("secrets",) and isinstance(value, str):
            return _("write a list of names, e.g. 'secrets: [{names}]'").format(names=value)
        if where == ("secrets",) and isinstance(value, dict):
            names = ", ".join(str(key) for key in value) or "identifiant"
            return _(
                "list only the names, e.g. 'secrets: [{names}]', and store the values with "
                "'robo secrets set <name>', never in the workflow"
            ).format(names=names)
        return None

    def _allowed_keys_for(self, path: Location) -> list[str]:
        parent = path[-1] if path else None
        models: dict[Any, type[BaseModel]] = {
            "defaults": Defaults,
            "retry": RetryPolicy,
            "browser": BrowserSettings,
            "desktop": DesktopSettings,
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
                Diagnostic(problem.span, problem.code, problem.message, hint=problem.hint)
            )
        data = self.document.data
        if data is None:
            self.error(
                (),
                "empty-workflow",
                _("the file is empty"),
                hint=_("a workflow needs at least 'name' and 'steps'"),
            )
            return None
        if not isinstance(data, dict):
            self.error(
                (), "wrong-type", _("a workflow must be a mapping of keys (name, steps, …)"), found=show(data)
            )
            return None
        fields: dict[str, Any] = {"file": self.document.path, "spans": self.spans}
        for key in data:
            if key not in WORKFLOW_KEYS:
                self.error(
                    (key,),
                    "unknown-key",
                    _("a workflow has no key '{key}'").format(key=key),
                    at_key=True,
                    expected=one_of(WORKFLOW_KEYS),
                    hint=did_you_mean(str(key), WORKFLOW_KEYS),
                )
        for key in ("name", "steps"):
            if key not in data:
                self.error(
                    (),
                    "missing-key",
                    _("a workflow needs the key '{key}'").format(key=key),
                    hint=_(WORKFLOW_MISSING_HINTS[key]),
                )
        for key in Workflow.model_fields:
            if key in ("steps", "file", "spans") or key not in data:
                continue
            annotation = field_type(Workflow, key)
            valid, value = self.check(annotation, data[key], (key,), key)
            if valid:
                fields[key] = value
            else:
                salvaged = salvage(annotation, data[key])
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
                _("this list of steps is empty"),
                at_key=data is None,
                hint=_("add at least one step"),
            )
            return []
        if not isinstance(data, list):
            self.error(
                path, "wrong-type", _("steps must be a list, each step starting with '- '"), found=show(data)
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
                _("a step must be a mapping, e.g. '- log: Bonjour'"),
                found=show(data),
            )
            return None
        kinds = [key for key in data if key in STEP_KINDS or (isinstance(key, str) and "." in key)]
        if not kinds:
            unknown = [k for k in data if k not in COMMON_KEYS + ACTION_KEYS]
            guess = did_you_mean(str(unknown[0]), list(STEP_KINDS)) if unknown else None
            self.error(
                (*path, next(iter(data))) if data else path,
                "missing-action",
                _("this step does nothing: it needs an action (robot.action) or one of {kinds}").format(
                    kinds=", ".join(STEP_KINDS)
                ),
                found=_("keys {keys}").format(keys=", ".join(str(k) for k in data))
                if data
                else _("an empty mapping"),
                hint=guess or _("for example: '- log: Bonjour' or '- data.set: {value: 1}'"),
                at_key=bool(data),
            )
            return None
        if len(kinds) > 1:
            self.error(
                (*path, kinds[1]),
                "ambiguous-step",
                _("a step does one thing, this one has both '{first}' and '{second}'").format(
                    first=kinds[0], second=kinds[1]
                ),
                at_key=True,
                hint=_("split it into two steps, each starting with '- '"),
            )
            return None
        kind = kinds[0]
        span = self.spans.key((*path, kind))
        if kind in STEP_KINDS:
            return self.structured_step(STEP_KINDS[kind], data, path, span)
        return self.action_step(kind, data, path, span)

    def structured_step(self, cls: type[StepBase], data: dict[Any, Any], path: Location, span: Span) -> Step:
        """A step of a kind named by a key of its own; a required field that is wrong or missing holds the kind's
        placeholder and is listed in `broken`, so that the rest of the step is still checked."""
        fields: dict[str, Any] = {"span": span, "path": path}
        aliases = {
            (f.alias or name): name for name, f in cls.model_fields.items() if name not in PLACE_FIELDS
        }
        broken: set[str] = set()
        clean = True
        vowel = cls.kind[:1] in "aeio"  # English says "an 'if' step"; each language words the whole phrase
        for key, value in data.items():
            if key not in aliases:
                allowed = list(aliases)
                self.error(
                    (*path, key),
                    "unknown-key",
                    (
                        _("an '{kind}' step has no key '{key}'")
                        if vowel
                        else _("a '{kind}' step has no key '{key}'")
                    ).format(kind=cls.kind, key=key),
                    at_key=True,
                    expected=one_of(allowed),
                    hint=did_you_mean(str(key), allowed),
                )
                clean = False
                continue
            name = aliases[key]
            valid, parsed = self.field_value(field_type(cls, name), value, (*path, key), key)
            if valid:
                fields[name] = parsed
            else:
                broken.add(name)
                clean = False
        for name, field in cls.model_fields.items():
            if name in PLACE_FIELDS or name in fields or not field.is_required():
                continue
            if clean:  # report a missing key only when the keys given were right
                self.error(
                    (*path, cls.kind),
                    "missing-key",
                    (
                        _("an '{kind}' step needs the key '{key}'")
                        if vowel
                        else _("a '{kind}' step needs the key '{key}'")
                    ).format(kind=cls.kind, key=field.alias or name),
                    at_key=True,
                    hint=missing_key_hint(cls, field.alias or name),
                )
            broken.add(name)
            fields[name] = copy.copy(cls.placeholders.get(name))
        if broken:
            self.broken[path] = frozenset(broken)
        return cls.model_construct(**fields)

    def step_list_or_choice(self, value: Any, path: Location, annotation: Any) -> Any:
        choice = union_members(annotation)
        if choice and isinstance(value, str):
            valid, converted = self.check(OnError, value, path, str(path[-1]))
            return converted if valid else _INVALID
        if choice and value is not None and not isinstance(value, list):
            self.error(
                path,
                "wrong-type",
                _("'{name}' should be 'fail' or 'continue', or a list of steps").format(name=path[-1]),
                found=show(value),
            )
            return _INVALID
        parsed = self.steps(value, path)
        return _INVALID if parsed is None else parsed

    def action_step(self, kind: str, data: dict[Any, Any], path: Location, span: Span) -> Step:
        robot, _dot, action_name = kind.partition(".")
        params = data[kind]
        broken: set[str] = set()
        if params is None:
            params = {}
        if not isinstance(params, dict):
            example, hint = params_example(kind, params)
            self.error(
                (*path, kind),
                "wrong-type",
                _("the parameters of {action} must be a mapping, e.g. {example}").format(
                    action=kind, example=example
                ),
                found=show(params),
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
                    _("an action step has no key '{key}'").format(key=key),
                    at_key=True,
                    expected=one_of(allowed),
                    hint=did_you_mean(str(key), allowed),
                )
                continue
            valid, parsed = self.field_value(field_type(ActionStep, key), value, (*path, key), key)
            if valid:
                fields[key] = parsed
            else:
                broken.add(key)
        if broken:
            self.broken[path] = frozenset(broken)
        return ActionStep.model_construct(**fields)


_INVALID = object()


def _kind_value_example(key: Any) -> str | None:
    """The value of a kind's example when `key` names a kind: `{objet: Relance}` for `set`."""
    kind = STEP_KINDS.get(key) if isinstance(key, str) else None
    return kind.example.partition(": ")[2] if kind is not None else None


def parse_workflow_details(document: LoadedDocument) -> ParsedWorkflow:
    """Build the typed workflow from a loaded document; every problem becomes a diagnostic."""
    parser = _Parser(document)
    workflow = parser.workflow()
    return ParsedWorkflow(workflow, parser.diagnostics, parser.broken)


def parse_workflow(document: LoadedDocument) -> tuple[Workflow | None, list[Diagnostic]]:
    """Build the typed workflow from a loaded document; every problem becomes a diagnostic."""
    parsed = parse_workflow_details(document)
    return parsed.workflow, parsed.diagnostics
