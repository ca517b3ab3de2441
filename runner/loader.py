"""Load a workflow file into plain Python data, keeping the source span of every node.

The YAML is read by ruamel.yaml's round-trip parser, which builds no Python objects from tags, so a workflow
cannot run code by being loaded. The result is plain data (dicts, lists, scalars) plus a `SpanIndex` that maps
each node's path (a tuple of keys and list indexes) to where it stands in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file: line and column count from 1, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "col": self.col, "end_col": self.end_col}


@dataclass(slots=True)
class SpanIndex:
    """Where each node of a loaded document stands: values by path, and mapping keys by path."""

    file: str
    values: dict[Location, Span] = field(default_factory=dict)
    keys: dict[Location, Span] = field(default_factory=dict)

    def value(self, path: Location) -> Span:
        """The span of the value at `path`, or of its closest ancestor that has one."""
        return self._nearest(self.values, path)

    def key(self, path: Location) -> Span:
        """The span of the mapping key that names `path`, falling back to its value's span."""
        if path in self.keys:
            return self.keys[path]
        return self.value(path)

    def _nearest(self, table: dict[Location, Span], path: Location) -> Span:
        for cut in range(len(path), -1, -1):
            span = table.get(path[:cut])
            if span is not None:
                return span
        return Span(self.file, 1, 1)


@dataclass(slots=True)
class LoadedDocument:
    """A workflow file's data, its span index and its source text (for rendering excerpts)."""

    path: str
    data: Any
    spans: SpanIndex
    source: str

    def source_lines(self) -> list[str]:
        return self.source.splitlines()


class YamlSyntaxError(Exception):
    """The file is not valid YAML; carries the span of the problem."""

    def __init__(self, span: Span, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.message = message
        self.hint = hint


def load_workflow_file(path: str | Path) -> LoadedDocument:
    """Read and parse a workflow file. Raises `OSError` or `YamlSyntaxError`."""
    text = Path(path).read_text(encoding="utf-8")
    return load_workflow_text(text, str(path))


def load_workflow_text(text: str, file: str = "<workflow>") -> LoadedDocument:
    """Parse YAML text into plain data with spans. Raises `YamlSyntaxError`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        hint = _yaml_hint(problem, text, line)
        raise YamlSyntaxError(Span(file, line, col, col + 1), _tidy_problem(problem), hint) from None
    except YAMLError as exc:
        raise YamlSyntaxError(Span(file, 1, 1), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlSyntaxError(Span(file, 1, 1), "the YAML is nested too deeply") from None
    if len(documents) > 1:
        raise YamlSyntaxError(
            Span(file, 1, 1), "a workflow file holds one YAML document, this one holds several ('---')"
        )
    raw = documents[0] if documents else None
    spans = SpanIndex(file)
    data = _convert(raw, (), spans, seen=set(), budget=[_MAX_NODES])
    return LoadedDocument(str(file), data, spans, text)


def _tidy_problem(problem: str) -> str:
    problem = problem.strip()
    if "found duplicate key" in problem:
        return problem.split(" with value")[0].replace("found duplicate key", "duplicate key")
    return problem


def _yaml_hint(problem: str, text: str, line: int) -> str | None:
    lines = text.splitlines()
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in current or "found character '\\t'" in problem:
        return "YAML indents with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, e.g. \"Objet : relance\""
    if "found character '{'" in problem or problem.startswith("found unhashable key"):
        return 'a value starting with {{ must be quoted, e.g. "{{ ligne.nom }}"'
    if "duplicate key" in problem:
        return "each key may appear once in a mapping; remove or rename one"
    return None


_MAX_NODES = 200_000


def _convert(node: Any, path: Location, spans: SpanIndex, seen: set[int], budget: list[int]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    budget[0] -= 1
    if budget[0] < 0:
        # Aliases can expand a small file into billions of nodes ("billion laughs").
        raise YamlSyntaxError(Span(spans.file, 1, 1), "the YAML expands to too many nodes (aliases?)")

    if isinstance(node, CommentedMap):
        if id(node) in seen:
            raise YamlSyntaxError(spans.value(path), "YAML anchors may not refer to themselves")
        seen = seen | {id(node)}
        result: dict[Any, Any] = {}
        for key in node:
            child = (*path, _plain_key(key))
            try:
                key_line, key_col, value_line, value_col = node.lc.data[key]
            except (KeyError, TypeError, AttributeError):
                key_line = key_col = value_line = value_col = None
            if key_line is not None:
                spans.keys[child] = Span(spans.file, key_line + 1, key_col + 1, key_col + 1 + len(str(key)))
            if value_line is not None:
                spans.values[child] = Span(
                    spans.file, value_line + 1, value_col + 1, value_col + 1 + _width(node[key])
                )
            result[_plain_key(key)] = _convert(node[key], child, spans, seen, budget)
        return result
    if isinstance(node, CommentedSeq):
        if id(node) in seen:
            raise YamlSyntaxError(spans.value(path), "YAML anchors may not refer to themselves")
        seen = seen | {id(node)}
        items: list[Any] = []
        for index, item in enumerate(node):
            child = (*path, index)
            try:
                line, col = node.lc.data[index]
            except (KeyError, IndexError, TypeError, AttributeError):
                line = col = None
            if line is not None:
                spans.values[child] = Span(spans.file, line + 1, col + 1, col + 1 + _width(item))
            items.append(_convert(item, child, spans, seen, budget))
        return items
    return _plain_scalar(node)


def _plain_key(key: Any) -> Any:
    scalar = _plain_scalar(key)
    if isinstance(scalar, (str, int, float, bool)) or scalar is None:
        return scalar
    return str(scalar)


def _plain_scalar(value: Any) -> Any:
    from ruamel.yaml.comments import TaggedScalar
    from ruamel.yaml.scalarbool import ScalarBoolean
    from ruamel.yaml.scalarfloat import ScalarFloat
    from ruamel.yaml.scalarint import ScalarInt

    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    if isinstance(value, ScalarInt):
        return int(value)
    if isinstance(value, ScalarFloat):
        return float(value)
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime | dt.date) or value is None:
        return value
    if isinstance(value, int | float):
        return value
    return str(value)


def _width(value: Any) -> int:
    if isinstance(value, dict | list) or value is None:
        return 1
    return max(1, len(str(value)))


def walk(data: Any, path: Location = ()) -> Iterator[tuple[Location, Any]]:
    """Every node of plain loaded data, depth first, with its path."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*path, index))
