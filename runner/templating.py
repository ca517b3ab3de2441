"""`{{ … }}` expressions, rendered in a sandboxed Jinja2 environment that is strict about undefined names.

A string that is exactly one expression (`"{{ rows }}"`) renders to the expression's value with its own type (a
list stays a list); any other string renders to text. Values taken from data (a spreadsheet cell, a page's
text) are inserted as values and never rendered again, so a cell holding `{{ … }}` stays literal text.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import re
import reprlib
import string
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes, pass_context
from jinja2 import sandbox as jinja_sandbox
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from runner.diagnostics import closest

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_MONTHS_FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
_DAYS_FR = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()


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
    day = _to_date(value)
    if style == "short":
        return day.strftime("%d/%m/%Y")
    text = f"{'1er' if day.day == 1 else day.day} {_MONTHS_FR[day.month - 1]} {day.year}"
    return f"{_DAYS_FR[day.weekday()]} {text}" if style == "full" else text


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
    _check_text(value)
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


def number_fr(value: Any, decimals: int = 2) -> str:
    """`1234.5` → `1 234,50` (French grouping with a narrow no-break space, comma decimal mark)."""
    _check_text(value)
    try:
        number = Decimal(str(value).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {reprlib.repr(value)}") from None
    digits = max(number.adjusted() if number.is_finite() else 0, decimals)
    if digits > MAX_NUMBER_DIGITS:
        raise _too_long("a number", digits, MAX_NUMBER_DIGITS, "digits")
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def euros(value: Any, decimals: int = 2) -> str:
    return f"{number_fr(value, decimals)}\u00a0€"


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def _today() -> dt.date:
    return dt.date.today()


# -- Limits on the work of one template ------------------------------------------------------------------------
# A template's values come from data (a cell, a page, an e-mail): neither a template nor a value may exhaust the
# machine. Jinja cannot be interrupted from another thread, so the work itself is bounded: every operation that
# can build something large checks the size of its result before building it, and every loop iteration, output
# and guarded operation checks the rendering's time.

MAX_TEXT_LENGTH = 10_000_000
"""The longest text a template may build (`*`, `~`, `format`, `center`, `join`…) or write in one rendering."""
MAX_LIST_LENGTH = 1_000_000
"""The longest list or tuple a template may build with `*`, `+` or `batch`."""
MAX_INTEGER_BITS = 100_000
"""The largest integer `**` may build (about 30 000 digits)."""
MAX_LOOP_ITERATIONS = 1_000_000
"""`{% for %}` iterations in one rendering, all loops together."""
MAX_RANGE_LENGTH = jinja_sandbox.MAX_RANGE
"""The longest `range()` (the sandbox's own limit, 100 000)."""
MAX_RENDER_SECONDS = 10.0
"""How long one rendering may run; checked at every loop iteration, output and guarded operation."""
MAX_NUMBER_DIGITS = 1_000
"""Digits before or after the decimal mark that `number_fr` and `euros` write."""


class TemplateLimitError(SecurityError):
    """A template would go beyond one of the limits above: it is stopped before building the value."""


_LIMIT_HINT = (
    "a template builds short texts from values; to handle large data, use a robot action (data, excel, files)"
)


def _too_long(what: str, size: int, limit: int, unit: str = "characters") -> TemplateLimitError:
    return TemplateLimitError(f"this would build {what} of {size:,} {unit}, more than the limit of {limit:,}")


def _text_size(value: Any, limit: int = MAX_TEXT_LENGTH) -> int:
    """About how many characters `str(value)` has, counted without building it; stops once past `limit`."""
    if isinstance(value, str):
        return len(value)
    if value is None or isinstance(value, bool | float | dt.date | dt.time | Decimal):
        return 40
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    total = 0
    pending: list[Any] = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) + 4
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        elif isinstance(item, range):
            total += 20
        else:
            total += _text_size(item, limit) if isinstance(item, int | float | bool | dt.date) else 40
    return total


def _check_text(value: Any, what: str = "a text") -> None:
    size = _text_size(value)
    if size > MAX_TEXT_LENGTH:
        raise _too_long(what, size, MAX_TEXT_LENGTH)


def _check_width(width: Any, what: str = "a text") -> None:
    if isinstance(width, int) and width > MAX_TEXT_LENGTH:
        raise _too_long(what, width, MAX_TEXT_LENGTH)


