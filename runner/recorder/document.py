"""The workflow file a recording becomes: a comment header, the declarations it needs, its steps; checked with
the language's own validator before it is written (atomically)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from robots.kit import _, atomic_file
from runner.language import Diagnostic, load_workflow_text, validate_document
from runner.recorder.data import (
    ITEM_NAME,
    ROWS_NAME,
    Replacement,
    Sheet,
    jinja_string,
    loop_bounds,
    parametrise,
)
from runner.recorder.steps import Action, fold_forms, step_of
from runner.recorder.yaml_text import Expression, block, scalar

SCHEMA_PATH = Path("schema") / "robo.schema.json"
"""Where the repository publishes the JSON Schema of the language (for editors), relative to its root."""
DATA_INPUT = "fichier"


@dataclass
class RecordedWorkflow:
    """A recording as a workflow: its text, what the validator says of it, and the values the data replaced."""

    text: str
    diagnostics: list[Diagnostic]
    replaced: list[Replacement] = field(default_factory=list)
    looped: bool = False

    @property
    def valid(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def write(self, path: Path) -> None:
        """Write the workflow to `path` atomically (the file is whole or untouched)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(self.text)


def schema_reference(output: Path) -> str | None:
    """The published schema's path relative to `output`, when a folder above `output` holds it."""
    folder = output.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / SCHEMA_PATH).is_file():
            return Path(os.path.relpath(candidate / SCHEMA_PATH, folder)).as_posix()
    return None


def version() -> str:
    try:
        return metadata.version("robo-rpa")
    except metadata.PackageNotFoundError:
        return "?"


def header(url: str, output: Path, when: dt.datetime) -> list[str]:
    """The comment lines at the top of a recorded workflow."""
    lines = []
    schema = schema_reference(output)
    if schema is not None:
        lines.append(f"# yaml-language-server: $schema={schema}")
    said = _("Recorded with 'robo record' on {date} at {time} from {url} (Rob'O {version}).").format(
        date=when.strftime("%d/%m/%Y"), time=when.strftime("%H:%M"), url=url, version=version()
    )
    lines.append(f"# {said}")
    lines.append(
        "# " + _("Read the steps again before running it: each element is named as the page shows it.")
    )
    return [" ".join(line.split()) if line.startswith("# ") else line for line in lines]


def build_workflow(
    actions: list[Action],
    *,
    url: str,
    output: Path,
    sheet: Sheet | None = None,
    fold: bool = True,
    when: dt.datetime | None = None,
) -> RecordedWorkflow:
    """The workflow text of `actions`, parametrised and looped over `sheet` when given, and its diagnostics."""
    when = when or dt.datetime.now().astimezone()
    fold_at = 3 if fold else 10**9
    replaced = parametrise(actions, sheet) if sheet is not None else []
    bounds = loop_bounds(actions) if sheet is not None else None
    document: dict[str, Any] = {
        "name": (output.stem.replace("_", " ").replace("-", " ").strip() or "workflow").capitalize()[:120],
        "description": _("Recorded from {url}.").format(url=url),
    }
    if bounds is not None and sheet is not None:
        relative = Path(os.path.relpath(sheet.path.resolve(), output.resolve().parent)).as_posix()
        document["inputs"] = {
            DATA_INPUT: {
                "type": "file",
                "default": relative,
                "description": _("The spreadsheet of the rows to enter"),
            }
        }
    secrets = sorted({a.secret for a in actions if a.secret is not None})
    if secrets:
        document["secrets"] = secrets
    if bounds is None or sheet is None:
        steps = fold_forms(actions, fold_at)
    else:
        start, end = bounds
        body = [step_of(Action("goto", actions[start].page, value=actions[start].page))]
        body += fold_forms(actions[start : end + 1], fold_at)
        loop: dict[str, Any] = {
            "name": _("Enter each row of the spreadsheet"),
            "for_each": Expression("{{ " + ROWS_NAME + " }}"),
            "as": ITEM_NAME,
        }
        key = sheet.key_column()
        if key is not None:
            loop["key"] = Expression(f"{ITEM_NAME}[{jinja_string(key)}]")
        loop["steps"] = body
        steps = [
            *fold_forms(actions[:start], fold_at),
            {
                "name": _("Read the rows of the spreadsheet"),
                "excel.read_rows": {"path": Expression("{{ inputs." + DATA_INPUT + " }}")},
                "save": ROWS_NAME,
            },
            loop,
            *fold_forms(actions[end + 1 :], fold_at),
        ]
    document["steps"] = steps
    lines = header(url, output, when)
    for key, value in document.items():
        if key == "steps":
            lines.append("steps:")
            lines.extend(block(value, 2))
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(block(value, 2))
        elif isinstance(value, list):
            lines.append(f"{key}: [{', '.join(scalar(v) for v in value)}]")
        else:
            lines.append(f"{key}: {scalar(value)}")
    text = "\n".join(lines) + "\n"
    return RecordedWorkflow(text, check(text, output), replaced, bounds is not None)


def check(text: str, output: Path) -> list[Diagnostic]:
    """What `robo validate` says of the text (a YAML error as one diagnostic)."""
    from runner.language import YamlSyntaxError

    try:
        loaded = load_workflow_text(text, str(output))
    except YamlSyntaxError as exc:
        return [Diagnostic(exc.span, "yaml-syntax", exc.message, hint=exc.hint)]
    return validate_document(loaded).diagnostics
