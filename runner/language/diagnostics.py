"""A `Diagnostic` says what is wrong, where, and how to fix it; rendered as text (gcc/ruff style) or JSON."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from robots.kit import RoboError, Span, _, ngettext, printable, shortened

Severity = Literal["error", "warning"]

EXCERPT_WIDTH = 120  # characters of a source line shown around the caret of an error


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a workflow, or one run-time failure, tied to a place in a file."""

    span: Span
    code: str
    message: str
    severity: Severity = "error"
    expected: str | None = None
    found: str | None = None
    hint: str | None = None
    cause: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_col": self.span.end_col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
            "cause": list(self.cause),
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.col, self.code)


def render_text(diagnostic: Diagnostic, source_lines: Sequence[str] | None = None) -> str:
    """The human form: `path:line:col: severity[code]: message`, an excerpt with a caret, then details."""
    span = diagnostic.span
    out = [printable(shortened(f"{span}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"))]
    if source_lines and 0 < span.line <= len(source_lines):
        width = len(str(span.line))
        line_text = source_lines[span.line - 1]
        end = span.end_col if span.end_col and span.end_col > span.col else span.col + 1
        end = min(end, max(len(line_text) + 1, span.col + 1))
        window = _window(len(line_text), span.col - 1)
        if span.line > 1:
            previous = source_lines[span.line - 2]
            start = window[0] if window[0] < len(previous) else 0
            shown = (start, start + EXCERPT_WIDTH)
            out.append(f"   {span.line - 1:>{width}} | {_excerpt(previous, shown)}")
        out.append(f"   {span.line:>{width}} | {_excerpt(line_text, window)}")
        # The caret goes under the same characters once cut and escaped.
        before = len(_excerpt(line_text, (window[0], max(window[0], span.col - 1)), tail=False))
        under = len(printable(line_text[span.col - 1 : min(end - 1, window[1])], lines=False))
        out.append(f"   {'':>{width}} | {' ' * before}{'^' * max(1, under)}")
    if diagnostic.expected:
        out.append(
            printable(shortened("  " + _("expected: {expected}").format(expected=diagnostic.expected)))
        )
    if diagnostic.found:
        out.append(printable(shortened("  " + _("found: {found}").format(found=diagnostic.found))))
    out.extend(
        printable(shortened("  " + _("caused by: {cause}").format(cause=cause))) for cause in diagnostic.cause
    )
    if diagnostic.hint:
        out.append(printable(shortened("  " + _("hint: {hint}").format(hint=diagnostic.hint))))
    return "\n".join(out)


def _window(length: int, column: int) -> tuple[int, int]:
    """The slice of a line of `length` characters shown in an excerpt: at most EXCERPT_WIDTH, around `column`."""
    if length <= EXCERPT_WIDTH:
        return 0, length
    start = max(0, min(column - EXCERPT_WIDTH // 3, length - EXCERPT_WIDTH))
    return start, start + EXCERPT_WIDTH


def _excerpt(line: str, window: tuple[int, int], *, tail: bool = True) -> str:
    """`line[start:end]` escaped, with "…" where it was cut (the end mark only when `tail`)."""
    start, end = window
    shown = ("…" if start > 0 else "") + printable(line[start:end], lines=False)
    return shown + ("…" if tail and end < len(line) else "")


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, Sequence[str]] | None = None) -> str:
    """Every diagnostic sorted by position, separated by blank lines."""
    sources = sources or {}
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    return "\n\n".join(render_text(d, sources.get(d.span.file)) for d in ordered)


def closest(word: str, candidates: Iterable[str], limit: int = 1) -> list[str]:
    """The candidates that look most like `word` (for 'did you mean')."""
    pool = list(dict.fromkeys(str(c) for c in candidates))
    matches = difflib.get_close_matches(word, pool, n=limit, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        matches = [
            lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=limit, cutoff=0.6)
        ]
    return matches


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    match = closest(word, candidates)
    return did_you_mean_text(match[0]) if match else None


def did_you_mean_text(suggestion: str) -> str:
    """`did you mean 'label'?`: the suggestion is quoted as written."""
    return _("did you mean '{suggestion}'?").format(suggestion=suggestion)


def one_of(names: Iterable[str]) -> str:
    """`one of a, b, c`: the names as written (keys, parameters, choices), in the reader's language."""
    listed = [str(name) for name in names]
    if not listed:
        return _("nothing (this takes no parameters)")
    return _("one of {names}").format(names=", ".join(listed))


def quoted(value: object) -> str:
    """A value as written in the workflow, quoted the reader's way (`'fail'`, « fail »)."""
    return _("'{value}'").format(value=value)


def requoted(text: str) -> str:
    """`':'` as a library quotes it (ruamel.yaml, jinja), quoted the reader's way; other texts unchanged."""
    return quoted(text[1:-1]) if len(text) >= 2 and text[0] == text[-1] == "'" else text


def either(choices: list[str]) -> str:
    """`'a', 'b' or 'c'` in the reader's language (an empty text for no choice)."""
    if len(choices) <= 1:
        return "".join(choices)
    return _("{choices} or {last}").format(choices=", ".join(choices[:-1]), last=choices[-1])


def all_of(names: list[str]) -> str:
    """`a, b and c` in the reader's language."""
    if len(names) <= 1:
        return "".join(names)
    return _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


class WorkflowError(RoboError):
    """A workflow definition is wrong; `diagnostics` says every place."""

    kind = "workflow"

    def __init__(
        self, diagnostics: Sequence[Diagnostic], sources: dict[str, list[str]] | None = None
    ) -> None:
        count = len(diagnostics)
        super().__init__(
            ngettext("the workflow has {n} error", "the workflow has {n} errors", count).format(n=count)
        )
        self.diagnostics = list(diagnostics)
        self.sources = sources or {}


def print_diagnostics(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, Sequence[str]],
    fmt: str,
    out: Callable[[str], None],
    err: Callable[[str], None],
) -> None:
    """Diagnostics as a command shows them: a JSON list on `out`, or rendered with their source lines on `err`."""
    if fmt == "json":
        out(json.dumps([d.to_dict() for d in diagnostics], ensure_ascii=False, indent=2))
    elif diagnostics:
        err(render_all(diagnostics, sources))