def _check_count(count: Any, what: str) -> None:
    if isinstance(count, int) and count > MAX_LIST_LENGTH:
        raise _too_long(what, count, MAX_LIST_LENGTH, "items")


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
_FORMAT_NUMBERS = re.compile(r"\d+")


def _check_printf(text: str, args: Any) -> None:
    """`'%999999999d' % 1`: a width, a precision or arguments that would make the text too long."""
    fields = _PRINTF_FIELD.findall(text)
    if any("*" in (width, precision) for width, precision, _ in fields):
        raise TemplateLimitError("a width or precision given as '*' is not allowed in a template's % format")
    for width, precision, _ in fields:
        _check_width(int(width or 0))
        _check_width(int(precision or 0))
    values = list(args.values()) if isinstance(args, Mapping) else args if isinstance(args, tuple) else [args]
    largest = max((_text_size(value) for value in values), default=0)
    estimate = len(text) + sum(int(width or 0) + int(precision or 0) for width, precision, _ in fields)
    _check_text_size(estimate + len(fields) * largest)


def _check_text_size(size: int) -> None:
    if size > MAX_TEXT_LENGTH:
        raise _too_long("a text", size, MAX_TEXT_LENGTH)


def _check_str_format(text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """`'{:999999999}'.format(1)`: the same for `str.format` and `str.format_map`."""
    fields = list(string.Formatter().parse(text))
    specs = [spec or "" for _, _, spec, _ in fields]
    for spec in specs:
        for number in _FORMAT_NUMBERS.findall(spec):
            _check_width(int(number))
    values = [*args, *kwargs.values()]
    nested = any("{" in spec for spec in specs)
    for value in values:
        if nested:
            _check_width(value)
    largest = max((_text_size(value) for value in values), default=0)
    _check_text_size(len(text) + len(fields) * largest)


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """The methods of a text that can build a much longer one: checked on their arguments, before the call."""
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _check_text_size(len(text) + text.count("\t") * (size if isinstance(size, int) else 8))
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name == "join" and args:
        _check_join(text, args[0])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        _check_text_size(len(text) * max(1, longest))
    elif name in ("format", "format_map"):
        if name == "format_map" and args and isinstance(args[0], Mapping):
            _check_str_format(text, (), args[0])
        else:
            _check_str_format(text, args, kwargs)


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    text, old, new = str(text), str(old), str(new)
    if len(new) <= len(old):
        return
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _check_text_size(len(text) + found * (len(new) - len(old)))


def _check_join(separator: Any, items: Any) -> None:
    if isinstance(items, range):
        _check_text_size((len(str(separator)) + 20) * len(items))
    elif isinstance(items, list | tuple):
        _check_text_size(len(str(separator)) * len(items) + sum(_text_size(item) for item in items))


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:  # more than sys.maxsize numbers
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        raise _too_long("a range", length, MAX_RANGE_LENGTH, "numbers")
    return numbers


class _RenderBudget:
    """What one rendering has used so far: its start, its loop iterations and the characters it wrote."""

    __slots__ = ("iterations", "started", "written")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.iterations = 0
        self.written = 0

    def tick(self) -> None:
        if time.monotonic() - self.started > MAX_RENDER_SECONDS:
            raise TemplateLimitError(
                f"the template was stopped after running for more than {MAX_RENDER_SECONDS:g} s"
            )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitError(
                f"the template's loops ran more than {MAX_LOOP_ITERATIONS:,} times in one rendering"
            )
        self.tick()

    def write(self, value: Any) -> None:
        self.written += _text_size(value)
        if self.written > MAX_TEXT_LENGTH:
            raise _too_long("a text", self.written, MAX_TEXT_LENGTH)
        self.tick()


class _BudgetedContext(Context):
    """A rendering's context, which carries its budget (every guarded operation receives the context)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = _RenderBudget()


def _budget(context: Any) -> _RenderBudget:
    budget = getattr(context, "budget", None)
    return budget if isinstance(budget, _RenderBudget) else _RenderBudget()


# Filters inserted by `_BoundedEnvironment._generate` around loops, outputs and `~`: their names cannot be
# written in a template (a `:` is not part of a filter name), so they never appear in one.
_LOOP_FILTER, _OUTPUT_FILTER, _CONCAT_FILTER = "robo:loop", "robo:output", "robo:concat"


@pass_context
def _counted_loop(context: Any, iterable: Any) -> Iterator[Any]:
    budget = _budget(context)
    for item in iterable:
        budget.iteration()
        yield item


@pass_context
def _counted_output(context: Any, value: Any) -> Any:
    _budget(context).write(value)
    return value


@pass_context
def _bounded_concat(context: Any, parts: Any) -> str:
    _check_text_size(sum(_text_size(part) for part in parts))
    _budget(context).tick()
    return "".join(str(part) for part in parts)


class _BudgetTransformer(NodeTransformer):
    """Counts every loop iteration and every output of a rendering, and bounds `~`, by wrapping them in filters."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _wrapped(node.iter, _LOOP_FILTER)  # type: ignore[arg-type]
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_wrapped(child, _OUTPUT_FILTER) for child in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _wrapped(nodes.Tuple(node.nodes, "load", lineno=node.lineno), _CONCAT_FILTER)


def _wrapped(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


# Jinja's filters that turn their value into a text: the value's size is checked first.
_TEXT_FILTERS = (
    *("string", "tojson", "pprint", "truncate", "upper", "lower", "title", "capitalize", "trim", "striptags"),
    *("urlencode", "urlize", "escape", "e", "forceescape", "wordcount", "xmlattr"),
)


def _bounded_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Jinja's filters that can build a long text, checked on their arguments before they run."""

    def text_filter(name: str, check: Any = None) -> Any:
        original = filters[name]
        # a filter marked pass_context/pass_eval_context/pass_environment receives that first, then the value
        skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

        @functools.wraps(original)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            _check_text(args[skip])
            if check is not None:
                check(*args[skip:], **kwargs)
            return original(*args, **kwargs)

        return bounded

    def format_check(value: Any, *args: Any, **kwargs: Any) -> None:
        _check_printf(str(value), kwargs or args)

    def width_check(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> None:
        _check_width(width)

    def indent_check(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
        lines = str(value).count("\n") + 1
        _check_text_size(len(str(value)) + lines * (len(width) if isinstance(width, str) else int(width)))

    def join_check(value: Any, d: Any = "", *args: Any, **kwargs: Any) -> None:
        _check_join(d, value)

    def replace_check(value: Any, old: Any, new: Any, count: Any = None, **kwargs: Any) -> None:
        _check_replace(value, old, new, -1 if count is None else count)

    def wordwrap_check(
        value: Any, width: Any = 79, _long: Any = True, wrapstring: Any = None, **kw: Any
    ) -> None:
        breaks = len(str(value)) // max(1, int(width)) + 1
        _check_text_size(len(str(value)) + breaks * len(str(kw.get("wrapstring", wrapstring) or "\n")))

    def batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
        _check_count(linecount, "a batch")
        return filters["batch"](value, linecount, fill_with)

    def slice_(value: Any, slices: int, fill_with: Any = None) -> Any:
        _check_count(slices, "a list of slices")
        return filters["slice"](value, slices, fill_with)

    bounded = {name: text_filter(name) for name in _TEXT_FILTERS if name in filters}
    bounded.update(
        format=text_filter("format", format_check),
        center=text_filter("center", width_check),
        indent=text_filter("indent", indent_check),
        join=text_filter("join", join_check),
        replace=text_filter("replace", replace_check),
        wordwrap=text_filter("wordwrap", wordwrap_check),
        batch=batch,
        slice=slice_,
    )
    return bounded


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with the limits above on what a template may build and on how long it may run.

    The guarded operators are also never folded into constants when a template is compiled or analysed, so
    that `robo validate` does not compute `{{ 'ab' * 400000000 }}`.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    context_class = _BudgetedContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.update(_bounded_filters(self.filters))
        self.filters.update(
            {_LOOP_FILTER: _counted_loop, _OUTPUT_FILTER: _counted_output, _CONCAT_FILTER: _bounded_concat}
        )
        self.globals["range"] = _bounded_range
        self.globals.pop("lipsum", None)  # `lipsum(10**9)` writes a billion paragraphs, and a bot needs none

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        return super()._generate(_BudgetTransformer().visit(source), *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        _budget(context).tick()
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps `str.format` in its own function
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, getattr(target, "__name__", ""), args, kwargs)
        _budget(__context).tick()
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):
            _check_text(result)
        return result


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length() + right.bit_length()
            if bits > MAX_INTEGER_BITS:
                raise _too_long("a number", bits, MAX_INTEGER_BITS, "bits")
        for sequence, times in ((left, right), (right, left)):
            if isinstance(times, int) and not isinstance(times, bool):
                if isinstance(sequence, str):
                    _check_text_size(len(sequence) * times)
                elif isinstance(sequence, list | tuple):
                    _check_count(len(sequence) * times, "a list")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            bits = (abs(left).bit_length() - 1) * right
            if bits > MAX_INTEGER_BITS:
                raise _too_long("a number", bits, MAX_INTEGER_BITS, "bits")
    elif operator == "%":
        if isinstance(left, str):
            _check_printf(left, right)
    elif operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            _check_text_size(len(left) + len(right))
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            _check_count(len(left) + len(right), "a list")


_BINARY_OPERATORS: dict[str, Any] = {
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
    "+": operator.add,
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
}


def _constant_limit_problem(ast: nodes.Template) -> str | None:
    """The first limit that a part of the template made only of constants would break, else None.

    This is how `robo validate` sees `{{ 'ab' * 400000000 }}` without computing it: constants are combined
    under the same checks as at run time, so nothing larger than the limits is ever built.
    """
    for node in ast.find_all((nodes.BinExpr, nodes.Filter, nodes.Call)):
        try:
            _bounded_constant(node)
        except TemplateLimitError as exc:
            return str(exc)
        except Exception:  # not a constant, or an error that running it reports with its own message
            continue
    return None


def _bounded_constant(node: nodes.Node) -> Any:
    """The value of a constant expression, computed under the template limits; raises otherwise."""
    if isinstance(node, nodes.BinExpr) and node.operator in _BINARY_OPERATORS:
        left, right = _bounded_constant(node.left), _bounded_constant(node.right)
        _check_binop(node.operator, left, right)
        return _BINARY_OPERATORS[node.operator](left, right)
    if isinstance(node, nodes.Filter) and node.node is not None and not node.kwargs:
        value, args = _bounded_constant(node.node), [_bounded_constant(arg) for arg in node.args]
        _check_filter_arguments(node.name, value, args)
    elif isinstance(node, nodes.Call) and not node.kwargs:
        args = [_bounded_constant(arg) for arg in node.args]
        if isinstance(node.node, nodes.Name) and node.node.name == "range":
            return _bounded_range(*args)
        if isinstance(node.node, nodes.Getattr):
            owner = _bounded_constant(node.node.node)
            if isinstance(owner, str):
                _check_str_method(owner, node.node.attr, tuple(args), {})
    elif isinstance(node, nodes.Const | nodes.List | nodes.Tuple | nodes.Neg | nodes.Pos):
        return node.as_const()
    raise nodes.Impossible()


def _check_filter_arguments(name: str, value: Any, args: list[Any]) -> None:
    if name == "format":
        _check_printf(str(value), tuple(args))
    elif name in ("center", "indent") and args:
        _check_width(args[0])
    elif name in ("batch", "slice") and args:
        _check_count(args[0], "a batch" if name == "batch" else "a list of slices")
    elif name == "join":
        _check_join(args[0] if args else "", value)
    elif name == "replace" and len(args) >= 2:
        _check_replace(value, args[0], args[1], args[2] if len(args) > 2 else -1)


class _Environment(_BoundedEnvironment):
    """Sandboxed and immutable: templates may read data but not call methods that change it."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


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
    env = _Environment(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
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
    if isinstance(
        exc, TemplateLimitError
    ):  # may come from the data (a count from a cell): not a workflow bug
        return TemplateError(str(exc), template, hint=_LIMIT_HINT)
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
    lookups = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        expression, attribute = _expression_text(node.node), _looked_up(node)
        if expression is not None and attribute is not None:
            lookups.append((expression, attribute))
    return _Analysis(
        names=frozenset(undeclared - set(environment().globals) - _names_guarded(ast)),
        filters=frozenset(node.name for node in ast.find_all(nodes.Filter)),
        tests=frozenset(node.name for node in ast.find_all(nodes.Test)),
        getattrs=tuple(getattrs),
        lookups=tuple(lookups),
        limit=_constant_limit_problem(ast),
    )


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


def filters_used(text: str) -> set[str]:
    return set(_analyse(text).filters)


def tests_used(text: str) -> set[str]:
    return set(_analyse(text).tests)


def known_filters() -> set[str]:
    return set(environment().filters)


def known_tests() -> set[str]:
    return set(environment().tests)
