"""What the recorder saw, as actions, and the workflow steps they become.

An `Action` is one thing a person did on a page, with the `Target` the recorder checked for its element. Turning
actions into steps names each step in the reader's language, turns a password into a `secrets.` reference and
folds a run of fields filled one by one into a single `browser.fill_form`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from robots.browser import Target
from robots.kit import _
from runner.recorder.yaml_text import Expression

FOLD_AT_LEAST = 3
"""Fields filled one after the other on one page, each by its label, that become one `browser.fill_form`."""
FIELD_KINDS = frozenset({"fill", "secret", "select", "check", "choose"})
SUBMIT_KINDS = frozenset({"click", "press"})


@dataclass
class Action:
    """One thing done on a page: `kind` is the browser action it becomes (`fill`, `click`, `select`…)."""

    kind: str
    page: str  # the address of the page it was done on
    target: Target | None = None
    value: Any = None  # the text typed, the option(s) chosen, the file names, the address opened
    group: str | None = None  # a radio button's group title
    secret: str | None = None  # the secret's name, for a password
    field: str | None = (
        None  # which field of which page (the recorder's own id): consecutive typing is one fill
    )
    column: str | None = None  # the data column that replaced `value`
    message: str | None = None  # a dialog's text

    @property
    def described(self) -> str:
        """How the step names its element: its label, its text, a role's name, or the CSS selector."""
        if self.target is None:
            return ""
        return self.target.named or self.target.value


def secret_name(label: str, taken: set[str]) -> str:
    """A secret's name from a field's label, e.g. "Mot de passe" -> "mot_de_passe" (unique among `taken`)."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40].strip("_") or "mot_de_passe"
    if base[0].isdigit():
        base = "secret_" + base
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def target_parameters(target: Target) -> dict[str, Any]:
    """A target as a step writes it: its one kind, and `exact` when the check needed it."""
    parameters: dict[str, Any] = {target.kind: target.value}
    if target.exact:
        parameters["exact"] = True
    return parameters


def value_of(action: Action) -> Any:
    """The value a step types or chooses: a reference to a secret or a data column, or the text itself."""
    if action.secret is not None:
        return Expression("{{ secrets." + action.secret + " }}")
    if action.column is not None:
        return column_expression(action.column)
    return action.value


def column_expression(column: str) -> Expression:
    """`{{ demande["Nom du demandeur"] }}`: the loop item's value in a column."""
    from runner.recorder.data import ITEM_NAME, jinja_string

    return Expression("{{ " + ITEM_NAME + "[" + jinja_string(column) + "] }}")


def step_of(action: Action) -> dict[str, Any]:
    """The workflow step for one action: a name in the reader's language and the browser action's parameters."""
    kind, what = action.kind, action.described
    target = target_parameters(action.target) if action.target is not None else {}
    if kind == "open":
        return {"name": _("Open {url}").format(url=action.value), "browser.open": {"url": action.value}}
    if kind == "goto":
        return {"name": _("Go to {url}").format(url=action.value), "browser.goto": {"url": action.value}}
    if kind == "click":
        return {"name": _("Click '{name}'").format(name=what), "browser.click": target}
    if kind in ("fill", "secret"):
        return {
            "name": _("Type '{field}'").format(field=what),
            "browser.fill": {**target, "value": value_of(action)},
        }
    if kind == "press":
        return {
            "name": _("Press Enter in '{field}'").format(field=what),
            "browser.press": {"key": "Enter", **target},
        }
    if kind == "select":
        return {
            "name": _("Choose in '{field}'").format(field=what),
            "browser.select": {**target, "option": value_of(action)},
        }
    if kind == "check":  # a column of yes/no goes to fill_form only: browser.check has no value
        verb = "browser.check" if action.value else "browser.uncheck"
        name = _("Tick '{field}'") if action.value else _("Untick '{field}'")
        return {"name": name.format(field=what), verb: target}
    if kind == "choose":
        parameters: dict[str, Any] = {"option": value_of(action)}
        if action.group:
            parameters["group"] = action.group
        return {"name": _("Choose '{option}'").format(option=action.value), "browser.choose": parameters}
    if kind == "upload":
        files = action.value if len(action.value) != 1 else action.value[0]
        return {
            "name": _("Attach a file in '{field}'").format(field=what),
            "browser.upload": {**target, "files": files},
        }
    if kind == "download":
        return {"name": _("Download with '{name}'").format(name=what), "browser.download": target}
    if kind == "accept_dialog":
        return {
            "name": _("Click '{name}' and accept the dialog").format(name=what),
            "browser.accept_dialog": target,
        }
    raise ValueError(f"unknown recorded action {kind!r}")


def fill_form_key(action: Action) -> str | None:
    """The label under which `browser.fill_form` finds this action's field, or None when it cannot."""
    if action.kind == "choose":
        return action.group or None
    if action.kind not in FIELD_KINDS or action.target is None or action.target.kind != "label":
        return None
    if action.kind == "select" and isinstance(action.value, list) and len(action.value) != 1:
        return None
    return action.target.value


def fold_forms(actions: list[Action], at_least: int = FOLD_AT_LEAST) -> list[dict[str, Any]]:
    """The steps of `actions`, a run of `at_least` fields or more on one page, each named by its label, as one
    `browser.fill_form` (its fields in the order they were filled)."""
    steps: list[dict[str, Any]] = []
    run: list[Action] = []

    def flush() -> None:
        keys = [fill_form_key(a) for a in run]
        if len(run) >= at_least and len(set(keys)) == len(keys):
            fields = {}
            for key, action in zip(keys, run, strict=True):
                value = value_of(action)
                if action.kind == "select" and isinstance(value, list):
                    value = value[0]
                fields[str(key)] = value
            steps.append({"name": _("Fill in the form"), "browser.fill_form": {"fields": fields}})
        else:
            steps.extend(step_of(a) for a in run)
        run.clear()

    for action in actions:
        if fill_form_key(action) is not None and (not run or run[-1].page == action.page):
            run.append(action)
            continue
        flush()
        if fill_form_key(action) is not None:
            run.append(action)
        else:
            steps.append(step_of(action))
    flush()
    return steps


def with_target(action: Action, target: Target) -> Action:
    """A copy of `action` on another target."""
    return replace(action, target=target)
