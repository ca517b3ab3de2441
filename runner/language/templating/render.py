"""`{{ … }}` expressions, rendered in a sandboxed Jinja2 environment that is strict about undefined names.

A string that is exactly one expression (`"{{ rows }}"`) renders to the expression's value with its own type (a
list stays a list); any other string renders to text. Values taken from data (a spreadsheet cell, a page's
text) are inserted as values and never rendered again, so a cell holding `{{ … }}` stays literal text.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, pass_context
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.utils import missing

from robots.kit import N_, RoboError, WorkflowBug, _
from runner.language.diagnostics import closest
from runner.language.templating.analysis import analyse
from runner.language.templating.filters import FILTERS, GLOBALS, TESTS
from runner.language.templating.limits import (
    INTERNAL_FILTERS,
    LIMIT_HINT,
    BoundedEnvironment,
    TemplateLimitError,
)

# Spaces and line ends around one expression (YAML block scalars end with one) keep its value as it is; any other
# character, a tab among them ("{{ identifiant }}\t" types a Tab after it), makes the template a text.
_SINGLE_EXPRESSION = re.compile(r"^[ \r\n]*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}[ \r\n]*$", re.DOTALL)


class TemplateError(Exception):
    """A template could not be rendered: bad syntax, an undefined name, or a refused operation.

    `workflow_bug` tells a mistake of the template itself (an unknown name or field, bad syntax, a sandbox
    refusal), which every item would meet, from a value of the data that a filter or an operator refused.
    """

    def __init__(
        self,
        message: str,
        template: str,
        hint: str | None = None,
        *,
        workflow_bug: bool = False,
        cause: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.hint = hint
        self.workflow_bug = workflow_bug
        self.cause = cause  # what a filter saw (an extraction's refused candidates), after the template


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


SECRET_WATCH = "__secret_watch__"
"""A scope entry: what knows the run's secrets (its redactor). A template that reads a secret, or a value that
holds one, gives a value that is a secret too: it is registered with the watch, which then masks it."""


class SecretWatch(Protocol):
    def holds_secret(self, value: Any) -> bool: ...

    def taint(self, value: Any) -> None: ...

    def data(self, value: Any) -> Any: ...


_READS: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("template_reads", default=None)
"""The values a template being rendered looked up (`a.b`, `a['b']`), to know whether it read a secret."""
_OUTPUTS: contextvars.ContextVar[list[tuple[Any, int]] | None] = contextvars.ContextVar(
    "template_outputs", default=None
)
"""The value of each `{{ … }}` of a text being rendered, with how many values had been looked up by then."""


@pass_context  # never called ahead of time on a constant: every `{{ … }}` is noted, in order
def _noted_output(context: Any, value: Any) -> Any:
    outputs, reads = _OUTPUTS.get(), _READS.get()
    if outputs is not None and reads is not None:
        outputs.append((value, len(reads)))
    return value


class _Environment(BoundedEnvironment):
    """Sandboxed and immutable: templates may read data but not call methods that change it."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        return _read(value, obj if callable(value) else None)  # `text.upper()` computes from `text`

    def getitem(self, obj: Any, argument: Any) -> Any:
        return _read(super().getitem(obj, argument), None)


def _read(value: Any, source: Any) -> Any:
    reads = _READS.get()
    if reads is not None:
        reads.append(value)
        if source is not None:
            reads.append(source)
    return value


class _MissingName(UndefinedError):
    """An undefined name or field, with what it was looked up in (to list what exists instead)."""

    def __init__(self, message: str | None, owner: Any, name: Any) -> None:
        super().__init__(message)
        self.owner = owner
        self.name = name


