"""Parameter groups (`one_of`, `together`, `at_most_one` of `@action`) as `robo validate` checks them.

The groups are declared on the action and checked in one place, the validator (`runner.language.validate`); these tests
go through it, on every action that declares a group, so a group that the validator forgot would fail here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from robots import robot_class, robot_names
from robots.kit import ActionSpec
from tests.running import problems


def _grouped_actions() -> list[ActionSpec]:
    specs: list[ActionSpec] = []
    for robot in robot_names():
        try:
            actions = robot_class(robot).action_specs()
        except ImportError:
            continue
        specs.extend(s for s in actions.values() if s.one_of or s.together or s.at_most_one)
    return specs


GROUPED = _grouped_actions()


def _workflow(spec: ActionSpec, given: Iterable[str]) -> str:
    """A workflow whose one step gives the action's required parameters and `given`, each as a template (so
    that only the names are judged, not the values)."""
    names = dict.fromkeys([*(p.name for p in spec.parameters.values() if p.required), *given])
    params = ", ".join(f'{name}: "{{{{ inputs.x }}}}"' for name in names)
    return f"name: Groupes\ninputs:\n  x: {{default: a}}\nsteps:\n  - {spec.qualified_name}: {{{params}}}\n"


def _group_messages(spec: ActionSpec, given: Iterable[str]) -> list[str]:
    return [p.split(": ", 1)[1] for p in problems(_workflow(spec, given)) if " parameter-group: " in p]


def _ids(specs: list[ActionSpec]) -> list[str]:
    return [spec.qualified_name for spec in specs]


ONE_OF = [s for s in GROUPED if s.one_of]
TOGETHER = [s for s in GROUPED if s.together]
AT_MOST_ONE = [s for s in GROUPED if s.at_most_one]


class TestEveryGroupIsChecked:
    def test_the_robots_declare_groups_of_every_kind(self) -> None:
        assert ONE_OF and TOGETHER and AT_MOST_ONE

    @pytest.mark.parametrize("spec", ONE_OF, ids=_ids(ONE_OF))
    def test_one_of_needs_exactly_one(self, spec: ActionSpec) -> None:
        group = spec.one_of[0]
        assert _group_messages(spec, []) == [f"{spec.qualified_name} needs one of {', '.join(group)}"]
        assert _group_messages(spec, group[:2]) == [
            f"{spec.qualified_name} takes only one of {', '.join(group[:2])}, not several"
        ]
        assert _group_messages(spec, group[-1:]) == []

    @pytest.mark.parametrize("spec", TOGETHER, ids=_ids(TOGETHER))
    def test_together_needs_all_or_none(self, spec: ActionSpec) -> None:
        group = spec.together[0]
        missing = ", ".join(group[1:])
        assert _group_messages(spec, group[:1]) == [
            f"{' and '.join(group)} go together: {missing} is missing"
        ]
        assert _group_messages(spec, group) == []
        assert _group_messages(spec, []) == []

    @pytest.mark.parametrize("spec", AT_MOST_ONE, ids=_ids(AT_MOST_ONE))
    def test_at_most_one_refuses_two(self, spec: ActionSpec) -> None:
        group = spec.at_most_one[0]
        assert _group_messages(spec, group[:2]) == [
            f"{spec.qualified_name} takes only one of {', '.join(group[:2])}, not several"
        ]
        assert _group_messages(spec, group[:1]) == []
        assert _group_messages(spec, []) == []


class TestWithMisspelledNames:
    def test_a_misspelled_member_is_reported_once_with_its_fix(self) -> None:
        found = problems(
            'name: G\nsteps:\n  - email.send: {host: h, sender: s, to: t, subject: o, user: u, pasword: "x"}\n'
        )
        assert found == ["3:66 unknown-parameter: email.send has no parameter 'pasword'"]

    def test_a_misspelled_choice_is_not_reported_as_missing_too(self) -> None:
        found = problems("name: G\nsteps:\n  - files.file_by_rules: {rules: [], foldr: entrants}\n")
        assert found == ["3:38 unknown-parameter: files.file_by_rules has no parameter 'foldr'"]


class TestOneImplementation:
    def test_the_action_spec_holds_no_second_group_check(self) -> None:
        # The groups were checked by a copy on ActionSpec that the validator never called: its tests could not
        # fail when the validator was wrong. The validator's check is the only one.
        assert [
            name for name in vars(ActionSpec) if "group" in name and callable(vars(ActionSpec)[name])
        ] == []
