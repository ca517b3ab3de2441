"""The JSON Schema of the workflow language, every action's parameters included, for editor completion.

Point an editor at it (for VS Code's YAML extension: `# yaml-language-server: $schema=robo.schema.json` at the
top of a workflow) to get completion and checks of keys, actions and parameters while typing.
"""

from __future__ import annotations

from typing import Any

from robots import robot_class, robot_names
from robots.kit import DURATION_SCHEMA
from runner.language.model import (
    IDENTIFIER,
    RESERVED_NAMES,
    BrowserSettings,
    Defaults,
    InputSpec,
    NotifySettings,
    RetryPolicy,
    ScheduleEntry,
)

TEMPLATE = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": 'A template, e.g. "{{ row.nom }}", whose value the run gives.',
}
"""A value written as a template: it can stand where any type is expected, since only the run knows its value."""

_ANNOTATIONS = ("title", "description", "default", "examples")
_POSITIVE_DURATION = {
    "anyOf": [
        {**branch, "exclusiveMinimum": 0} if branch.get("type") == "number" else branch
        for branch in DURATION_SCHEMA["anyOf"]
    ]
}
_NAME = {"type": "string", "pattern": IDENTIFIER.pattern, "not": {"enum": list(RESERVED_NAMES)}}
_SAVE = {**_NAME, "description": "Keep the result under this name."}

_COMMON = {
    "name": {"type": "string", "description": "What the step does, in words a colleague understands."},
    "id": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "description": "A unique identifier."},
    "when": {"type": "string", "description": "Run the step only when this expression is true."},
}


def _definition(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/$defs/{model}")
    schema.pop("title", None)
    return schema


def workflow_schema() -> dict[str, Any]:
    """The schema as a JSON-compatible mapping."""
    defs: dict[str, Any] = {}
    for model in (InputSpec, RetryPolicy, Defaults, ScheduleEntry, NotifySettings, BrowserSettings):
        schema = _definition(model)
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    steps_ref = {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 1}
    on_error = {"anyOf": [{"enum": ["fail", "continue"]}, steps_ref]}
    action_steps = []
    for robot in robot_names():
        try:
            specs = robot_class(robot).action_specs()
        except ImportError:
            continue
        for name, spec in specs.items():
            qualified = f"{robot}.{name}"
            params = _parts_templatable(spec.json_schema())
            for key, sub in params.pop("$defs", {}).items():
                defs.setdefault(key, _parts_templatable(sub))
            action_steps.append(
                {
                    "type": "object",
                    "description": spec.summary,
                    "required": [qualified],
                    "properties": {
                        **_COMMON,
                        qualified: params,
                        "save": _SAVE,
                        "timeout": _POSITIVE_DURATION,
                        "retry": {"$ref": "#/$defs/RetryPolicy"},
                        "on_error": on_error,
                        "recover": steps_ref,
                        "allow_outside": {
                            "type": "boolean",
                            "description": "Let paths built from data lead outside the workflow's folders.",
                        },
                    },
                    "additionalProperties": False,
                }
            )
    structured = [
        _kind(
            "for_each",
            {"anyOf": [{"type": "string"}, {"type": "array"}]},
            {
                "as": _NAME,
                "key": {"type": "string"},
                "key_duplicates": {
                    "enum": ["error", "number"],
                    "description": "Two items with the same key: refuse to start (error), or number them (D1#2).",
                },
                "parallel": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 32}, {"type": "string"}]},
                "collect": {
                    "type": "object",
                    "description": "Fields kept from each item, in the saved list.",
                },
                "save": {**_SAVE, "description": "Keep the list of item outcomes under this name."},
                "setup": steps_ref,
                "recover": steps_ref,
                "already_done": steps_ref,
                "steps": steps_ref,
                "on_error": {"enum": ["fail", "continue"]},
                "retry": {"$ref": "#/$defs/RetryPolicy"},
            },
            required=["steps"],
        ),
        _kind("if", {"type": "string"}, {"then": steps_ref, "else": steps_ref}, required=["then"]),
        _kind("try", steps_ref, {"on_error": on_error}),
        _kind("set", {"type": "object", "propertyNames": _NAME}, {}),
        _kind("log", {"type": "string"}, {"level": {"enum": ["info", "warning", "error"]}}),
        _kind("fail", {"type": "string"}, {}),
    ]
    defs["Step"] = {"anyOf": action_steps + structured}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Rob'O workflow",
        "type": "object",
        "required": ["name", "steps"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": r"\S"},
            "description": {"type": "string"},
            "version": {"type": ["string", "number"]},
            "inputs": {"type": "object", "additionalProperties": {"$ref": "#/$defs/InputSpec"}},
            "vars": {"type": "object"},
            "secrets": {"type": "array", "items": {"type": "string"}},
            "defaults": {"$ref": "#/$defs/Defaults"},
            "schedule": {"type": "array", "items": {"$ref": "#/$defs/ScheduleEntry"}},
            "notify": {"$ref": "#/$defs/NotifySettings"},
            "browser": {"$ref": "#/$defs/BrowserSettings"},
            "concurrency": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "unlimited"}]},
            "steps": steps_ref,
        },
        "$defs": defs,
    }


def _templatable(node: Any) -> Any:
    """`node`, or a template in its place (the validator checks a templated value only at run time)."""
    if not isinstance(node, dict):
        return node
    node = _parts_templatable(node)
    annotations = {key: node.pop(key) for key in _ANNOTATIONS if key in node}
    if node == {"type": "string"} or not node:  # any text, a template included
        return {**node, **annotations}
    if set(node) == {"anyOf"}:
        return {"anyOf": [*node["anyOf"], TEMPLATE], **annotations}
    return {"anyOf": [node, TEMPLATE], **annotations}


def _parts_templatable(node: dict[str, Any]) -> dict[str, Any]:
    """`node` with a template accepted in place of each of its parts (fields, list items, mapping values)."""
    node = dict(node)
    if isinstance(node.get("properties"), dict):
        node["properties"] = {name: _templatable(sub) for name, sub in node["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = _templatable(node[key])
    if isinstance(node.get("prefixItems"), list):
        node["prefixItems"] = [_templatable(sub) for sub in node["prefixItems"]]
    if isinstance(node.get("anyOf"), list):
        node["anyOf"] = [_parts_templatable(sub) if isinstance(sub, dict) else sub for sub in node["anyOf"]]
    return node


def _kind(
    key: str, value: dict[str, Any], extra: dict[str, Any], required: list[str] | None = None
) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key, *(required or [])],
        "properties": {**_COMMON, key: value, **extra},
        "additionalProperties": False,
    }
