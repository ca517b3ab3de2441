"""A step kind's JSON Schema, derived from its fields: the keys are the fields' YAML names, the values their types.

Only what the language's fields use is known here (texts, names, whole numbers, durations, choices, mappings,
lists, lists of steps, the retry policy); a field of another type fails loudly, so that a new field is given
a schema rather than silently left out.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

import annotated_types
from pydantic import AfterValidator, BaseModel, WithJsonSchema
from pydantic.fields import FieldInfo

from runner.language.steps.base import COMMON_KEYS, PLACE_FIELDS, StepBase, is_step
from runner.language.values import RESERVED_NAMES, not_reserved


def step_schema(
    cls: type[StepBase], steps_ref: dict[str, Any], head: tuple[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The schema of one step of kind `cls`; `head` is the key naming it and that key's schema (by default the
    kind's own key and first field: `log` and its message)."""
    own = cls.own_fields()
    naming = getattr(cls, "NAMING_FIELDS", ())
    if head is None:
        first = own[0]
        head = (cls.model_fields[first].alias or first, field_schema(cls.model_fields[first], steps_ref))
        naming = (first,)
    fields = {
        (field.alias or name): field
        for name, field in cls.model_fields.items()
        if name not in naming and name not in PLACE_FIELDS
    }
    common = {key: field_schema(fields[key], steps_ref) for key in COMMON_KEYS}
    options = {key: field_schema(field, steps_ref) for key, field in fields.items() if key not in COMMON_KEYS}
    required = [key for key, field in fields.items() if field.is_required()]
    return {
        "type": "object",
        **({"required": [head[0], *required]}),
        "properties": {**common, head[0]: head[1], **options},
        "additionalProperties": False,
    }


def field_schema(field: FieldInfo, steps_ref: dict[str, Any]) -> dict[str, Any]:
    """The schema of one field's value, its description last."""
    schema = _schema(field.annotation, list(field.metadata), steps_ref)
    if field.description:
        schema["description"] = field.description
    return schema


def _schema(annotation: Any, metadata: list[Any], steps_ref: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _schema(args[0], [*args[1:], *metadata], steps_ref)
    constraints = _constraints(metadata)
    if origin in (Union, types.UnionType):
        members = [_schema(arg, metadata, steps_ref) for arg in args if arg is not type(None)]
        return members[0] if len(members) == 1 else {"anyOf": members}
    if origin is Literal:
        return {"enum": list(args)}
    explicit = next((m for m in metadata if isinstance(m, WithJsonSchema)), None)
    if explicit is not None and explicit.json_schema is not None:  # a duration: its lower bound, if above 0
        return _with_lower_bound(dict(explicit.json_schema), constraints)
    if origin is list:
        if is_step(args[0]):
            return steps_ref
        return {"type": "array"}
    if origin is dict:
        keys = _schema(args[0], [], steps_ref)
        return {"type": "object", **({"propertyNames": keys} if "pattern" in keys else {})}
    if annotation is str:
        schema: dict[str, Any] = {"type": "string"}
        if "pattern" in constraints:
            schema["pattern"] = constraints["pattern"]
        if any(isinstance(m, AfterValidator) and m.func is not_reserved for m in metadata):
            schema["not"] = {"enum": list(RESERVED_NAMES)}
        return schema
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        bounds = {"minimum": constraints.get("ge"), "maximum": constraints.get("le")}
        return {"type": "integer", **{key: value for key, value in bounds.items() if value is not None}}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    raise TypeError(f"no JSON Schema is known for a step field of type {annotation!r}")


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(list(item.metadata)))
        elif isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
        elif isinstance(item, annotated_types.Gt):
            found["gt"] = item.gt
        elif isinstance(getattr(item, "pattern", None), str):
            found["pattern"] = item.pattern
    return found


def _with_lower_bound(schema: dict[str, Any], constraints: dict[str, Any]) -> dict[str, Any]:
    """A duration's schema with `gt` written on its number branch (the upper bound is left to the validator)."""
    if "gt" not in constraints or "anyOf" not in schema:
        return schema
    return {
        "anyOf": [
            {**branch, "exclusiveMinimum": constraints["gt"]} if branch.get("type") == "number" else branch
            for branch in schema["anyOf"]
        ]
    }
