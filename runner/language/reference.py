"""The reference of the actions (`robo actions`): each robot's actions with their parameters, types and defaults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from robots import UnknownRobotError, robot_class, robot_names
from robots.kit import _
from runner.language.diagnostics import did_you_mean


def print_actions(
    robot: str | None, out: Callable[[str], None], err: Callable[[str], None], *, fmt: str
) -> bool:
    """Every robot's actions (or `robot`'s), as text or JSON; False, said on `err`, when there is no such robot."""
    names = robot_names()
    if robot is not None and robot not in names:
        hint = did_you_mean(robot, names)
        err(
            _("error: there is no robot '{robot}' (robots: {names})").format(
                robot=robot, names=", ".join(names)
            )
            + ("\n  " + _("hint: {hint}").format(hint=hint) if hint else "")
        )
        return False
    selected = [robot] if robot else names
    reference: dict[str, Any] = {}
    for name in selected:
        try:
            cls = robot_class(name)
        except (UnknownRobotError, ImportError) as exc:
            err(_("warning: robot '{robot}' cannot be loaded: {error}").format(robot=name, error=exc))
            continue
        reference[name] = {"summary": cls.summary(), "actions": cls.action_specs()}
    if fmt == "json":
        payload = {
            name: {
                "summary": entry["summary"],
                "actions": {
                    action_name: {
                        "summary": spec.summary,
                        "description": spec.description,
                        "side_effects": spec.side_effects,
                        "idempotent": spec.idempotent,
                        "returns": spec.returns,
                        "parameters": {
                            p.name: {
                                "type": p.type_text(),
                                "required": p.required,
                                "default": None if p.required else p.default,
                                "description": p.description,
                            }
                            for p in spec.parameters.values()
                        },
                    }
                    for action_name, spec in entry["actions"].items()
                },
            }
            for name, entry in reference.items()
        }
        out(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return True
    for name, entry in reference.items():
        out(f"{name} — {entry['summary']}")
        for action_name, spec in entry["actions"].items():
            flag = (
                " " + _("(changes things)")
                if spec.may_enter_twice
                else " " + _("(writes: safe to repeat)")
                if spec.side_effects
                else ""
            )
            out(f"\n  {name}.{action_name}{flag}")
            out(f"      {spec.summary}")
            for line in spec.description.splitlines():  # e.g. the Word template syntax
                out(f"      {line}".rstrip())
            for param in spec.parameters.values():
                default = (
                    _("required")
                    if param.required
                    else _("default {value}").format(value=repr(param.default))
                )
                out(f"      {param.name}: {param.type_text()}, {default}")
                if param.description:
                    out(f"          {param.description}")
            for group in spec.one_of:
                out("      " + _("give exactly one of: {names}").format(names=", ".join(group)))
            if spec.returns:
                out("      " + _("returns: {value}").format(value=spec.returns))
        out("")
    return True
