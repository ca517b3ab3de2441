"""The `Robot` base class, the `@action` decorator and `ActionSpec`, the single source of truth of an action.

An action is a typed method with a Google-style docstring. `@action` attaches an `ActionSpec` built from the
signature and the docstring's `Args:` section, and returns the method unchanged so tests can call it directly.
The spec's pydantic model drives static validation, `robo actions`, `robo schema` and run-time conversion.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from robots.kit.durations import Duration
from robots.kit.i18n import N_, _

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _SecretMarker:
    """Marks a parameter whose value must be redacted wherever it is recorded."""

    def __repr__(self) -> str:
        return "Secret"


SECRET = _SecretMarker()

Seconds = Annotated[Duration, Field(gt=0, le=86_400)]
"""A duration in seconds (a positive number)."""

Secret = Annotated[str, SECRET]
"""A text value that is redacted in every log, report and trace."""


class _ConfinedMarker:
    """Marks a path parameter whose value, when a template builds it from data, must stay in the run's folders."""

    def __repr__(self) -> str:
        return "Confined"


CONFINED = _ConfinedMarker()

ConfinedPath = Annotated[str, CONFINED]
"""A path the action writes, moves, deletes or sends away (an attachment, an upload).

Written as it is in the workflow, it is the author's and used as written. Built by a template (`{{ row.file }}`),
it comes from data and must stay inside the folders the run allows (`RobotContext.allowed_roots`): the engine
refuses it otherwise, as a business error, unless the step says `allow_outside: true`."""


class FlatParameters:
    """Parameters that several actions share, declared once: a dataclass whose fields become the action's own.

    An action takes one argument of such a class (e.g. `target: Target`, how to find an element on a page);
    in a workflow its fields are written as ordinary parameters (`label: Nom`), documented by the class's
    `Args:` section, and gathered into one instance before the call. `choose_one` names the fields of which
    exactly one must be given (at most one when the argument is optional).
    """

    choose_one: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def problems(cls, given: Mapping[str, Any], optional: bool) -> list[tuple[str, str]]:
        """What is wrong with these written fields beyond their types: (field, message) pairs, for validation.

        `given` holds the fields a step writes (a template as its text); `optional` is whether the action may
        go without the argument.
        """
        return []


@dataclass(frozen=True)
class FlatGroup:
    """Where an action's flattened parameters come from."""

    argument: str
    cls: type[FlatParameters]
    fields: tuple[str, ...]
    optional: bool


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of an action, as the signature and docstring declare it."""

    name: str
    annotation: Any
    required: bool
    default: Any
    description: str
    keyword_only: bool
    secret: bool
    confined: bool = False
    """A `ConfinedPath` (or a list of them): kept inside the run's folders when built from data."""

    def type_text(self) -> str:
        """The parameter's type in words."""
        return describe_type(self.annotation)