class _Undefined(StrictUndefined):
    """Strict, and says what the missing name was looked up in."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = UndefinedError,
    ) -> None:
        super().__init__(hint, obj, name, exc)
        if exc is UndefinedError:  # not the sandbox's SecurityError, raised as it is
            raise_missing = functools.partial(_MissingName, owner=obj, name=name)
            self._undefined_exception = raise_missing  # type: ignore[assignment]


@cache
def environment() -> _Environment:
    env = _Environment(
        undefined=_Undefined, autoescape=False, keep_trailing_newline=True, finalize=_noted_output
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    env.globals.update(GLOBALS)
    return env


_MAX_FIELDS_SHOWN = 30
RECORD_SOURCES = "__record_sources__"
"""A scope entry {loop variable: file name} for the rows a loop reads from a file, to name it in messages."""


def _explain(exc: Exception, template: str, scope: Mapping[str, Any]) -> TemplateError:
    if isinstance(exc, _MissingName) and exc.owner is not missing and exc.name is not None:
        if isinstance(exc.name, int) and isinstance(exc.owner, list | tuple | str):
            what = _owner_expression(exc.owner, str(exc.name), template, scope)
            # a position past the end depends on the data (a value with fewer parts than others)
            return TemplateError(
                _("{what} has no item {position} (it has {count})").format(
                    what=what, position=exc.name, count=len(exc.owner)
                ),
                template,
            )
        return _missing_field(exc.owner, str(exc.name), template, scope)
    if isinstance(exc, UndefinedError):
        name = exc.name if isinstance(exc, _MissingName) else None
        if name is None:
            found = re.search(r"'([^']+)' is undefined", str(exc))
            if found is None:
                return TemplateError(str(exc), template, workflow_bug=True)
            name = found.group(1)
        known = [key for key in scope if isinstance(key, str) and not key.startswith("_")]
        guess = _closest(name, known)
        return TemplateError(
            _("'{name}' is not defined here: did you mean '{guess}'?").format(name=name, guess=guess)
            if guess
            else _("'{name}' is not defined here").format(name=name),
            template,
            hint=_("names available: inputs, vars, secrets, env, run, saved results and the loop variable"),
            workflow_bug=True,
        )
    if isinstance(exc, TemplateLimitError):  # may come from the data (a count in a cell): no workflow bug
        return TemplateError(str(exc), template, hint=_(LIMIT_HINT))
    if isinstance(exc, SecurityError):
        return TemplateError(
            _("refused by the sandbox: {problem}").format(problem=exc), template, workflow_bug=True
        )
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(
            _("template syntax error: {problem}").format(problem=exc.message), template, workflow_bug=True
        )
    return TemplateError(f"{type(exc).__name__}: {exc}", template)


def _missing_field(owner: Any, name: str, template: str, scope: Mapping[str, Any]) -> TemplateError:
    """`dossier.Nom` when the record has `nom`: the record's real fields, and the closest one."""
    what = _owner_expression(owner, name, template, scope)
    if not isinstance(owner, Mapping):
        return TemplateError(
            _("{what} is {kind} and has no attribute '{name}'").format(
                what=what, kind=_kind_of(owner), name=name
            ),
            template,
            workflow_bug=True,
        )
    fields = [str(key) for key in owner]
    guess = _closest(name, fields)
    shown = ", ".join(fields[:_MAX_FIELDS_SHOWN]) + (" …" if len(fields) > _MAX_FIELDS_SHOWN else "")
    source = (scope.get(RECORD_SOURCES) or {}).get(what)
    # One whole sentence for each case: with or without a guess, the columns of a file or the fields of a value.
    if not fields:
        wording = _("{what} has no field '{name}': {what} has no fields at all")
    elif guess and source:
        wording = _(
            "{what} has no field '{name}': did you mean '{guess}'? the columns of {source} are {fields}"
        )
    elif guess:
        wording = _("{what} has no field '{name}': did you mean '{guess}'? the fields of {what} are {fields}")
    elif source:
        wording = _("{what} has no field '{name}': the columns of {source} are {fields}")
    else:
        wording = _("{what} has no field '{name}': the fields of {what} are {fields}")
    return TemplateError(
        wording.format(what=what, name=name, guess=guess, source=source, fields=shown),
        template,
        hint=_("correct the name in the workflow (names are case-sensitive), then resume the run"),
        workflow_bug=True,
    )


def _owner_expression(owner: Any, name: str, template: str, scope: Mapping[str, Any]) -> str:
    """How the template names the value a field was looked up in (`dossier`, `dossier.adresse`)."""
    candidates = [expression for expression, attribute in analyse(template).lookups if attribute == name]
    for expression in candidates:
        if "." not in expression and "[" not in expression and scope.get(expression) is owner:
            return expression
    return candidates[0] if candidates else _("the value")


def _kind_of(value: Any) -> str:
    kinds = {
        str: N_("a text"),
        int: N_("a number"),
        float: N_("a number"),
        bool: N_("true or false"),
        list: N_("a list"),
    }
    kind = kinds.get(type(value))
    return _(kind) if kind else _("a value of type {type}").format(type=type(value).__name__)


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    pool = list(dict.fromkeys(candidates))
    same_case = [candidate for candidate in pool if candidate.lower() == word.lower()]
    if same_case:
        return same_case[0]
    found = closest(word, pool)
    return found[0] if found else None


