"""The names of a workflow: which are defined where, and why one is not defined at the place it is used.

A name comes from the run (`inputs`, `vars`…), from the workflow's sections (`inputs:`, `secrets:`, `vars:`) or
from a step (`save`, `set`, a for_each's `as`: each step kind says which, `StepBase.names_defined`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from robots.kit import N_, _
from runner.language.diagnostics import did_you_mean
from runner.language.loader import Location, SpanIndex, walk
from runner.language.steps import STEP_KINDS, ActionStep, Step, StepBase, field_schema
from runner.language.values import IDENTIFIER, RESERVED_NAMES
from runner.language.wording import valid_name_for

BUILTIN_NAMES = frozenset(RESERVED_NAMES) - {"error"}  # `error` exists only in the steps that handle one


def naming_keys() -> tuple[frozenset[str], frozenset[str]]:
    """The keys of a step whose value is a name (`save`, `as`), and those whose mapping keys are names (`set`)."""
    return _naming_keys((ActionStep, *STEP_KINDS.values()))


@functools.cache
def _naming_keys(kinds: tuple[type[StepBase], ...]) -> tuple[frozenset[str], frozenset[str]]:
    name_keys: set[str] = set()
    mapping_keys: set[str] = set()
    for kind in kinds:
        for name in kind.own_fields():
            field = kind.model_fields[name]
            schema = field_schema(field, {})
            if "not" in schema:  # a name the run does not define itself
                name_keys.add(field.alias or name)
            elif "not" in schema.get("propertyNames", {}):
                mapping_keys.add(field.alias or name)
    return frozenset(name_keys), frozenset(mapping_keys)


def names_defined_anywhere(data: Any) -> set[str]:
    """Names that some step of the raw data defines (used when structural errors hid steps)."""
    names: set[str] = set()
    name_keys, mapping_keys = naming_keys()
    for path, value in walk(data):
        if not path:
            continue
        if path[-1] in name_keys and isinstance(value, str):
            names.add(value)
        if path[-1] in mapping_keys and isinstance(value, dict):
            names.update(str(key) for key in value)
        if path == ("vars",) and isinstance(value, dict):
            names.update(str(key) for key in value)
    return names


def declared(data: Any, section: str) -> list[str] | None:
    """The names a section (inputs, secrets, vars) declares as written, even when a declaration is wrong.

    None when the section cannot be read at all: then uses of it are not reported, since the mistake is in
    the declaration and is reported there.
    """
    if not isinstance(data, dict) or section not in data:
        return []
    raw = data[section]
    if isinstance(raw, dict):
        written = [str(key) for key in raw]
    elif section == "secrets" and isinstance(raw, list):
        written = [str(item) for item in raw if isinstance(item, str | int)]
    else:
        return None
    # A name that is not valid (`jeton-api`) is reported where it is declared, with the valid name to use
    # instead: uses of either are not reported again.
    return written + [fixed for name in written if (fixed := valid_name_for(name)) is not None]


@dataclass(frozen=True, slots=True)
class Definition:
    """Where a name is defined: saved by a step, set by a `set` step, or the variable of a for_each."""

    how: str  # "saved", "set" or "loop"
    line: int
    loop_line: int | None  # the for_each whose steps hold the definition, if any


class Definitions:
    """Every place each name is defined by a step of a workflow, to say why a name is not defined where used."""

    def __init__(
        self, steps: Sequence[Step], spans: SpanIndex, broken: dict[Location, frozenset[str]]
    ) -> None:
        self.spans = spans
        self.broken = broken
        self.by_name: dict[str, list[Definition]] = {}
        self._collect(steps, None)

    def _collect(self, steps: Sequence[Step], loop_line: int | None) -> None:
        for step in steps:
            for defined in step.names_defined(self.broken.get(step.path, frozenset())):
                span = self.spans.key(defined.where) if defined.at_key else self.spans.value(defined.where)
                self.by_name.setdefault(defined.name, []).append(
                    Definition(defined.how, span.line, loop_line)
                )
            inner = step.span.line if step.keeps_names_inside else loop_line
            for child in step.children():  # a for_each's setup, steps… : what they save stays in the loop
                self._collect(child, inner)

    def undefined_hint(self, name: str, line: int, scope: set[str]) -> str:
        """Why a name is not defined here, when it is defined elsewhere; else the names that are."""
        definitions = self.by_name.get(name, [])
        loops = [d for d in definitions if d.how == "loop"]
        if loops:
            return _("'{name}' exists only inside the steps of the for_each at line {line}").format(
                name=name, line=loops[0].line
            )
        later = [d for d in definitions if d.line > line]
        if later:
            return _(_LATER[later[0].how]).format(name=name, line=later[0].line)
        inside = [d for d in definitions if d.loop_line is not None]
        if inside:
            return _(_INSIDE[inside[0].how]).format(name=name, line=inside[0].loop_line)
        names = {n for n in scope if IDENTIFIER.match(n)}
        return did_you_mean(name, names) or scope_hint(names)


def scope_hint(scope: set[str]) -> str:
    user = sorted(name for name in scope - BUILTIN_NAMES if IDENTIFIER.match(name))
    return _("names defined here: {names}").format(
        names=", ".join(["inputs, vars, secrets, env, run", *user])
    )


# Where a name is defined, as the hints say it (`Definition.how`): whole sentences, one per way.
_LATER = {
    "saved": N_("'{name}' is saved later, at line {line}; move this step after that one"),
    "set": N_("'{name}' is set later, at line {line}; move this step after that one"),
    "loop": N_("'{name}' is the loop variable of a later for_each, at line {line}"),
}
_INSIDE = {
    "saved": N_("'{name}' is saved inside the steps of the for_each at line {line} and exists only there"),
    "set": N_("'{name}' is set inside the steps of the for_each at line {line} and exists only there"),
    "loop": N_("'{name}' exists only inside the steps of the for_each at line {line}"),
}
