"""`{{ … }}` expressions, rendered in a sandboxed Jinja2 environment that is strict about undefined names.

A string that is exactly one expression (`"{{ rows }}"`) renders to the expression's value with its own type (a
list stays a list); any other string renders to text. Values taken from data (a spreadsheet cell, a page's
text) are inserted as values and never rendered again, so a cell holding `{{ … }}` stays literal text.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import hashlib
import re
import reprlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from functools import cache, lru_cache
from typing import Any, Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.utils import missing

from runner.language.diagnostics import closest
from runner.language.templating.limits import (
    INTERNAL_FILTERS,
    LIMIT_HINT,
    MAX_NUMBER_DIGITS,
    BoundedEnvironment,
    TemplateLimitError,
    check_text,
    constant_limit_problem,
    too_long,
)

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_LOCALE = "fr_FR"
# Explicit CLDR patterns rather than the locale's "short"/"long"/"full" names, which a CLDR release may change.
_DATE_PATTERNS = {"short": "dd/MM/y", "long": "d MMMM y", "full": "EEEE d MMMM y"}


class TemplateError(Exception):
    """A template could not be rendered: bad syntax, an undefined name, or a refused operation.

    `workflow_bug` tells a mistake of the template itself (an unknown name or field, bad syntax, a sandbox
    refusal), which every item would meet, from a value of the data that a filter or an operator refused.
    """

    def __init__(
        self, message: str, template: str, hint: str | None = None, *, workflow_bug: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.hint = hint
        self.workflow_bug = workflow_bug


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y"):
            try:
                return dt.datetime.strptime(text[: len(dt.datetime.now().strftime(fmt))], fmt).date()
            except ValueError:
                continue
        try:
            return dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ValueError(f"not a date: {reprlib.repr(value)}")


def date_fr(value: Any, style: str = "long") -> str:
    """`23 novembre 2026` (long), `lundi 23 novembre 2026` (full) or `23/11/2026` (short)."""
    from babel.dates import format_date

    day = _to_date(value)
    pattern = _DATE_PATTERNS["short" if style == "short" else "full" if style == "full" else "long"]
    if day.day == 1:
        # French writes the first of the month as an ordinal ("1er novembre"); CLDR's `d` gives "1".
        pattern = pattern.replace("d MMMM", "'1er' MMMM")
    return format_date(day, pattern, locale=_LOCALE)


def date_iso(value: Any) -> str:
    return _to_date(value).isoformat()


def date_format(value: Any, fmt: str = "%d/%m/%Y") -> str:
    if isinstance(value, dt.datetime):
        return value.strftime(fmt)
    return _to_date(value).strftime(fmt)


def to_date(value: Any) -> dt.date:
    return _to_date(value)


def slug(value: Any, separator: str = "-") -> str:
    """`Dossier n°12 : Éric` → `dossier-n-12-eric`: safe in file names and URLs."""
    check_text(value)
    ligatures = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
    decomposed = unicodedata.normalize("NFKD", str(value).translate(ligatures))
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)


FOLDER_SLUG_MAX_LENGTH = 60


def folder_slug(value: Any, fallback: str = "workflow", max_length: int = FOLDER_SLUG_MAX_LENGTH) -> str:
    """A slug that can name a folder: never empty, with a Latin letter, at most `max_length` characters.

    It holds only `a-z`, `0-9` and `-`, so never a path separator, `.` or `..`. A value whose slug has no Latin
    letter (`日本語`, `---`, `../..`, `2024`) gives `<fallback>[-<digits>]-<hash>`; a longer one is cut at
    `max_length` and ends with the hash, so that two long names stay apart. The hash is the first 8 hex digits
    of the value's SHA-256: the same value always gets the same folder.
    """
    text = slug(value)
    if re.search(r"[a-z]", text) and len(text) <= max_length:
        return text
    digest = hashlib.sha256(str(value).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    room = max_length - len(digest) - 1
    if not re.search(r"[a-z]", text[:room]):
        text = f"{fallback}-{text}" if text else fallback
    return f"{text[:room].rstrip('-')}-{digest}"


def _french_number(value: Any, decimals: int, *, in_euros: bool = False) -> str:
    """`value` read as a number (a French "1 234,5" too) and written by Babel with `decimals` decimals."""
    from babel.numbers import format_currency, format_decimal

    check_text(value)
    try:
        number = Decimal(str(value).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {reprlib.repr(value)}") from None
    digits = max(number.adjusted() if number.is_finite() else 0, decimals)
    if digits > MAX_NUMBER_DIGITS:
        raise too_long("a number", digits, MAX_NUMBER_DIGITS, "digits")
    if type(decimals) is not int or decimals < 0:
        # The message Python's format() gave when these filters used it, kept for the same error.
        raise ValueError("invalid format string")
    if not number.is_finite():
        # Babel would write "NaN,00" and "∞": these stay "NaN" and "Infinity", as format() wrote them.
        return f"{number}\u00a0€" if in_euros else str(number)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    # Babel rounds in the current decimal context, whose 28 digits would refuse a longer number; half-even, as
    # format() did. fr_FR's group separator in CLDR is the narrow no-break space (U+202F) this filter always used.
    with localcontext(prec=2 * MAX_NUMBER_DIGITS + 2, rounding=ROUND_HALF_EVEN):
        if in_euros:
            return format_currency(number, "EUR", f"{pattern}\u00a0¤", locale=_LOCALE, currency_digits=False)
        return format_decimal(number, pattern, locale=_LOCALE)


def number_fr(value: Any, decimals: int = 2) -> str:
    """`1234.5` → `1 234,50` (French grouping with a narrow no-break space, comma decimal mark)."""
    return _french_number(value, decimals)


def euros(value: Any, decimals: int = 2) -> str:
    """`1234.5` → `1 234,50 €` (a no-break space before the sign)."""
    return _french_number(value, decimals, in_euros=True)


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def _today() -> dt.date:
    return dt.date.today()


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
    env.filters.update(
        date_fr=date_fr,
        date_iso=date_iso,
        date=date_format,
        to_date=to_date,
        slug=slug,
        number_fr=number_fr,
        euros=euros,
    )
    env.globals.update(now=_now, today=_today)
    return env


FILTER_NAMES = ("date_fr", "date_iso", "date", "to_date", "slug", "number_fr", "euros")


_MAX_FIELDS_SHOWN = 30
RECORD_SOURCES = "__record_sources__"
"""A scope entry {loop variable: file name} for the rows a loop reads from a file, to name it in messages."""


def _explain(exc: Exception, template: str, scope: Mapping[str, Any]) -> TemplateError:
    if isinstance(exc, _MissingName) and exc.owner is not missing and exc.name is not None:
        if isinstance(exc.name, int) and isinstance(exc.owner, list | tuple | str):
            what = _owner_expression(exc.owner, str(exc.name), template, scope)
            # a position past the end depends on the data (a value with fewer parts than others)
            return TemplateError(f"{what} has no item {exc.name} (it has {len(exc.owner)})", template)
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
            f"'{name}' is not defined here" + (f": did you mean '{guess}'?" if guess else ""),
            template,
            hint="names available: inputs, vars, secrets, env, run, saved results and the loop variable",
            workflow_bug=True,
        )
    if isinstance(exc, TemplateLimitError):  # may come from the data (a count in a cell): no workflow bug
        return TemplateError(str(exc), template, hint=LIMIT_HINT)
    if isinstance(exc, SecurityError):
        return TemplateError(f"refused by the sandbox: {exc}", template, workflow_bug=True)
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(f"template syntax error: {exc.message}", template, workflow_bug=True)
    return TemplateError(f"{type(exc).__name__}: {exc}", template)


def _missing_field(owner: Any, name: str, template: str, scope: Mapping[str, Any]) -> TemplateError:
    """`dossier.Nom` when the record has `nom`: the record's real fields, and the closest one."""
    what = _owner_expression(owner, name, template, scope)
    if not isinstance(owner, Mapping):
        return TemplateError(
            f"{what} is {_kind_of(owner)} and has no attribute '{name}'", template, workflow_bug=True
        )
    fields = [str(key) for key in owner]
    guess = _closest(name, fields)
    shown = ", ".join(fields[:_MAX_FIELDS_SHOWN]) + (" …" if len(fields) > _MAX_FIELDS_SHOWN else "")
    message = f"{what} has no field '{name}'"
    if guess:
        message += f": did you mean '{guess}'?"
    source = (scope.get(RECORD_SOURCES) or {}).get(what)
    listed = f"the columns of {source}" if source else f"the fields of {what}"
    if fields:
        message += f"{' ' if guess else ': '}{listed} are {shown}"
    else:
        message += f": {what} has no fields at all"
    return TemplateError(
        message,
        template,
        hint="correct the name in the workflow (names are case-sensitive), then resume the run",
        workflow_bug=True,
    )


