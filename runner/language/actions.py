"""An action step checked against its robot's action: the robot and action exist, each parameter is one of the
action's and of its type, and the action's parameter groups hold; and a parallel loop using a robot that drives
the one screen of the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robots.kit import Span, _
from runner.language.diagnostics import all_of, closest, did_you_mean, did_you_mean_text, one_of
from runner.language.loader import Location, SpanIndex, walk
from runner.language.steps import ActionStep, ForEachStep, walk_steps
from runner.language.templating import is_template
from runner.language.wording import describe_problem


def check_action_step(
    step: ActionStep,
    broken: frozenset[str],
    spans: SpanIndex,
    error: Callable[..., None],
    check_templates: Callable[[Any, Location], None],
    own_display: bool = False,
) -> None:
    """Report through `error` what is wrong with an action step against its action's spec: an unknown robot or
    action, unknown, missing or wrong parameters, broken parameter groups; `check_templates` checks a
    parameter's templates. With `own_display` (`display: virtual`) the run brings its own screen: a robot is not
    refused for the lack of one."""
    from robots import UnknownRobotError, robot_class, robot_names

    qualified = f"{step.robot}.{step.action}"
    key_span = step.span
    params_path = (*step.path, qualified)
    try:
        cls = robot_class(step.robot)
    except UnknownRobotError:
        names = robot_names()
        candidates = [f"{r}.{a}" for r in names for a in _safe_actions(r)]
        error(
            Span(key_span.file, key_span.line, key_span.col, key_span.col + len(step.robot)),
            "unknown-action",
            _("there is no robot '{robot}'").format(robot=step.robot),
            expected=one_of(names),
            hint=did_you_mean(qualified, candidates) or did_you_mean(step.robot, names),
        )
        return
    except ImportError as exc:
        error(
            key_span,
            "robot-unavailable",
            _("the robot '{robot}' cannot be loaded: {error}").format(robot=step.robot, error=exc),
        )
        return
    specs = cls.action_specs()
    spec = specs.get(step.action)
    if spec is None:
        error(
            Span(key_span.file, key_span.line, key_span.col, key_span.col + len(qualified)),
            "unknown-action",
            _("the {robot} robot has no action '{action}'").format(robot=step.robot, action=step.action),
            expected=one_of(specs),
            hint=did_you_mean(step.action, specs),
        )
        return
    unavailable = None if own_display else cls.unavailable()
    if unavailable is not None:
        error(key_span, "robot-unavailable", unavailable.message, hint=unavailable.hint)
    if "params" in broken:  # not a mapping: reported, and nothing more can be said of the parameters
        return
    misspelt: set[str] = set()
    for name, value in step.params.items():
        path = (*params_path, name)
        if name not in spec.parameters:
            synonym = _PARAMETER_SYNONYMS.get(str(name).lower())
            near = closest(str(name), spec.parameters)
            if synonym in spec.parameters:
                near = [synonym]
            misspelt.update(near)
            error(
                spans.key(path),
                "unknown-parameter",
                _("{action} has no parameter '{name}'").format(action=qualified, name=name),
                expected=one_of(spec.parameters),
                hint=did_you_mean_text(near[0]) if near else None,
            )
            continue
        check_templates(value, path)
        if _contains_template(value):
            continue
        problem = spec.check_value(name, value)
        if problem is not None:
            error(
                spans.value(path),
                "wrong-type",
                _("{action}: parameter '{name}' {problem}").format(
                    action=qualified, name=name, problem=describe_problem(problem)
                ),
                expected=spec.parameters[name].type_text(),
                found=repr(value),
            )
    given = {name for name in step.params if name in spec.parameters}
    missing = [p.name for p in spec.parameters.values() if p.required and p.name not in given]
    for name in missing:
        if name in misspelt:  # already reported as the misspelt parameter, with a hint
            continue
        error(
            key_span,
            "missing-parameter",
            _("{action} needs the parameter '{name}'").format(action=qualified, name=name),
            expected=f"{name}: {spec.parameters[name].type_text()} — {spec.parameters[name].description}",
        )
    for problem in _group_problems(spec, given, misspelt):
        error(key_span, "parameter-group", problem)
    for group in spec.flat_groups:
        written = {name: step.params[name] for name in group.fields if name in step.params}
        for name, problem in group.cls.problems(written, group.optional):
            path = (*params_path, name)
            empty = name in group.cls.choose_one and name in written and not _contains_template(written[name])
            code = "empty-value" if empty else "parameter-group"
            span = spans.value(path) if empty else spans.key(path)
            error(span, code, f"{qualified}: {problem}")


_PARAMETER_SYNONYMS = {
    "reverse": "descending",
    "desc": "descending",
    "file": "path",
    "filename": "path",
    "file_path": "path",
    "sep": "delimiter",
    "separator": "delimiter",
}


def _group_problems(spec: Any, given: set[str], misspelt: set[str]) -> list[str]:
    """The parameter groups of an action that `given` breaks (a group that a misspelt name would complete is
    left out: the misspelling is already reported, with its fix)."""
    problems = []
    qualified = spec.qualified_name
    for group in spec.one_of:
        chosen = [name for name in group if name in given]
        if not chosen and not misspelt & set(group):
            problems.append(
                _("{action} needs one of {names}").format(action=qualified, names=", ".join(group))
            )
        elif len(chosen) > 1:
            problems.append(
                _("{action} takes only one of {names}, not several").format(
                    action=qualified, names=", ".join(chosen)
                )
            )
    for group in getattr(spec, "at_most_one", ()):
        chosen = [name for name in group if name in given]
        if len(chosen) > 1:
            problems.append(
                _("{action} takes only one of {names}, not several").format(
                    action=qualified, names=", ".join(chosen)
                )
            )
    for group in spec.together:
        chosen = [name for name in group if name in given]
        missing = [name for name in group if name not in given]
        if chosen and missing and not misspelt & set(missing):
            problems.append(
                _("{names} go together: {missing} is missing").format(
                    names=all_of(list(group)), missing=", ".join(missing)
                )
            )
    return problems


def changes_things(step: ActionStep) -> bool:
    """Whether a step calls an action that may enter something twice if done again (submit, send, append)."""
    from robots import action_spec

    try:
        spec = action_spec(step.robot, step.action)
    except Exception:  # an unknown or broken robot is reported by check_action_step
        return False
    return spec is not None and spec.may_enter_twice


def _contains_template(value: Any) -> bool:
    return any(is_template(item) for _, item in walk(value))


def _safe_actions(robot: str) -> list[str]:
    from robots import robot_class

    try:
        return list(robot_class(robot).action_specs())
    except Exception:  # a broken plugin must not break the hint
        return []


def check_one_screen(loop: ForEachStep, spans: SpanIndex, error: Callable[..., None]) -> None:
    """Report through `error` a loop run in parallel lanes (`parallel` other than 1) whose steps use a robot that
    drives the machine's one screen, mouse and keyboard: two lanes would type into each other's windows."""
    from robots import robot_class

    if loop.parallel == 1:
        return
    for step in (inner for steps in loop.children() for inner in walk_steps(steps)):
        if not isinstance(step, ActionStep):
            continue
        try:
            one_screen = robot_class(step.robot).one_screen
        except (LookupError, ImportError):  # an unknown robot: reported at its step
            continue
        if one_screen:
            error(
                spans.value((*loop.path, "parallel")),
                "one-screen",
                _(
                    "'parallel: {lanes}' runs lanes at once, but {action} (line {line}) drives the one screen, "
                    "mouse and keyboard of the machine: the lanes would type into each other's windows"
                ).format(lanes=loop.parallel, action=f"{step.robot}.{step.action}", line=step.span.line),
                hint=_(
                    "one screen: run desktop steps in one lane (leave 'parallel' out, or write 'parallel: 1')"
                ),
            )
            return