@cache
def _compile_expression(expression: str) -> Any:
    return environment().compile_expression(expression, undefined_to_none=False)


@cache
def _compile_template(text: str) -> Any:
    return environment().from_string(text)


def render_value(value: Any, scope: Mapping[str, Any]) -> Any:
    """Render every template in `value` (a string, or lists and mappings of them) against `scope`."""
    if isinstance(value, str):
        return render_string(value, scope)
    if isinstance(value, list):
        return [render_value(item, scope) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, scope) for key, item in value.items()}
    return value


def render_string(text: str, scope: Mapping[str, Any]) -> Any:
    if not is_template(text):
        return text
    watch: SecretWatch | None = scope.get(SECRET_WATCH)
    if watch is None:
        return _render_string(text, scope)
    reads: list[Any] = []
    outputs: list[tuple[Any, int]] = []
    tokens = _READS.set(reads), _OUTPUTS.set(outputs)
    try:
        result = _render_string(text, scope)
    except TemplateError as exc:
        if not exc.workflow_bug and _reads_secret(
            analyse(text).all_names, analyse(text).whole_names, scope, reads, watch
        ):
            # the message may quote what the template computed from the secret (`int('…')`)
            raise TemplateError(
                _(
                    "{problem} in an expression that uses a secret (the details are not shown: they could reveal it)"
                ).format(problem=exc.message.split(":", 1)[0].rstrip()),
                exc.template,
                exc.hint,
            ) from None
        raise
    finally:
        _READS.reset(tokens[0])
        _OUTPUTS.reset(tokens[1])
    _taint_derived(text, scope, reads, outputs, watch, result)
    return result


def _taint_derived(
    text: str,
    scope: Mapping[str, Any],
    reads: list[Any],
    outputs: list[tuple[Any, int]],
    watch: SecretWatch,
    result: Any,
) -> None:
    """Register with the watch what a template computed from a secret.

    In a text made only of `{{ … }}` and plain words, each expression counts on its own (`longueur {{
    secrets.jeton | length }}, {{ row.nom }}` registers only the length); otherwise the whole result counts."""
    analysis = analyse(text)
    if analysis.outputs is not None and len(analysis.outputs) == len(outputs):
        seen = 0
        for (value, read_until), (names, whole) in zip(outputs, analysis.outputs, strict=True):
            if _reads_secret(names, whole, scope, reads[seen:read_until], watch):
                watch.taint(value)
            seen = read_until
        return
    if _reads_secret(analysis.all_names, analysis.whole_names, scope, reads, watch):
        watch.taint(result)


def _reads_secret(
    names: frozenset[str],
    whole: frozenset[str],
    scope: Mapping[str, Any],
    reads: list[Any],
    watch: SecretWatch,
) -> bool:
    """Whether an expression computes from a secret: it names `secrets`, or reads a value that holds a secret."""
    if "secrets" in names:
        return True
    if any(watch.holds_secret(value) for value in reads):
        return True
    return any(watch.holds_secret(scope.get(name)) for name in whole if name != SECRET_WATCH)


def _render_string(text: str, scope: Mapping[str, Any]) -> Any:
    single = _SINGLE_EXPRESSION.match(text)
    try:
        if single:
            result = _compile_expression(single.group("expr").strip())(**scope)
            if isinstance(result, StrictUndefined):
                str(result)  # raises the UndefinedError that names what is missing
            return result
        return _compile_template(text).render(**scope)
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise _explain(exc, text, scope) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise _explain(exc, text, scope) from None
    except RoboError as exc:  # a filter's own error (an extraction that found nothing): its words and kind
        raise TemplateError(
            exc.message, text, exc.hint, workflow_bug=isinstance(exc, WorkflowBug), cause=exc.cause
        ) from None


def evaluate_condition(expression: str, scope: Mapping[str, Any]) -> bool:
    """Evaluate a condition (`when`, `if`): a bare expression, or one wrapped in `{{ }}`."""
    return bool(render_string(as_expression_template(expression), scope))


def as_expression_template(expression: str) -> str:
    stripped = expression.strip()
    return stripped if _SINGLE_EXPRESSION.match(stripped) else "{{ " + stripped + " }}"


def known_filters() -> set[str]:
    return set(environment().filters) - INTERNAL_FILTERS


def known_tests() -> set[str]:
    return set(environment().tests)