@dataclass
class ActionSpec:
    """Everything known about an action, derived once from its method."""

    name: str
    method_name: str
    summary: str
    description: str
    returns: str
    parameters: dict[str, ParameterSpec]
    side_effects: bool
    one_of: tuple[tuple[str, ...], ...]
    together: tuple[tuple[str, ...], ...]
    at_most_one: tuple[tuple[str, ...], ...] = ()
    flat_groups: tuple[FlatGroup, ...] = ()
    robot: str = ""
    idempotent: bool = False
    in_memory: bool = False
    """Computes on values in memory only (no file, screen, network or wait): called in the engine's own thread,
    without the robot thread's hand-over, watchdog or cancel, which such an action never needs."""
    _model: type[BaseModel] | None = field(default=None, repr=False)
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, repr=False)

    @property
    def qualified_name(self) -> str:
        """`robot.action`, as workflows write it."""
        return f"{self.robot}.{self.name}"

    @property
    def may_enter_twice(self) -> bool:
        """Whether calling it again may make a duplicate (a submit, a send, an append, a move).

        Such a call is what the work-item ledger records, so that an item that fails after it is never done
        again blindly.
        """
        return self.side_effects and not self.idempotent

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model of the parameters (built on first use)."""
        if self._model is None:
            fields: dict[str, Any] = {}
            for param in self.parameters.values():
                default = ... if param.required else param.default
                fields[param.name] = (param.annotation, Field(default, description=param.description or None))
            model_name = "".join(part.title() for part in re.split(r"[._]", self.qualified_name)) + "Params"
            self._model = create_model(
                model_name,
                __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                **fields,
            )
        return self._model

    def adapter(self, name: str) -> TypeAdapter[Any]:
        """A validator for one parameter (cached)."""
        if name not in self._adapters:
            self._adapters[name] = TypeAdapter(self.parameters[name].annotation)
        return self._adapters[name]

    def convert(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert rendered parameters; raises pydantic's `ValidationError`."""
        instance = self.model.model_validate(dict(params))
        values = {
            name: getattr(instance, name) for name in self.parameters if name in instance.model_fields_set
        }
        for group in self.flat_groups:
            given = {name: values.pop(name) for name in group.fields if name in values}
            if given or not group.optional:
                values[group.argument] = group.cls(**given)
        return values

    def check_value(self, name: str, value: Any) -> str | None:
        """A message when `value` does not fit parameter `name`, else None."""
        try:
            self.adapter(name).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            return str(first.get("msg", _("invalid value")))
        return None

    @property
    def confined_parameters(self) -> frozenset[str]:
        """Names of the path parameters kept inside the run's folders when built from data."""
        return frozenset(name for name, p in self.parameters.items() if p.confined)

    @property
    def secret_parameters(self) -> frozenset[str]:
        """Names of the parameters whose values are redacted."""
        return frozenset(name for name, p in self.parameters.items() if p.secret)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters, for editors."""
        schema = self.model.model_json_schema()
        schema["description"] = self.summary
        schema.pop("title", None)
        return schema


@overload
def action(func: F) -> F: ...


@overload
def action(
    *,
    side_effects: bool = False,
    idempotent: bool = False,
    in_memory: bool = False,
    one_of: Sequence[Sequence[str]] = (),
    together: Sequence[Sequence[str]] = (),
    at_most_one: Sequence[Sequence[str]] = (),
    name: str | None = None,
) -> Callable[[F], F]: ...


def action(
    func: F | None = None,
    *,
    side_effects: bool = False,
    idempotent: bool = False,
    in_memory: bool = False,
    one_of: Sequence[Sequence[str]] = (),
    together: Sequence[Sequence[str]] = (),
    at_most_one: Sequence[Sequence[str]] = (),
    name: str | None = None,
) -> Any:
    """Declare a robot method as a workflow action; the method itself is returned unchanged.

    Args:
        func: The method (when used without parentheses).
        side_effects: Whether the action may change something outside the run: submit or send something, write,
            move or delete a file (skipped by `--dry-run`). Filling a page is not a change (nothing leaves it);
            a click or a key press may submit, so it is one.
        idempotent: With `side_effects`: doing it again with the same parameters makes no duplicate, it only
            writes the same result again (a document rendered to a file, a value set in a cell). Otherwise
            (a submit, a send, an append, a move) the work-item ledger records the call before and after it,
            and an item that fails after it is never done again blindly.
        in_memory: The action only computes on the values it is given, in memory, in a moment (no file, screen,
            network or wait, no state bound to a thread): the engine calls it in its own thread.
        one_of: Groups of parameters of which exactly one must be given.
        together: Groups of parameters that must be given all together or not at all.
        at_most_one: Groups of parameters of which at most one may be given.
        name: The action's name in workflows, when it differs from the method's.
    """

    def decorate(method: F) -> F:
        method.__robo_action__ = build_action_spec(  # type: ignore[attr-defined]
            method,
            side_effects=side_effects,
            idempotent=idempotent,
            in_memory=in_memory,
            one_of=tuple(tuple(group) for group in one_of),
            together=tuple(tuple(group) for group in together),
            at_most_one=tuple(tuple(group) for group in at_most_one),
            name=name,
        )
        return method

    if func is not None:
        return decorate(func)
    return decorate


def build_action_spec(
    method: Callable[..., Any],
    *,
    side_effects: bool,
    one_of: tuple[tuple[str, ...], ...],
    together: tuple[tuple[str, ...], ...],
    at_most_one: tuple[tuple[str, ...], ...] = (),
    name: str | None,
    idempotent: bool = False,
    in_memory: bool = False,
) -> ActionSpec:
    """Derive an action's spec from its signature and docstring; raises `TypeError` for a bad declaration."""
    doc = inspect.getdoc(method) or ""
    summary, description, arg_docs, returns = parse_docstring(doc)
    hints = typing.get_type_hints(method, include_extras=True)
    parameters: dict[str, ParameterSpec] = {}
    flat_groups: list[FlatGroup] = []
    one_of_groups = list(one_of)
    at_most_one_groups = list(at_most_one)
    for param in list(inspect.signature(method).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"action {method.__qualname__} may not take *args or **kwargs")
        annotation = hints.get(param.name, Any)
        flat_cls, optional = _flat_class(annotation)
        if flat_cls is not None:
            flat_groups.append(_expand_flat(flat_cls, param.name, optional, parameters))
            arg_docs.setdefault(param.name, "")
            if flat_cls.choose_one:
                (at_most_one_groups if optional else one_of_groups).append(flat_cls.choose_one)
            continue
        parameters[param.name] = ParameterSpec(
            name=param.name,
            annotation=annotation,
            required=param.default is inspect.Parameter.empty,
            default=None if param.default is inspect.Parameter.empty else param.default,
            description=arg_docs.get(param.name, ""),
            keyword_only=param.kind == param.KEYWORD_ONLY,
            secret=_is_secret(annotation),
            confined=_is_confined(annotation),
        )
    undocumented = [p for p, spec in parameters.items() if p not in arg_docs and not spec.description]
    if undocumented:
        raise TypeError(f"action {method.__qualname__} does not document {', '.join(undocumented)} in Args:")
    for names in (*one_of_groups, *together, *at_most_one):
        unknown = [p for p in names if p not in parameters]
        if unknown:
            raise TypeError(f"action {method.__qualname__}: unknown parameter(s) in group: {unknown}")
    return ActionSpec(
        name=name or method.__name__.rstrip("_"),
        method_name=method.__name__,
        summary=summary,
        description=description,
        returns=returns,
        parameters=parameters,
        side_effects=side_effects,
        idempotent=side_effects and idempotent,
        in_memory=in_memory and not side_effects,
        one_of=tuple(one_of_groups),
        together=together,
        at_most_one=tuple(at_most_one_groups),
        flat_groups=tuple(flat_groups),
    )


