"""Limits on the work of one template: neither a template nor a value from data may exhaust the machine.

A template's values come from data (a cell, a page, an e-mail). Jinja cannot be interrupted from another thread,
so the work itself is bounded: every operation that can build something large checks the size of its result
before building it (`*`, `**`, `%`, `+`, `~`, the filters and text methods that widen a text), and every loop
iteration, output and guarded operation counts against the rendering's budget (iterations, characters written,
time). `BoundedEnvironment` is the sandbox with these limits; `constant_limit_problem` lets validation see a
template whose constants alone break a limit, without building anything larger than the limits.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import re
import string
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from jinja2 import nodes, pass_context
from jinja2 import sandbox as jinja_sandbox
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from robots.kit import N_, _, format_number
from runner.language.templating.literals import LiteralLexer, literal_lexer

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
MAX_RENDER_MEMORY = 100 * 1024 * 1024
"""How much one rendering may grow the process's resident memory: a net under the size limits above, which
bound each value but not how many a template keeps (`range(100000) | map('center', 10000) | list`)."""
_MEMORY_CHECK_SECONDS = (
    0.02  # how often a rendering reads the process's memory (a few microseconds each time)
)


class TemplateLimitError(SecurityError):
    """A template would go beyond one of the limits above: it is stopped before building the value.

    The message is a catalog message (marked with N_) and its fields, said in the reader's language each time
    it is shown: `robo validate` keeps what it found in a cache, across languages."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message_id = message
        self.fields = fields

    def __str__(self) -> str:
        return _(self.message_id).format(**self.fields)


LIMIT_HINT = N_(
    "a template builds short texts from values; to handle large data, use a robot action (data, excel, files)"
)
# What a template would build too large, and in what unit: one whole sentence for each.
_TOO_LONG = {
    ("a text", "characters"): N_(
        "this would build a text of {size} characters, more than the limit of {limit}"
    ),
    ("a number", "digits"): N_("this would build a number of {size} digits, more than the limit of {limit}"),
    ("a number", "bits"): N_("this would build a number of {size} bits, more than the limit of {limit}"),
    ("a range", "numbers"): N_("this would build a range of {size} numbers, more than the limit of {limit}"),
    ("a list", "items"): N_("this would build a list of {size} items, more than the limit of {limit}"),
    ("a batch", "items"): N_("this would build a batch of {size} items, more than the limit of {limit}"),
    ("a list of slices", "items"): N_(
        "this would build a list of slices of {size} items, more than the limit of {limit}"
    ),
}


def too_long(what: str, size: int, limit: int, unit: str = "characters") -> TemplateLimitError:
    message = _TOO_LONG.get((what, unit), _TOO_LONG["a text", "characters"])
    return TemplateLimitError(message, size=format_number(size), limit=format_number(limit))


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
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, range):
            total += 20
        else:
            total += _text_size(item, limit) if isinstance(item, int | float | bool | dt.date) else 40
    return total


def check_text(value: Any, what: str = "a text") -> None:
    size = _text_size(value)
    if size > MAX_TEXT_LENGTH:
        raise too_long(what, size, MAX_TEXT_LENGTH)


def _check_width(width: Any, what: str = "a text") -> None:
    if isinstance(width, int) and width > MAX_TEXT_LENGTH:
        raise too_long(what, width, MAX_TEXT_LENGTH)


def _check_count(count: Any, what: str) -> None:
    if isinstance(count, int) and count > MAX_LIST_LENGTH:
        raise too_long(what, count, MAX_LIST_LENGTH, "items")


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
_FORMAT_NUMBERS = re.compile(r"\d+")


def _check_printf(text: str, args: Any) -> None:
    """`'%999999999d' % 1`: a width, a precision or arguments that would make the text too long."""
    fields = _PRINTF_FIELD.findall(text)
    if any("*" in (width, precision) for width, precision, _kind in fields):
        raise TemplateLimitError(
            N_("a width or precision given as '*' is not allowed in a template's {operator} format"),
            operator="%",
        )
    for width, precision, _kind in fields:
        _check_width(int(width or 0))
        _check_width(int(precision or 0))
    values = list(args.values()) if isinstance(args, Mapping) else args if isinstance(args, tuple) else [args]
    largest = max((_text_size(value) for value in values), default=0)
    estimate = len(text) + sum(int(width or 0) + int(precision or 0) for width, precision, _kind in fields)
    _check_text_size(estimate + len(fields) * largest)


def _check_text_size(size: int) -> None:
    if size > MAX_TEXT_LENGTH:
        raise too_long("a text", size, MAX_TEXT_LENGTH)


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
        _joinable(items, separator)


