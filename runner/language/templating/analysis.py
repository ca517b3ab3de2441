"""What a template uses, read from its syntax tree without rendering it: names, attributes, keys, filters, tests."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes

from robots.kit import EXPECTATIONS, READY_PATTERNS, _, pattern_problem
from runner.language.diagnostics import requoted
from runner.language.templating.filters import GLOBALS
from runner.language.templating.limits import BoundedEnvironment, TemplateLimitError, constant_limit_problem


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a static look at one template finds, computed once per distinct text."""

    problem: str | None = None
    names: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    getattrs: tuple[
        tuple[str, str], ...
    ] = ()  # (root name, attribute) for `root.attribute`, `root['attribute']`
    lookups: tuple[tuple[str, str], ...] = ()  # (`dossier.adresse`, `ville`) for `dossier.adresse.ville`
    limit: TemplateLimitError | None = (
        None  # a limit that a constant part breaks, whatever the data (`'ab' * 400000000`)
    )
    gets: tuple[tuple[str, str], ...] = ()  # (root name, key) for `root.get('key')`
    all_names: frozenset[str] = frozenset()  # every name read from outside, guarded ones included
    whole_names: frozenset[str] = frozenset()  # names used as a whole value, not only to look a part up
    # for a text of only `{{ … }}` and words: (all names, whole names) of each expression, in order
    outputs: tuple[tuple[frozenset[str], frozenset[str]], ...] | None = None
    # (parameter, constant) given to the `extract` filter: `pattern`, `kind` and `expect` written as they are
    extractions: tuple[tuple[str, str], ...] = ()


class _AnyName(dict[str, Any]):
    """A filter or test table that knows every name, so that analysis does not stop at an unknown one."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, _unknown)

    def __contains__(self, key: object) -> bool:
        return True


def _unknown(*args: Any, **kwargs: Any) -> None:
    return None


@cache
def _analysis_environment() -> BoundedEnvironment:
    """The same syntax and globals as the rendering environment, with every filter and test name known."""
    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = _AnyName(env.filters)
    env.tests = _AnyName(env.tests)
    env.globals.update(GLOBALS)
    return env


_NESTED_TOO_DEEPLY = "the expression is nested too deeply"
_INVALID = "invalid template"
_EXPECTED_END = re.compile(r"^expected token 'end of print statement', got (.+)$")
_UNEXPECTED = re.compile(r"^unexpected ('.+'|char .+)$")


def _wording(message: str) -> str:
    """Jinja's syntax error in the reader's words and language (a rare one stays as jinja says it).

    Said when shown, not when analysed: the analysis is cached, and the language may change in between."""
    message = message.strip()
    if message == "unexpected end of template, expected 'end of print statement'.":
        return _("the template ends before its {braces}").format(braces="}}")
    if message == _NESTED_TOO_DEEPLY:
        return _("the expression is nested too deeply")
    if message == _INVALID:
        return _("invalid template")
    expected_end = _EXPECTED_END.match(message)
    if expected_end:
        return _("expected the end of the expression, got {found}").format(
            found=requoted(expected_end.group(1))
        )
    unexpected = _UNEXPECTED.match(message)
    if unexpected:
        return _("unexpected {found}").format(found=requoted(unexpected.group(1)))
    return message.replace("'end of print statement'", _("the end of the expression"))


@lru_cache(maxsize=4096)
def analyse(text: str) -> Analysis:
    """The static analysis of `text`, cached: a syntax error or a too deep nesting is its `problem`."""
    try:
        ast = _analysis_environment().parse(text)
    except TemplateSyntaxError as exc:
        return Analysis(problem=exc.message or _INVALID)
    except RecursionError:
        return Analysis(problem=_NESTED_TOO_DEEPLY)
    try:
        undeclared = set(meta.find_undeclared_variables(ast))
    except RecursionError:
        return Analysis(problem=_NESTED_TOO_DEEPLY)
    except Exception as exc:  # jinja's code generator refusing a template that it could parse
        return Analysis(problem=str(exc) or _INVALID)
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
    return Analysis(
        all_names=all_names,
        whole_names=whole_names,
        outputs=outputs,
        names=frozenset(undeclared - set(_analysis_environment().globals) - _names_guarded(ast)),
        filters=frozenset(node.name for node in ast.find_all(nodes.Filter)),
        tests=frozenset(node.name for node in ast.find_all(nodes.Test)),
        getattrs=tuple(getattrs),
        gets=gets,
        lookups=tuple(lookups),
        limit=constant_limit_problem(ast),
        extractions=tuple(_extraction_constants(ast)),
    )


_EXTRACT_FILTER = "extract"
_EXTRACT_PARAMETERS = ("pattern",)  # the filter's positional parameters, in order


def _extraction_constants(ast: nodes.Template) -> list[tuple[str, str]]:
    """The parameters of each `extract` filter written as constant texts: (parameter name, value)."""
    found: list[tuple[str, str]] = []
    for node in ast.find_all(nodes.Filter):
        if node.name != _EXTRACT_FILTER:
            continue
        given: list[tuple[str, nodes.Node]] = [(_EXTRACT_PARAMETERS[0], node.args[0])] if node.args else []
        given.extend((str(keyword.key), keyword.value) for keyword in node.kwargs)
        found.extend(
            (name, value.value)
            for name, value in given
            if isinstance(value, nodes.Const) and isinstance(value.value, str)
        )
    return found


def extraction_problems(text: str) -> list[tuple[str, str | None]]:
    """What is wrong with the constant parameters of `text`'s `extract` filters: (message, hint) pairs.

    A regular expression that does not compile, a kind or an `expect` that does not exist: each would fail
    every rendering, so `robo validate` says so before the run."""
    problems: list[tuple[str, str | None]] = []
    for name, value in analyse(text).extractions:
        if name == "pattern":
            problem = pattern_problem(value)
            if problem is not None:
                problems.append((problem.message, problem.hint))
        elif name == "kind" and value not in READY_PATTERNS:
            problems.append(
                (
                    _("extract(kind='{found}'): there is no such ready pattern").format(found=value),
                    _("kinds: {choices}").format(choices=", ".join(READY_PATTERNS)),
                )
            )
        elif name == "expect" and value not in EXPECTATIONS:
            problems.append(
                (
                    _("extract(expect='{found}'): expect is one of {choices}").format(
                        found=value, choices=", ".join(EXPECTATIONS)
                    ),
                    None,
                )
            )
    return problems


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
    limit = analyse(text).limit
    return None if limit is None else str(limit)


def syntax_problem(text: str) -> str | None:
    """A message when `text` is not a valid template, else None."""
    problem = analyse(text).problem
    return None if problem is None else _wording(problem)


def referenced_names(text: str) -> set[str]:
    """Top-level names a template reads that it does not define itself (for static checks)."""
    return set(analyse(text).names)


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
    return [attribute for name, attribute in analyse(text).getattrs if name == root]


def keys_read(text: str, root: str) -> list[str]:
    """The keys read from `root` by name: `env.HOME`, `env['HOME']` and `env.get('HOME')` give `HOME`."""
    analysis = analyse(text)
    return [key for name, key in (*analysis.getattrs, *analysis.gets) if name == root and key != "get"]


def filters_used(text: str) -> set[str]:
    return set(analyse(text).filters)


def tests_used(text: str) -> set[str]:
    return set(analyse(text).tests)
