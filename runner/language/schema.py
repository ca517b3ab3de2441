"""The JSON Schema of the workflow language, every action's parameters included, for editor completion.

Point an editor at it (for VS Code's YAML extension: `# yaml-language-server: $schema=robo.schema.json` at the
top of a workflow) to get completion and checks of keys, actions and parameters while typing. The repository
publishes it as `schema/robo.schema.json` (`make schema`), and `robo new` writes it beside a new project's workflow.
"""

from __future__ import annotations

import json
from typing import Any

from robots import robot_class, robot_names
from robots.desktop import DesktopSettings
from runner.language.model import BrowserSettings, Defaults, InputSpec, NotifySettings, ScheduleEntry
from runner.language.steps import STEP_KINDS, ActionStep, step_schema
from runner.language.values import RetryPolicy

TEMPLATE = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": 'A template, e.g. "{{ row.nom }}", whose value the run gives.',
}
"""A value written as a template: it can stand where any type is expected, since only the run knows its value."""

_ANNOTATIONS = ("title", "description", "default", "examples")

SCHEMA_FILE = "robo.schema.json"
"""The schema's file name, wherever it is written: `schema/` in the repository, beside a new project's workflow."""
SCHEMA_COMMENT = "# yaml-language-server: $schema="
"""How a workflow's first line names its schema for VS Code's YAML extension (and other yaml-language-server
editors), followed by the schema's path relative to the workflow or its URL."""


def schema_text() -> str:
    """The schema as its file holds it: indented JSON, non-ASCII characters kept, a final newline."""
    return json.dumps(workflow_schema(), ensure_ascii=False, indent=2, default=str) + "\n"


def _definition(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/$defs/{model}")
    schema.pop("title", None)
    return schema


def workflow_schema() -> dict[str, Any]:
    """The schema as a JSON-compatible mapping."""
    defs: dict[str, Any] = {}
    for model in (
        InputSpec,
        RetryPolicy,
        Defaults,
        ScheduleEntry,
        NotifySettings,
        BrowserSettings,
        DesktopSettings,
    ):
        schema = _definition(model)
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    steps_ref = {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 1}
    action_steps = []
    for robot in robot_names():
        try:
            specs = robot_class(robot).action_specs()
        except ImportError:
            continue
        for name, spec in specs.items():
            qualified = f"{robot}.{name}"
            params = _parts_templatable(spec.json_schema())
            # Shown when hovering over the action's name (the step's own description covers the whole step).
            params["description"] = _action_description(spec)
            for key, sub in params.pop("$defs", {}).items():
                defs.setdefault(key, _parts_templatable(sub))
            action_steps.append(
                {
                    "type": "object",
                    "description": spec.summary,
                    **step_schema(ActionStep, steps_ref, head=(qualified, params)),
                }
            )
    structured = [step_schema(kind, steps_ref) for kind in STEP_KINDS.values()]
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
            "desktop": {"$ref": "#/$defs/DesktopSettings"},
            "display": {"enum": ["current", "virtual"]},
            "concurrency": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "unlimited"}]},
            "steps": steps_ref,
        },
        "$defs": defs,
    }


def _action_description(spec: Any) -> str:
    """An action's documentation as an editor shows it: what it does, then what it gives back."""
    parts = [spec.summary, spec.description, f"Returns: {spec.returns}" if spec.returns else ""]
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


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