def _joinable(items: Any, separator: Any) -> list[Any]:
    """The items of `items` (a list, or a generator such as `map`'s), counted as they come: `separator.join` of
    them stays under the limit, and no more than the limit is ever kept."""
    kept: list[Any] = []
    size, gap = 0, len(str(separator))
    for item in items:
        size += _text_size(item) + gap
        if size > MAX_TEXT_LENGTH:
            raise too_long("a text", size, MAX_TEXT_LENGTH)
        kept.append(item)
    return kept


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:  # more than sys.maxsize numbers
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        raise too_long("a range", length, MAX_RANGE_LENGTH, "numbers")
    return numbers


class _RenderBudget:
    """What one rendering has used so far: its start, its loop iterations and the characters it wrote."""

    __slots__ = ("iterations", "memory", "memory_checked", "started", "written")

    def __init__(self) -> None:
        self.started = self.memory_checked = time.monotonic()
        self.memory: int | None = None  # read once the rendering has run a while: short ones never pay for it
        self.iterations = 0
        self.written = 0

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.started > MAX_RENDER_SECONDS:
            raise TemplateLimitError(
                N_("the template was stopped after running for more than {seconds} s"),
                seconds=format_number(MAX_RENDER_SECONDS),
            )
        if now - self.memory_checked > _MEMORY_CHECK_SECONDS:
            self.memory_checked = now
            memory = _resident_memory()
            if self.memory is None:
                self.memory = memory
            elif memory - self.memory > MAX_RENDER_MEMORY:
                raise TemplateLimitError(
                    N_("the template was stopped after using more than {size} MB of memory"),
                    size=MAX_RENDER_MEMORY // 2**20,
                )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitError(
                N_("the template's loops ran more than {count} times in one rendering"),
                count=format_number(MAX_LOOP_ITERATIONS),
            )
        self.tick()

    def written_literally(self, size: int) -> None:
        """The template's own text written by a loop's body, once per iteration."""
        self.written += size
        if self.written > MAX_TEXT_LENGTH:
            raise too_long("a text", self.written, MAX_TEXT_LENGTH)

    def write(self, value: Any) -> None:
        self.written += _text_size(value)
        if self.written > MAX_TEXT_LENGTH:
            raise too_long("a text", self.written, MAX_TEXT_LENGTH)
        self.tick()


def _resident_memory() -> int:
    """The process's resident memory in bytes (Linux), or 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# The budget of the rendering under way in this thread, for the filters that Jinja calls without the context
# (through `map`, `select`…).
_CURRENT_BUDGET: ContextVar[_RenderBudget | None] = ContextVar("robo_render_budget", default=None)


class _BudgetedContext(Context):
    """A rendering's context, which carries its budget (every guarded operation receives the context)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = _RenderBudget()
        _CURRENT_BUDGET.set(self.budget)


def _budget(context: Any) -> _RenderBudget:
    budget = getattr(context, "budget", None)
    return budget if isinstance(budget, _RenderBudget) else _RenderBudget()


def _tick_current() -> None:
    budget = _CURRENT_BUDGET.get()
    if budget is not None:
        budget.tick()


# Filters inserted by `BoundedEnvironment._generate` around loops, outputs and `~`: their names cannot be
# written in a template (a `:` is not part of a filter name), so they never appear in one.
_LOOP_FILTER, _OUTPUT_FILTER, _CONCAT_FILTER = "robo:loop", "robo:output", "robo:concat"
INTERNAL_FILTERS = frozenset({_LOOP_FILTER, _OUTPUT_FILTER, _CONCAT_FILTER})


@pass_context
def _counted_loop(context: Any, iterable: Any, literal: int = 0) -> Iterator[Any]:
    budget = _budget(context)
    for item in iterable:
        budget.iteration()
        budget.written_literally(literal)
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
        # The body's own text is counted per iteration here: its outputs stay constants, which Jinja writes
        # as they are (and which `finalize`, so the secrets' taint, never sees).
        literal = sum(len(data.data) for child in node.body for data in child.find_all(nodes.TemplateData))
        node.iter = _wrapped(node.iter, _LOOP_FILTER, nodes.Const(literal))  # type: ignore[arg-type]
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            child if isinstance(child, nodes.TemplateData) else _wrapped(child, _OUTPUT_FILTER)
            for child in node.nodes
        ]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _wrapped(nodes.Tuple(node.nodes, "load", lineno=node.lineno), _CONCAT_FILTER)


