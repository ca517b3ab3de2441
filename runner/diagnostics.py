"""A `Diagnostic` says what is wrong, where, and how to fix it; rendered as text (gcc/ruff style) or JSON."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runner.loader import Span

Severity = Literal["error", "warning"]


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
    out = [f"{span}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"]
    if source_lines and 0 < span.line <= len(source_lines):
        width = len(str(span.line))
        if span.line > 1:
            out.append(f"   {span.line - 1:>{width}} | {source_lines[span.line - 2]}")
        line_text = source_lines[span.line - 1]
        out.append(f"   {span.line:>{width}} | {line_text}")
        end = span.end_col if span.end_col and span.end_col > span.col else span.col + 1
        end = min(end, max(len(line_text) + 1, span.col + 1))
        out.append(f"   {'':>{width}} | {' ' * (span.col - 1)}{'^' * (end - span.col)}")
    if diagnostic.expected:
        out.append(f"  expected: {diagnostic.expected}")
    if diagnostic.found:
        out.append(f"  found: {diagnostic.found}")
    out.extend(f"  caused by: {cause}" for cause in diagnostic.cause)
    if diagnostic.hint:
        out.append(f"  hint: {diagnostic.hint}")
    return "\n".join(out)


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
    return f"did you mean '{match[0]}'?" if match else None


def one_of(names: Iterable[str]) -> str:
    listed = list(names)
    if not listed:
        return "nothing (this takes no parameters)"
    return "one of " + ", ".join(listed)
