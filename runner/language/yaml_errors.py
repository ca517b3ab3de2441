"""What went wrong in a workflow's YAML, said where it happened and in a reader's words.

ruamel.yaml's errors (`MarkedYAMLError`, `ReaderError`) and the tags it reads are turned into a
`YamlSyntaxError` (the file cannot be read) or a `YamlProblem` (it was read, with a best guess in place of the
mistake), each at the line and column of the mistake, with a hint that says how to write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from robots.kit import Span, _
from runner.language.diagnostics import either, quoted, requoted


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A mistake in the YAML that did not stop the loading (the data holds a best guess instead)."""

    span: Span
    message: str
    hint: str | None = None
    code: str = "yaml-syntax"


class YamlSyntaxError(Exception):
    """The file is not valid YAML; carries the span of the problem."""

    def __init__(self, span: Span, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class TagMark:
    """An explicit tag (`!!set`, `!env`…) on a node, where its node starts (line and column from 0)."""

    tag: str
    line: int
    col: int


# A tag as written: `!`, `!local`, `!!set`, `!handle!suffix` or `!<verbatim>`.
_TAG_TEXT = re.compile(r"!(?:<[^>]*>|[^\s,\[\]{}]*)")
_MAX_TAG_SHOWN = 60
_TAG_SEARCH_LINES = 3


def tag_problem(mark: TagMark, lines: list[str], file: str) -> YamlProblem:
    """The error for a tag: at the tag itself (after an anchor `&a` when there is one), naming it as written."""
    line, col, written = mark.line, mark.col, mark.tag
    # The node starts at its anchor when it has one; the tag follows it, on the same line or a later one.
    for index in range(mark.line, min(mark.line + _TAG_SEARCH_LINES, len(lines))):
        found = _TAG_TEXT.search(lines[index], mark.col if index == mark.line else 0)
        if found is not None:
            line, col, written = index, found.start(), found.group(0)
            break
    if len(written) > _MAX_TAG_SHOWN:
        written = written[: _MAX_TAG_SHOWN - 1] + "…"
    return YamlProblem(
        Span(file, line + 1, col + 1, col + 1 + max(1, len(written))),
        _("the YAML tag {tag} is not part of the workflow language").format(tag=written),
        _("Rob'O workflows use plain YAML: remove the tag"),
        code="yaml-tag",
    )


def quote_the_template() -> str:
    """The hint for an unquoted template, which YAML reads as a mapping."""
    return _("a value starting with {braces} must be quoted, e.g. {example}").format(
        braces="{{", example='"{{ ligne.nom }}"'
    )


def unquoted_template() -> str:
    return _("YAML reads this unquoted {template} as a mapping, not as a template").format(template="{{ … }}")


def explain_marked_error(exc: Any, text: str, lines: list[str], file: str) -> YamlSyntaxError:
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    quote = _unclosed_quote(exc, text)
    if quote is not None:
        quote_line, quote_col, char = quote
        return YamlSyntaxError(
            Span(file, quote_line, quote_col, quote_col + 1),
            _("this quote is not closed on its line"),
            _("add the closing {quote} at the end of the text").format(quote=char),
        )
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    message = _tidy_problem(problem)
    hint = _yaml_hint(problem, current)
    if "\t" not in current and (
        re.match(r"expected <block end>, but found '<block (mapping|sequence) start>'", problem)
        or _key_read_as_text(problem, current, col)
    ):
        message = _("this line is not indented like the lines around it")
        hint = _("line it up with the keys of the same block, using spaces only")
        col = len(current) - len(current.lstrip(" ")) + 1
    elif "but found" in problem:
        before = current[: col - 1].rstrip()
        template = re.search(r"(?:^|[:\-\[,]\s)\s*(\{\{)", current[: col - 1])
        if template is not None:
            message = unquoted_template()
            hint = quote_the_template()
            col = template.start(1) + 1
        elif before.endswith(("'", '"')):
            message = _("text follows the closing quote of this value")
            hint = _(
                "quote the whole value, e.g. {example} (a {quote} inside {quoted} is written {escaped})"
            ).format(example='"Dossier \\"urgent\\" à traiter"', quote='"', quoted='"…"', escaped='\\"')
    return YamlSyntaxError(Span(file, line, col, col + 1), message, hint)


def _key_read_as_text(problem: str, current: str, col: int) -> bool:
    """`key: value` indented deeper than the key above it continues that key's text, and its ':' is refused."""
    if "mapping values are not allowed" not in problem:
        return False
    match = re.match(r"^( *)(- )?[\w.-]+:( |$)", current)
    return match is not None and col == match.end(0) - (1 if match.group(3) else 0)


def _unclosed_quote(exc: Any, text: str) -> tuple[int, int, str] | None:
    """Where a quoted text that runs on past its line starts, when that is what broke the YAML."""
    context_mark = exc.context_mark
    if exc.context == "while scanning a quoted scalar" and context_mark is not None:
        return context_mark.line + 1, context_mark.column + 1, _char_at(text, context_mark.index) or '"'
    problem_mark = exc.problem_mark
    if problem_mark is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.tokens import ScalarToken

    culprit = None
    try:
        for token in YAML(typ="rt", pure=True).scan(text):
            if token.start_mark.line > problem_mark.line:
                break
            if (
                isinstance(token, ScalarToken)
                and token.style in ("'", '"')
                and token.start_mark.line < token.end_mark.line == problem_mark.line
            ):
                culprit = token
    except (YAMLError, RecursionError):
        pass
    if culprit is None:
        return None
    return culprit.start_mark.line + 1, culprit.start_mark.column + 1, str(culprit.style)


def _char_at(text: str, index: int) -> str | None:
    return text[index] if 0 <= index < len(text) and text[index] in "\"'" else None


def explain_reader_error(exc: Any, text: str, file: str) -> YamlSyntaxError:
    character = exc.character
    position = exc.position if isinstance(exc.position, int) else 0
    if isinstance(character, int) and 0 <= position <= len(text):
        before = text[:position]
        line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1  # as `split_lines` counts
        line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
        col = position - line_start + 1
        return YamlSyntaxError(
            Span(file, line, col, col + 1),
            _("the file contains a control character ({code}) that YAML does not allow").format(
                code=f"U+{character:04X}"
            ),
            _("delete it: it often comes from text copied out of Word or a PDF"),
        )
    return YamlSyntaxError(Span(file, 1, 1), _("invalid YAML: {problem}").format(problem=exc.reason))


def explain_unhashable_key(text: str, file: str) -> YamlSyntaxError:
    """A mapping key that is itself a mapping or a list (`{{ a: [] }}` unquoted), which YAML cannot use as a key."""
    line, col = next(
        ((number, found) for number, row in enumerate(text.splitlines(), 1) if (found := row.find("{{") + 1)),
        (1, 1),
    )
    return YamlSyntaxError(
        Span(file, line, col, col + 2),
        _("a key here is itself a mapping or a list, which YAML cannot use as a key"),
        quote_the_template(),
    )


def second_document_span(text: str, file: str) -> Span:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import DocumentStartEvent

    starts = 0
    try:
        for event in YAML(typ="rt", pure=True).parse(text):
            if isinstance(event, DocumentStartEvent):
                starts += 1
                if starts == 2:
                    mark = event.start_mark
                    return Span(file, mark.line + 1, mark.column + 1, mark.column + 2)
    except (YAMLError, RecursionError):
        pass
    return Span(file, 1, 1)


_ANCHOR_TWICE = re.compile(r"^the anchor &(\S+) is defined twice \(first at line (\d+)\)$")
_EXPECTED_BUT = re.compile(r"^expected (.+), but (?:got|found) (.+)$")
_QUOTED = re.compile(r"^'[^']*'(?:(?:, | or )'[^']*')*$")
_BAD_CHARACTER = re.compile(r"^found character (.+) that cannot start any token$")


def _tidy_problem(problem: str) -> str:
    """ruamel.yaml's problem in the reader's language when it is a known one (else as ruamel.yaml says it)."""
    problem = problem.strip()
    if "found duplicate key" in problem:
        key = problem.split(" with value")[0].replace("found duplicate key", "").strip()
        return _("duplicate key {key}").format(key=key)
    anchor = _ANCHOR_TWICE.match(problem)
    if anchor:
        return _("the anchor &{anchor} is defined twice (first at line {line})").format(
            anchor=anchor.group(1), line=anchor.group(2)
        )
    if problem == "mapping values are not allowed here":
        return _("mapping values are not allowed here")
    character = _BAD_CHARACTER.match(problem)
    if character:
        return _("found character {character} that cannot start any token").format(
            character=character.group(1)
        )
    expected = _EXPECTED_BUT.match(problem)
    if expected and _QUOTED.match(expected.group(1)) and "<" not in problem:
        choices = [quoted(choice) for choice in re.findall(r"'([^']*)'", expected.group(1))]
        return _("expected {expected}, but got {found}").format(
            expected=either(choices), found=requoted(expected.group(2))
        )
    return problem


def _quote_the_colon() -> str:
    return _("a value containing {colon} must be quoted, e.g. {example}").format(
        colon="': '", example='"Objet : relance"'
    )


def _yaml_hint(problem: str, current: str) -> str | None:
    if "\t" in current or "found character '\\t'" in problem:
        return _("YAML indents with spaces, not tabs")
    if "mapping values are not allowed" in problem or "but got ':'" in problem:
        return _quote_the_colon()
    if "found character '{'" in problem or problem.startswith("found unhashable key"):
        return quote_the_template()
    if "duplicate key" in problem:
        return _("each key may appear once in a mapping; remove or rename one")
    if "is defined twice" in problem:
        return _("give each anchor its own name")
    return None
