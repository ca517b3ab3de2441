r"""Extraction from a text: a regular expression the workflow gives, or a ready pattern, and what to do with the candidates.

A regular expression's named groups become the fields of what it finds (`(?P<ref>DOS-\d{4}-\d{4})` gives
`{"ref": "DOS-2026-0001"}`); a single unnamed group gives its text, no group the whole match. The same value
found twice (a SIRET in the header and the footer) is one candidate. `expect` says how many are wanted:

- `one` (the default): exactly one; nothing or several different candidates fail, listing them, so that a
  document is never filed under a value picked silently;
- `first`: the first in the text (nothing fails);
- `all`: the list of every candidate (possibly empty).

Expressions and texts come from people and documents, so both are bounded: an expression of at most
`MAX_PATTERN_LENGTH` characters, a text of at most `MAX_TEXT_LENGTH`, and every search of one extraction
within `SEARCH_SECONDS` (the `regex` module stops a match that backtracks without end, e.g. `(a|aa)+c`). An
expression that does not compile gives its position, a pointer under it and a hint.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from robots.kit.errors import BusinessError, WorkflowBug
from robots.kit.formats import format_number
from robots.kit.i18n import N_, _
from robots.kit.patterns import (
    READY_PATTERNS,
    Candidate,
    ready_candidates,
    reference_expression,
    reference_value,
)

Expect = Literal["one", "first", "all"]
"""How many candidates an extraction wants: exactly one, the first one, or all of them."""

EXPECTATIONS: tuple[str, ...] = ("one", "first", "all")
MAX_PATTERN_LENGTH = 2_000
"""The longest regular expression accepted (characters)."""
MAX_TEXT_LENGTH = 20_000_000
"""The longest text searched (characters): about 6 000 pages of text."""
SEARCH_SECONDS = 5.0
"""How long all the searches of one extraction may take."""
MAX_CANDIDATES = 10_000
"""Candidates kept from one text; beyond, the extraction fails (the expression is too loose)."""
_SHOWN = 10  # candidates listed in a message

_LABELS = {
    "siret": N_("SIRET"),
    "siren": N_("SIREN"),
    "iban": N_("IBAN"),
    "date": N_("the date"),
    "amount": N_("the amount"),
}
_NOTHING = {
    "siret": N_("no SIRET number in the text"),
    "siren": N_("no SIREN number in the text"),
    "iban": N_("no IBAN in the text"),
    "date": N_("no date in the text"),
    "amount": N_("no amount in euros in the text"),
}
# The errors the `regex` compiler gives (by the start of their message): in the reader's words, with a hint.
_SYNTAX_ERRORS = {
    "missing )": (
        N_("a parenthesis is not closed"),
        N_("add the missing ')', or write '\\(' to find the character itself"),
    ),
    "unbalanced parenthesis": (
        N_("a ')' closes no parenthesis"),
        N_("remove it, or write '\\)' to find the character itself"),
    ),
    "unterminated character set": (
        N_("a '[' is not closed by ']'"),
        N_("close it, or write '\\[' to find the character itself"),
    ),
    "multiple repeat": (
        N_("a repetition ('*', '+', '?', '{…}') repeats nothing"),
        N_("write '\\*', '\\+' or '\\?' to find the character itself"),
    ),
    "nothing to repeat": (
        N_("a repetition ('*', '+', '?', '{…}') repeats nothing"),
        N_("write '\\*', '\\+' or '\\?' to find the character itself"),
    ),
    "bad escape": (
        N_("a backslash starts an unknown sequence"),
        N_("in YAML, write the expression between single quotes, so that each backslash stays one"),
    ),
    "missing group name": (
        N_("a group's name is missing or not valid"),
        N_("a named group is written (?P<name>…), its name made of letters, digits and _"),
    ),
    "bad character in group name": (
        N_("a group's name is missing or not valid"),
        N_("a named group is written (?P<name>…), its name made of letters, digits and _"),
    ),
    "missing >": (
        N_("a group's name is missing or not valid"),
        N_("a named group is written (?P<name>…), its name made of letters, digits and _"),
    ),
    "duplicate group name": (N_("two groups have the same name"), N_("give each group its own name")),
    "unknown group": (
        N_("a back-reference names a group that does not exist"),
        N_("check the group's name or number"),
    ),
}


class PatternProblem(ValueError):
    """A regular expression that does not compile: the message says where and what, `hint` how to fix it."""

    def __init__(self, message: str, hint: str, pointer: tuple[str, ...] = (), reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.pointer = pointer
        self.reason = reason or message  # what is wrong, without the expression (shown next to it)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    import regex

    return regex.compile(pattern)


def compiled_pattern(pattern: str) -> Any:
    """`pattern` compiled with the `regex` module (NFC), or a `PatternProblem` saying where it is wrong."""
    import regex

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternProblem(
            _("the regular expression has {count} characters, more than the limit of {limit}").format(
                count=format_number(len(pattern)), limit=format_number(MAX_PATTERN_LENGTH)
            ),
            _("a regular expression finds a short value: describe the value, not the whole document"),
        )
    try:
        return _compile(unicodedata.normalize("NFC", pattern))
    except regex.error as exc:
        problem = str(getattr(exc, "msg", exc))
        position = getattr(exc, "pos", None)
        known = next((words for start, words in _SYNTAX_ERRORS.items() if problem.startswith(start)), None)
        if known is None:
            hint = _("check the expression's syntax: Rob'O reads Python regular expressions")
        else:
            problem, hint = _(known[0]), _(known[1])
        if position is None:
            message = _("the regular expression {pattern} is not valid: {problem}")
            return _raise(message.format(pattern=repr(pattern), problem=problem), hint, (), problem)
        if position >= len(pattern):
            message = _("the regular expression {pattern} is not valid at its end: {problem}")
            reason = _("{problem}, at its end").format(problem=problem)
        else:
            message = _("the regular expression {pattern} is not valid at character {position}: {problem}")
            reason = _("{problem}, at character {position}").format(problem=problem, position=position + 1)
        pointer = (pattern, " " * min(position, len(pattern)) + "^")
        return _raise(
            message.format(pattern=repr(pattern), position=position + 1, problem=problem),
            hint,
            pointer,
            reason,
        )


def _raise(message: str, hint: str, pointer: tuple[str, ...], reason: str) -> Any:
    raise PatternProblem(message, hint, pointer, reason)


def pattern_problem(pattern: str) -> PatternProblem | None:
    """What is wrong with `pattern` as a regular expression, or None when it compiles."""
    try:
        compiled_pattern(pattern)
    except PatternProblem as problem:
        return problem
    return None


def _valid_pattern(pattern: str) -> str:
    problem = pattern_problem(pattern)
    if problem is not None:  # the expression is shown next to the message: only what is wrong and where
        raise ValueError(_("not a valid regular expression: {reason}").format(reason=problem.reason))
    return pattern


RegularExpression = Annotated[str, AfterValidator(_valid_pattern)]
"""A parameter holding a regular expression: `robo validate` checks that it compiles."""


def _reference_shape(shape: str) -> str:
    if not shape.strip() or len(shape) > MAX_PATTERN_LENGTH // 10:
        raise ValueError(_("a reference shape is a short text such as DOS-####-####"))
    return shape


ReferenceShape = Annotated[str, AfterValidator(_reference_shape)]
"""A dossier reference's shape: `#` a digit, `@` a letter, `*` either, e.g. `DOS-####-####`."""


