"""Workflow inputs: their Python types, and conversion of values given on the command line or by a schedule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from robots.kit import ConfigurationError, _, ngettext
from runner.language import INPUT_PYTHON_TYPES, InputSpec, Workflow


def parse_input_assignments(pairs: list[str]) -> dict[str, str]:
    """`["fichier=data.xlsx", "limite=10"]` → a mapping; raises `ConfigurationError` on a malformed pair."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(
                _("--input '{pair}' is not of the form name=value").format(pair=pair),
                hint=_("for example: {example}").format(example="--input fichier=dossiers.xlsx"),
            )
        values[name.strip()] = value
    return values


def resolve_inputs(
    workflow: Workflow, given: Mapping[str, Any], base_dir: Path, workflow_dir: Path | None = None
) -> dict[str, Any]:
    """Apply defaults, check required inputs and convert each value to its declared type.

    Paths given by the user are relative to `base_dir` (where the command runs); paths in the workflow's own
    defaults are relative to the workflow file's folder, so an example runs from anywhere.
    """
    unknown = sorted(set(given) - set(workflow.inputs))
    if unknown:
        declared = ", ".join(workflow.inputs) or _("none")
        raise ConfigurationError(
            _("the workflow has no input {names} (it declares: {declared})").format(
                names=", ".join(map(repr, unknown)), declared=declared
            )
        )
    resolved: dict[str, Any] = {}
    missing = []
    for name, spec in workflow.inputs.items():
        if name in given:
            resolved[name] = convert_input(name, spec, given[name], base_dir)
        elif spec.default is not None:
            resolved[name] = convert_input(name, spec, spec.default, workflow_dir or base_dir)
        elif spec.is_required:
            missing.append(name)
        else:
            resolved[name] = None
    if missing:
        raise ConfigurationError(
            ngettext(
                "missing required input: {names}", "missing required inputs: {names}", len(missing)
            ).format(names=", ".join(missing)),
            hint=_("give {options}").format(options=" ".join(f"--input {name}=…" for name in missing)),
        )
    return resolved


def convert_input(name: str, spec: InputSpec, value: Any, base_dir: Path) -> Any:
    if spec.type == "list" and isinstance(value, str):
        value = _parse_list(value)
    if spec.type == "boolean" and isinstance(value, str):
        lowered = value.strip().lower()
        value = {"oui": True, "non": False, "vrai": True, "faux": False}.get(lowered, lowered)
    try:
        converted = TypeAdapter(INPUT_PYTHON_TYPES[spec.type]).validate_python(value)
    except ValidationError:
        raise ConfigurationError(
            _("input '{name}' must be a {type}, got {value}").format(
                name=name, type=spec.type, value=repr(value)
            )
        ) from None
    if spec.choices is not None and converted not in spec.choices:
        raise ConfigurationError(
            _("input '{name}' must be one of {choices}, got {value}").format(
                name=name, choices=", ".join(map(str, spec.choices)), value=repr(value)
            )
        )
    if spec.type in ("file", "folder"):
        path = Path(converted).expanduser()
        path = path if path.is_absolute() else (base_dir / path)
        if spec.type == "file" and not path.is_file():
            raise ConfigurationError(_("input '{name}': no such file {path}").format(name=name, path=path))
        if spec.type == "folder" and not path.is_dir():
            raise ConfigurationError(_("input '{name}': no such folder {path}").format(name=name, path=path))
        converted = str(path.resolve())
    return converted


def _parse_list(text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            raise ConfigurationError(_("the list {text} is not valid JSON").format(text=repr(text))) from None
        if isinstance(parsed, list):
            return parsed
    return [part.strip() for part in stripped.split(",") if part.strip()]