def _flat_class(annotation: Any) -> tuple[type[FlatParameters] | None, bool]:
    """The FlatParameters class an annotation names (directly or as `X | None`), and whether it is optional."""
    if isinstance(annotation, type) and issubclass(annotation, FlatParameters):
        return annotation, False
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and isinstance(rest[0], type) and issubclass(rest[0], FlatParameters):
            return rest[0], True
    return None, False


def _expand_flat(
    cls: type[FlatParameters], argument: str, optional: bool, parameters: dict[str, ParameterSpec]
) -> FlatGroup:
    import dataclasses

    _, _, docs, _ = parse_docstring(inspect.getdoc(cls) or "")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = []
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name in parameters:
            raise TypeError(f"{cls.__name__}.{item.name} clashes with a parameter of the same name")
        if item.name not in docs:
            raise TypeError(f"{cls.__name__} does not document {item.name} in Args:")
        parameters[item.name] = ParameterSpec(
            name=item.name,
            annotation=hints[item.name],
            required=False,
            default=item.default if item.default is not dataclasses.MISSING else None,
            description=docs[item.name],
            keyword_only=True,
            secret=_is_secret(hints[item.name]),
            confined=_is_confined(hints[item.name]),
        )
        names.append(item.name)
    return FlatGroup(argument, cls, tuple(names), optional)


def parse_docstring(doc: str) -> tuple[str, str, dict[str, str], str]:
    """Split a Google-style docstring into summary, description, per-argument text and returns text.

    Read by docstring_parser; the texts of an argument and of the returns are joined into one line each.
    """
    from docstring_parser import DocstringStyle, parse

    parsed = parse(doc, style=DocstringStyle.GOOGLE)
    args = {param.arg_name: " ".join((param.description or "").split()) for param in parsed.params}
    returns = " ".join((parsed.returns.description or "").split()) if parsed.returns else ""
    return parsed.short_description or "", parsed.long_description or "", args, returns


def _is_secret(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(meta, _SecretMarker) for meta in typing.get_args(annotation)[1:])
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def _is_confined(annotation: Any) -> bool:
    """Whether the annotation is a `ConfinedPath`, alone, in a union or in a list."""
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(meta, _ConfinedMarker) for meta in typing.get_args(annotation)[1:])
    return any(_is_confined(arg) for arg in typing.get_args(annotation))


_TYPE_WORDS: dict[Any, str] = {
    str: N_("text"),
    int: N_("integer"),
    float: N_("number"),
    bool: N_("true/false"),
    Path: N_("path"),
    dict: N_("mapping"),
}
"""The words of the simple types (translated with `_()` where shown)."""


def describe_type(annotation: Any) -> str:
    """A short, readable name for a parameter's type (for `robo actions` and error messages), in the language shown."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        base = describe_type(args[0])
        if any(isinstance(meta, _SecretMarker) for meta in args[1:]):
            return _("secret text")
        if annotation == Seconds:
            return _("seconds or a duration (90s, 15m, 1h30)")
        return base
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [describe_type(a) for a in args if a is not type(None)]
        text = " | ".join(dict.fromkeys(parts))
        return _("{type} (optional)").format(type=text) if type(None) in args else text
    if origin in (list, Sequence, typing.List):  # noqa: UP006
        return _("list of {type}").format(type=describe_type(args[0])) if args else _("list")
    if origin in (dict, Mapping, typing.Dict):  # noqa: UP006
        return _("mapping")
    if annotation in _TYPE_WORDS:
        return _(_TYPE_WORDS[annotation])
    if annotation is Any:
        return _("any value")
    return getattr(annotation, "__name__", str(annotation))


# -- files written whole ---------------------------------------------------------------------------------------