def _searched_text(text: Any) -> str:
    if isinstance(text, Mapping) and isinstance(text.get("text"), str):
        text = text["text"]  # what a document reader returns: its text, with pages and confidence
    if text is None:
        raise BusinessError(
            _("there is no text to search (the value is empty)"),
            hint=_("give the text of a document, e.g. what documents.read_text returned"),
        )
    if not isinstance(text, str):
        text = str(text)
    if len(text) > MAX_TEXT_LENGTH:
        raise BusinessError(
            _("the text has {count} characters, more than the {limit} an extraction searches").format(
                count=format_number(len(text)), limit=format_number(MAX_TEXT_LENGTH)
            ),
            hint=_("extract from a part of the document (a page) rather than from all of it"),
        )
    return unicodedata.normalize("NFC", text)


class _Search:
    """Searches sharing one deadline: each gets the time the extraction has left."""

    def __init__(self, what: str) -> None:
        self.deadline = time.monotonic() + SEARCH_SECONDS
        self.what = what
        self.count = 0

    def __call__(self, pattern: Any, text: str, position: int) -> Any:
        left = self.deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            match = pattern.search(text, position, timeout=left)
        except TimeoutError:
            raise BusinessError(
                _("the search for {what} was stopped after {seconds} s").format(
                    what=self.what, seconds=format_number(SEARCH_SECONDS)
                ),
                hint=_(
                    "the expression backtracks too much on this text: avoid nested repetitions such as (a+)+ "
                    "or (\\w+\\s?)*, and anchor it on the words around the value"
                ),
            ) from None
        self.count += 1
        if self.count > MAX_CANDIDATES:
            raise BusinessError(
                _("more than {count} candidates for {what} in the text").format(
                    count=format_number(MAX_CANDIDATES), what=self.what
                ),
                hint=_("the expression is too loose: anchor it on the words around the value"),
            )
        return match


def _match_value(match: Any) -> Any:
    names = match.groupdict()
    if names:
        return names
    groups = match.groups()
    if len(groups) == 1:
        return groups[0]
    return list(groups) if groups else match.group(0)