def _wrapped(node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


# Jinja's filters that turn their value into a text: the value's size is checked first.
_TEXT_FILTERS = (
    *("string", "tojson", "pprint", "truncate", "upper", "lower", "title", "capitalize", "trim", "striptags"),
    *("urlencode", "urlize", "escape", "e", "forceescape", "wordcount", "xmlattr"),
)


def _bounded_filters(environment_filters: Mapping[str, Any]) -> dict[str, Any]:
    """Jinja's filters that can build a long text, checked on their arguments before they run."""
    filters = dict(environment_filters)  # Jinja's own: the bounded ones below call them

    def text_filter(name: str, check: Any = None, *, text: bool = True) -> Any:
        original = filters[name]
        # a filter marked pass_context/pass_eval_context/pass_environment receives that first, then the value
        skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

        @functools.wraps(original)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            _tick_current()
            if text:
                check_text(args[skip])
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

    def join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
        _tick_current()
        if attribute is not None:
            value = map(make_attrgetter(eval_ctx.environment, attribute), value)
        return filters["join"](eval_ctx, _joinable(value, d), d)

    def replace_check(value: Any, old: Any, new: Any, count: Any = None, **kwargs: Any) -> None:
        _check_replace(value, old, new, -1 if count is None else count)

    def wordwrap_check(
        value: Any, width: Any = 79, _long: Any = True, wrapstring: Any = None, **kw: Any
    ) -> None:
        breaks = len(str(value)) // max(1, int(width)) + 1
        _check_text_size(len(str(value)) + breaks * len(str(kw.get("wrapstring", wrapstring) or "\n")))

    def batch_check(value: Any, linecount: Any = None, *args: Any, **kwargs: Any) -> None:
        _check_count(kwargs.get("linecount", linecount), "a batch")

    def slice_check(value: Any, slices: Any = None, *args: Any, **kwargs: Any) -> None:
        _check_count(kwargs.get("slices", slices), "a list of slices")

    bounded = {name: text_filter(name) for name in _TEXT_FILTERS if name in filters}
    bounded.update(
        format=text_filter("format", format_check),
        center=text_filter("center", width_check),
        indent=text_filter("indent", indent_check),
        join=functools.wraps(filters["join"])(join),
        replace=text_filter("replace", replace_check),
        wordwrap=text_filter("wordwrap", wordwrap_check),
        batch=text_filter("batch", batch_check, text=False),
        slice=text_filter("slice", slice_check, text=False),
    )
    return bounded


class BoundedEnvironment(ImmutableSandboxedEnvironment):
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

    @property
    def lexer(self) -> LiteralLexer:
        """Jinja's lexer, but text literals keep the backslashes of regular expressions (`literals.py`)."""
        return literal_lexer(self)

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
            name = getattr(target, "__name__", "")
            if name == "join" and len(args) == 1:
                args = (_joinable(args[0], owner),)
            _check_str_method(owner, name, args, kwargs)
        _budget(__context).tick()
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        except RecursionError:  # a macro that calls itself without end: stopped where Python stops it
            raise TemplateLimitError(N_("the template's macros call themselves too deeply")) from None
        if isinstance(result, str):
            check_text(result)
        return result


def _check_binop(symbol: str, left: Any, right: Any) -> None:
    if symbol == "*":
        if isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length() + right.bit_length()
            if bits > MAX_INTEGER_BITS:
                raise too_long("a number", bits, MAX_INTEGER_BITS, "bits")
        for sequence, times in ((left, right), (right, left)):
            if isinstance(times, int) and not isinstance(times, bool):
                if isinstance(sequence, str):
                    _check_text_size(len(sequence) * times)
                elif isinstance(sequence, list | tuple):
                    _check_count(len(sequence) * times, "a list")
    elif symbol == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            bits = (abs(left).bit_length() - 1) * right
            if bits > MAX_INTEGER_BITS:
                raise too_long("a number", bits, MAX_INTEGER_BITS, "bits")
    elif symbol == "%":
        if isinstance(left, str):
            _check_printf(left, right)
    elif symbol == "+":
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


def constant_limit_problem(ast: nodes.Template) -> TemplateLimitError | None:
    """The first limit that a part of the template made only of constants would break, else None.

    This is how `robo validate` sees `{{ 'ab' * 400000000 }}` without computing it: constants are combined
    under the same checks as at run time, so nothing larger than the limits is ever built.
    """
    for node in ast.find_all((nodes.BinExpr, nodes.Filter, nodes.Call)):
        try:
            _bounded_constant(node)
        except TemplateLimitError as exc:
            return exc
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
