"""How the parser words what it finds: names, types and values in a reader's terms, and examples."""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
import unicodedata
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from runner.language.values import IDENTIFIER

NAME_RULE = "use letters, digits and '_' only, not starting with a digit"


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
        if text.startswith("should "):
            return text
    if _PYDANTIC_SUBJECT.match(text):
        return "should " + _PYDANTIC_SUBJECT.sub("", text)
    return "is not valid: " + text[:1].lower() + text[1:]


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}
_FIELD_TYPES: dict[tuple[type[BaseModel], str], Any] = {}


def type_adapter(annotation: Any) -> TypeAdapter[Any]:
    """A cached validator for a type (building one costs far more than using it)."""
    cached = _ADAPTERS.get(id(annotation))
    if cached is None or cached[0] is not annotation:
        cached = (annotation, TypeAdapter(annotation))
        _ADAPTERS[id(annotation)] = cached
    return cached[1]


def field_type(owner: type[BaseModel], name: str) -> Any:
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


def union_members(annotation: Any) -> list[Any]:
    """The members of a union other than None (an empty list when `annotation` is no union of two or more)."""
    base = _strip_annotated(annotation)
    if typing.get_origin(base) not in (Union, types.UnionType):
        return []
    members = [arg for arg in typing.get_args(base) if arg is not type(None)]
    return members if len(members) > 1 else []


def value_kind(value: Any) -> str:
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


def type_kind(annotation: Any) -> str | None:
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base) or base
    if origin is Literal:
        values = typing.get_args(base)
        return value_kind(values[0]) if values else None
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


def describe_type(annotation: Any) -> str:
    base = _strip_annotated(annotation)
    if typing.get_origin(base) is Literal:
        return " or ".join(f"'{value}'" for value in typing.get_args(base))
    if base is int:
        return "a whole number"
    kind = type_kind(base)
    return {
        "boolean": "true or false",
        "number": "a number",
        "text": "a text",
        "list": "a list",
        "mapping": "a mapping",
        "date": "a date",
    }.get(kind or "", str(base))


def salvage(annotation: Any, value: Any) -> Any:
    """The entries of a mapping or list that are right on their own (None when `value` is neither)."""
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base)
    args = typing.get_args(base)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        keys, values = type_adapter(args[0]), type_adapter(args[1])
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                kept[keys.validate_python(key)] = values.validate_python(item)
            except ValidationError:
                continue
        return kept
    if origin is list and len(args) == 1 and isinstance(value, list):
        adapter = type_adapter(args[0])
        items = []
        for item in value:
            try:
                items.append(adapter.validate_python(item))
            except ValidationError:
                continue
        return items
    return None


def params_example(kind: str, params: Any) -> tuple[str, str | None]:
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


def show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