def pattern_candidates(text: Any, pattern: str, limit: int | None = None) -> list[Candidate]:
    """Every match of the regular expression `pattern` in `text`, read as its named groups (see the module).

    With `limit`, the first `limit` matches only. A search that backtracks without end is stopped (a
    `BusinessError`), as is an expression that does not compile (a `WorkflowBug`).
    """
    try:
        compiled = compiled_pattern(pattern)
    except PatternProblem as problem:
        raise WorkflowBug(problem.message, hint=problem.hint, cause=problem.pointer) from None
    searched = _searched_text(text)
    search = _Search(_("the expression {pattern}").format(pattern=repr(pattern)))
    found: list[Candidate] = []
    position = 0
    while position <= len(searched) and (limit is None or len(found) < limit):
        match = search(compiled, searched, position)
        if match is None:
            break
        found.append(Candidate(_match_value(match), match.group(0), match.start(), match.end()))
        position = match.end() if match.end() > match.start() else match.end() + 1
    return found


def kind_candidates(text: Any, kind: str) -> list[Candidate]:
    """Every candidate of a ready pattern (`siret`, `iban`, `date`…) in `text`, refused ones included."""
    searched = _searched_text(text)
    return ready_candidates(kind, searched, search=_Search(_(_LABELS[kind])))


def reference_candidates(text: Any, shape: str) -> list[Candidate]:
    """Every reference of `shape` (`DOS-####-####`) in `text`, in the shape's form."""
    searched = _searched_text(text)
    compiled = _compile(reference_expression(shape))
    search = _Search(_("the reference {shape}").format(shape=shape))
    found = []
    position = 0
    while position <= len(searched):
        match = search(compiled, searched, position)
        if match is None:
            break
        found.append(
            Candidate(reference_value(shape, match.group(0)), match.group(0), match.start(), match.end())
        )
        position = max(match.end(), position + 1)
    return found


def extract(
    text: Any,
    *,
    pattern: str | None = None,
    kind: str | None = None,
    reference: str | None = None,
    expect: str = "one",
) -> Any:
    """What `text` holds for a regular expression, a ready pattern or a reference shape (exactly one given).

    Returns the value (`one`, `first`) or the list of distinct values (`all`); raises a `BusinessError` that
    lists what was found when `one` finds nothing or several, or `first` nothing.
    """
    if expect not in EXPECTATIONS:
        raise WorkflowBug(
            _("expect is '{found}'; it is one of {choices}").format(
                found=expect, choices=", ".join(EXPECTATIONS)
            )
        )
    if pattern is not None:
        candidates = pattern_candidates(text, pattern)
        label = _("the expression {pattern}").format(pattern=repr(pattern))
        nothing = _("nothing in the text matches the expression {pattern}").format(pattern=repr(pattern))
        nothing_hint = _(
            "check the expression on a sample of the text; case matters unless the expression starts with (?i)"
        )
    elif reference is not None:
        candidates = reference_candidates(text, reference)
        label = _("the reference {shape}").format(shape=reference)
        nothing = _("no reference of the form {shape} in the text").format(shape=reference)
        nothing_hint = _("in a shape, # stands for a digit, @ for a letter and * for either")
    elif kind in READY_PATTERNS:
        candidates = kind_candidates(text, kind)
        label = _(_LABELS[kind])
        nothing = _(_NOTHING[kind])
        nothing_hint = _("check that this is the expected document; a scanned one is read by OCR first")
    else:
        raise WorkflowBug(
            _("an extraction needs a pattern, a kind ({kinds}) or a reference shape").format(
                kinds=", ".join(READY_PATTERNS)
            )
        )
    return choose(candidates, expect, label=label, nothing=nothing, nothing_hint=nothing_hint)


def _key(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((key, _key(item)) for key, item in value.items()))
    if isinstance(value, list):
        return tuple(_key(item) for item in value)
    return value


def shown_value(value: Any) -> str:
    """A found value as a message shows it: `ref=DOS-2026-0001`, `2026-03-12`, `1234.56`."""
    if isinstance(value, dict):
        return ", ".join(f"{key}={shown_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(shown_value(item) for item in value)
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return repr(value) if isinstance(value, str) else str(value)


def choose(candidates: list[Candidate], expect: str, *, label: str, nothing: str, nothing_hint: str) -> Any:
    """The value(s) `expect` asks for among `candidates` (see the module); never one picked silently."""
    distinct: dict[Any, Any] = {}
    for candidate in candidates:
        if candidate.refused is None:
            distinct.setdefault(_key(candidate.value), candidate.value)
    values = list(distinct.values())
    if expect == "all":
        return values
    if not values:
        refused = [candidate for candidate in candidates if candidate.refused is not None]
        cause = [
            _("seen but refused at character {position}: '{text}': {reason}").format(
                position=format_number(candidate.start + 1), text=candidate.text, reason=candidate.refused
            )
            for candidate in refused[:_SHOWN]
        ]
        raise BusinessError(nothing, hint=nothing_hint, cause=cause)
    if expect == "one" and len(values) > 1:
        shown = "; ".join(shown_value(value) for value in values[:_SHOWN])
        if len(values) > _SHOWN:
            shown += " …"
        raise BusinessError(
            _("{count} different candidates for {what} in the text, where one was expected: {values}").format(
                count=format_number(len(values)), what=label, values=shown
            ),
            hint=_(
                "make the extraction more precise (the words around the value), or ask for the first or all "
                "candidates (expect: first, expect: all)"
            ),
        )
    return values[0]