def _owner_expression(owner: Any, name: str, template: str, scope: Mapping[str, Any]) -> str:
    """How the template names the value a field was looked up in (`dossier`, `dossier.adresse`)."""
    candidates = [expression for expression, attribute in _analyse(template).lookups if attribute == name]
    for expression in candidates:
        if "." not in expression and "[" not in expression and scope.get(expression) is owner:
            return expression
    return candidates[0] if candidates else "the value"


def _kind_of(value: Any) -> str:
    kinds = {str: "a text", int: "a number", float: "a number", bool: "true or false", list: "a list"}
    return kinds.get(type(value), f"a value of type {type(value).__name__}")


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
            _analyse(text).all_names, _analyse(text).whole_names, scope, reads, watch
        ):
            # the message may quote what the template computed from the secret (`int('…')`)
            raise TemplateError(
                f"{exc.message.split(':', 1)[0]} in an expression that uses a secret (the details are not"
                " shown: they could reveal it)",
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
    analysis = _analyse(text)
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


def evaluate_condition(expression: str, scope: Mapping[str, Any]) -> bool:
    """Evaluate a condition (`when`, `if`): a bare expression, or one wrapped in `{{ }}`."""
    return bool(render_string(as_expression_template(expression), scope))


def as_expression_template(expression: str) -> str:
    stripped = expression.strip()
    return stripped if _SINGLE_EXPRESSION.match(stripped) else "{{ " + stripped + " }}"


@dataclass(frozen=True, slots=True)
class _Analysis:
    """What a static look at one template finds, computed once per distinct text."""

    problem: str | None = None
    names: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    getattrs: tuple[
        tuple[str, str], ...
    ] = ()  # (root name, attribute) for `root.attribute`, `root['attribute']`
    lookups: tuple[tuple[str, str], ...] = ()  # (`dossier.adresse`, `ville`) for `dossier.adresse.ville`
    limit: str | None = None  # a limit that a constant part breaks, whatever the data (`'ab' * 400000000`)
    gets: tuple[tuple[str, str], ...] = ()  # (root name, key) for `root.get('key')`
    all_names: frozenset[str] = frozenset()  # every name read from outside, guarded ones included
    whole_names: frozenset[str] = frozenset()  # names used as a whole value, not only to look a part up
    # for a text of only `{{ … }}` and words: (all names, whole names) of each expression, in order
    outputs: tuple[tuple[frozenset[str], frozenset[str]], ...] | None = None


class _AnyName(dict[str, Any]):
    """A filter or test table that knows every name, so that analysis does not stop at an unknown one."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, _unknown)

    def __contains__(self, key: object) -> bool:
        return True


def _unknown(*args: Any, **kwargs: Any) -> None:
    return None


@cache
def _analysis_environment() -> _Environment:
    """The same syntax as `environment()`, with every filter and test name known (for static analysis only)."""
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = _AnyName(env.filters)
    env.tests = _AnyName(env.tests)
    env.globals.update(environment().globals)
    return env


_SYNTAX_WORDING = (
    ("unexpected end of template, expected 'end of print statement'.", "the template ends before its }}"),
    ("expected token 'end of print statement'", "expected the end of the expression"),
    ("'end of print statement'", "the end of the expression"),
)


def _wording(message: str) -> str:
    for jinja, ours in _SYNTAX_WORDING:
        if jinja in message:
            return message.replace(jinja, ours)
    return message


@lru_cache(maxsize=4096)
def _analyse(text: str) -> _Analysis:
    try:
        ast = _analysis_environment().parse(text)
    except TemplateSyntaxError as exc:
        return _Analysis(problem=_wording(exc.message or "invalid template"))
    except RecursionError:
        return _Analysis(problem="the expression is nested too deeply")
    try:
        undeclared = set(meta.find_undeclared_variables(ast))
    except RecursionError:
        return _Analysis(problem="the expression is nested too deeply")
    except Exception as exc:  # jinja's code generator refusing a template that it could parse
        return _Analysis(problem=_wording(str(exc)) or "invalid template")
    getattrs = [
        (node.node.name, node.attr)
        for node in ast.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name)
    ]
    getattrs.extend(
        (item.node.name, item.arg.value)
        for item in ast.find_all(nodes.Getitem)
        if isinstance(item.node, nodes.Name)
        and isinstance(item.arg, nodes.Const)
        and isinstance(item.arg.value, str)
    )
    gets = tuple(
        (call.node.node.name, call.args[0].value)
        for call in ast.find_all(nodes.Call)
        if isinstance(call.node, nodes.Getattr)
        and call.node.attr == "get"
        and isinstance(call.node.node, nodes.Name)
        and call.args
        and isinstance(call.args[0], nodes.Const)
        and isinstance(call.args[0].value, str)
    )
    lookups = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        expression, attribute = _expression_text(node.node), _looked_up(node)
        if expression is not None and attribute is not None:
            lookups.append((expression, attribute))
    names_of = functools.partial(_names_read, undeclared=frozenset(undeclared))
    all_names, whole_names = names_of(ast)
    outputs = None
    if all(isinstance(node, nodes.Output) for node in ast.body):
        expressions = [
            child
            for node in ast.body
            if isinstance(node, nodes.Output)
            for child in node.nodes
            if not isinstance(child, nodes.TemplateData)
        ]
        outputs = tuple(names_of(expression) for expression in expressions)
    return _Analysis(
        all_names=all_names,
        whole_names=whole_names,
        outputs=outputs,
        names=frozenset(undeclared - set(environment().globals) - _names_guarded(ast)),
        filters=frozenset(node.name for node in ast.find_all(nodes.Filter)),
        tests=frozenset(node.name for node in ast.find_all(nodes.Test)),
        getattrs=tuple(getattrs),
        gets=gets,
        lookups=tuple(lookups),
        limit=constant_limit_problem(ast),
    )


def _names_read(node: nodes.Node, undeclared: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The outside names a part of a template reads, and those of them it uses whole (not only to look a part
    up in them: a slice `text[1:]` uses the whole text)."""
    looked_into = {
        id(found.node)
        for found in [node, *node.find_all((nodes.Getattr, nodes.Getitem))]
        if isinstance(found, nodes.Getattr)
        or (isinstance(found, nodes.Getitem) and not isinstance(found.arg, nodes.Slice))
    }
    names = [found for found in node.find_all(nodes.Name) if found.ctx == "load"]
    if isinstance(node, nodes.Name) and node.ctx == "load":
        names.append(node)
    read = frozenset(found.name for found in names) & undeclared
    whole = frozenset(found.name for found in names if id(found) not in looked_into) & undeclared
    return read, whole


def _looked_up(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
        return str(node.arg.value)
    return None


def _expression_text(node: nodes.Node) -> str | None:
    """`dossier.adresse` back as text from its syntax tree, for names and plain lookups only."""
    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        inner = _expression_text(node.node)
        attribute = _looked_up(node)
        if inner is None or attribute is None:
            return None
        if isinstance(node, nodes.Getattr):
            return f"{inner}.{attribute}"
        return f"{inner}[{node.arg.value!r}]" if isinstance(node.arg, nodes.Const) else None
    return None


def limit_problem(text: str) -> str | None:
    """A message when a constant part of `text` would go beyond a limit on what a template builds, else None."""
    return _analyse(text).limit


def syntax_problem(text: str) -> str | None:
    """A message when `text` is not a valid template, else None."""
    return _analyse(text).problem


def referenced_names(text: str) -> set[str]:
    """Top-level names a template reads that it does not define itself (for static checks)."""
    return set(_analyse(text).names)


def _names_guarded(ast: nodes.Template) -> set[str]:
    """Names only tested for existence (`x is defined`) or given a fallback (`x | default(…)`)."""
    guarded = {
        test.node.name
        for test in ast.find_all(nodes.Test)
        if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name)
    }
    guarded |= {
        found.node.name
        for found in ast.find_all(nodes.Filter)
        if found.name in ("default", "d") and isinstance(found.node, nodes.Name)
    }
    return guarded


def attribute_references(text: str, root: str) -> list[str]:
    """The attributes read directly from `root` (e.g. `inputs.fichier` → `fichier`)."""
    return [attribute for name, attribute in _analyse(text).getattrs if name == root]


def keys_read(text: str, root: str) -> list[str]:
    """The keys read from `root` by name: `env.HOME`, `env['HOME']` and `env.get('HOME')` give `HOME`."""
    analysis = _analyse(text)
    return [key for name, key in (*analysis.getattrs, *analysis.gets) if name == root and key != "get"]


def filters_used(text: str) -> set[str]:
    return set(_analyse(text).filters)


def tests_used(text: str) -> set[str]:
    return set(_analyse(text).tests)


def known_filters() -> set[str]:
    return set(environment().filters) - INTERNAL_FILTERS


def known_tests() -> set[str]:
    return set(environment().tests)
