"""The contract every robot keeps, checked for each robot of the registry and each of its actions.

A robot is listed by name in the `robots` registry and resolves to a `Robot` class of that name; importing it
loads none of the heavy libraries (they load inside `open()` or an action). Each action has a docstring whose
summary and `Args:` section describe each parameter, and only the parameters it has; a `Returns:` section when,
and only when, it gives a value back; a parameters schema that is a valid JSON Schema; and it appears in
`robo actions` and `robo schema`. Only the registry's public names are used, so the test holds wherever the
robots' modules live.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from functools import cache
from pathlib import Path
from typing import Any

import docstring_parser
import jsonschema
import pytest

from robots import robot_class, robot_names
from robots.kit import ActionSpec, Robot

ROOT = Path(__file__).resolve().parents[2]

BUILT_IN = {"browser", "data", "desktop", "documents", "email", "excel", "files", "http", "pdf", "word"}

HEAVY_LIBRARIES = ("playwright", "pyautogui", "openpyxl", "docx", "docxtpl", "pypdf", "imap_tools", "httpx", "jinja2")  # fmt: skip
"""What no robot module may import at its top: each is loaded only inside `open()` or an action that needs it."""


def _action_cases() -> list[Any]:
    cases = []
    for robot in robot_names():
        try:
            specs = robot_class(robot).action_specs()
        except Exception:  # the case fails with the robot's own error (a class that cannot be loaded)
            cases.append(pytest.param(robot, None, id=f"{robot}-unloadable"))
            continue
        cases.extend(pytest.param(robot, name, id=f"{robot}.{name}") for name in specs)
    return cases


def _spec(robot: str, action: str | None) -> ActionSpec:
    specs = robot_class(robot).action_specs()  # raises for an unloadable robot, failing its case
    assert action is not None
    return specs[action]


def _documented(obj: Any) -> docstring_parser.Docstring:
    return docstring_parser.parse(inspect.getdoc(obj) or "", style=docstring_parser.DocstringStyle.GOOGLE)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@cache  # a failed command too is run only once
def _robo(*args: str) -> subprocess.CompletedProcess[str]:
    return _run("-m", "runner.cli", *args)


def _listed_actions(robot: str) -> dict[str, Any]:
    """What `robo actions <robot> --format json` says of the robot's actions (one process per robot)."""
    result = _robo("actions", robot, "--format", "json")
    assert result.returncode == 0, result.stderr
    listed: dict[str, Any] = json.loads(result.stdout)[robot]["actions"]
    return listed


def _schema_steps() -> dict[str, dict[str, Any]]:
    """The action steps of `robo schema` by qualified name (one process for all)."""
    result = _robo("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    steps: dict[str, dict[str, Any]] = {}
    for branch in schema["$defs"]["Step"]["anyOf"]:
        required = branch.get("required", [])
        if len(required) == 1 and "." in required[0]:
            steps[required[0]] = branch
    return steps


class TestRegistry:
    def test_lists_every_built_in_robot(self) -> None:
        assert BUILT_IN <= set(robot_names())

    @pytest.mark.parametrize("robot", robot_names())
    def test_each_name_resolves_to_a_robot_class_of_that_name_with_actions(self, robot: str) -> None:
        cls = robot_class(robot)
        assert isinstance(cls, type) and issubclass(cls, Robot)
        assert cls.name == robot
        assert cls.summary()
        assert cls.action_specs()

    @pytest.mark.parametrize("robot", robot_names())
    def test_importing_the_robot_and_reading_its_actions_loads_no_heavy_library(self, robot: str) -> None:
        code = (
            "import json, sys, robots\n"
            f"for spec in robots.robot_class({robot!r}).action_specs().values():\n"
            "    spec.json_schema()\n"
            f"print(json.dumps([name for name in {HEAVY_LIBRARIES!r} if name in sys.modules]))\n"
        )
        result = _run("-c", code)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == []


@pytest.mark.parametrize(("robot", "action"), _action_cases())
class TestEveryAction:
    def test_its_docstring_has_a_summary_and_describes_exactly_its_parameters(
        self, robot: str, action: str | None
    ) -> None:
        spec = _spec(robot, action)
        method = getattr(robot_class(robot), spec.method_name)
        documented = _documented(method)
        assert spec.summary, "no summary line"
        described = [param.arg_name for param in documented.params]
        assert len(described) == len(set(described)), f"a parameter is described twice: {described}"
        taken = list(inspect.signature(method).parameters)[1:]
        assert set(described) == set(taken), f"Args: describes {sorted(described)}; it takes {sorted(taken)}"
        assert all(param.description for param in documented.params)
        for group in spec.flat_groups:  # parameters shared by several actions: described in their class
            fields = sorted(param.arg_name for param in _documented(group.cls).params)
            assert fields == sorted(group.fields), f"{group.cls.__name__}'s Args: describes {fields}"
        assert all(param.description for param in spec.parameters.values())

    def test_it_says_what_it_returns_when_and_only_when_it_returns_a_value(
        self, robot: str, action: str | None
    ) -> None:
        spec = _spec(robot, action)
        returned = typing.get_type_hints(getattr(robot_class(robot), spec.method_name)).get("return")
        assert returned is not None, "no return annotation"
        gives_a_value = returned is not type(None)
        assert bool(spec.returns) == gives_a_value, (
            "a Returns: section without a value to return" if spec.returns else "no Returns: section"
        )

    def test_its_parameters_schema_is_a_valid_json_schema(self, robot: str, action: str | None) -> None:
        spec = _spec(robot, action)
        schema = spec.json_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        assert set(schema["properties"]) == set(spec.parameters)
        assert set(schema.get("required", [])) == {name for name, p in spec.parameters.items() if p.required}

    def test_robo_schema_offers_it_with_a_valid_schema(self, robot: str, action: str | None) -> None:
        spec = _spec(robot, action)
        step = _schema_steps()[spec.qualified_name]
        jsonschema.Draft202012Validator.check_schema(step)
        assert set(step["properties"][spec.qualified_name]["properties"]) == set(spec.parameters)

    def test_robo_actions_lists_it_with_its_parameters(self, robot: str, action: str | None) -> None:
        spec = _spec(robot, action)
        listed = _listed_actions(robot)[spec.name]
        assert listed["summary"] == spec.summary
        assert set(listed["parameters"]) == set(spec.parameters)
