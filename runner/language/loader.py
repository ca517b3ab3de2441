"""Load a workflow file into plain Python data, keeping the source span of every node.

The YAML is read by ruamel.yaml's round-trip parser, which builds no Python objects from tags, so a workflow
cannot run code by being loaded. The result is plain data (dicts, lists, scalars) plus a `SpanIndex` that maps
each node's path (a tuple of keys and list indexes) to where it stands in the file.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robots.kit import N_, Span, _
from runner.language.yaml_errors import (
    TagMark,
    YamlProblem,
    YamlSyntaxError,
    explain_marked_error,
    explain_reader_error,
    explain_unhashable_key,
    quote_the_template,
    second_document_span,
    tag_problem,
    unquoted_template,
)

Location = tuple[str | int, ...]


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
    problems: list[YamlProblem] = field(default_factory=list)

    def source_lines(self) -> list[str]:
        return split_lines(self.source)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as the YAML reader counts them: broken at \\n, \\r\\n or a lone \\r only.

    `str.splitlines` also breaks at \\v, \\f, \\x1c… and U+2028, which the YAML reader does not, so the
    excerpt of a diagnostic would show another line than the one its position names.
    """
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]  # the reader does not count a byte order mark as a column
    return lines


MAX_WORKFLOW_FILE_BYTES = 10 * 1024 * 1024
"""The largest workflow file read: a bigger one (or /dev/zero named `x.yaml`) is refused before it fills memory."""


_READ_CHUNK_BYTES = 256 * 1024


class NotAWorkflowFile(OSError):
    """A path that cannot hold a workflow: not a regular file (a FIFO, a device, a socket) or too large."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def read_workflow_text(path: str | Path, errors: str = "strict") -> str:
    """The text of a workflow file, read only when it is a regular file of at most `MAX_WORKFLOW_FILE_BYTES`.

    Opened without blocking, so that a FIFO named `*.yaml` (which would wait for a writer forever) is refused
    instead. Raises `NotAWorkflowFile`, another `OSError` or `UnicodeDecodeError`.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotAWorkflowFile(
                _(_NOT_REGULAR[_file_kind(mode)]).format(path=path),
                _("a workflow is a plain .yaml file; remove or rename this one"),
            )
        chunks: list[bytes] = []
        size = 0
        # In pieces: `read(limit)` would reserve the whole limit for every file, however small.
        while chunk := file.read(_READ_CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_WORKFLOW_FILE_BYTES:
                raise NotAWorkflowFile(
                    _("{path} is larger than {size} MB: it was not read").format(
                        path=path, size=MAX_WORKFLOW_FILE_BYTES // (1024 * 1024)
                    ),
                    _("a workflow file describes steps; put large data in a data file that a step reads"),
                )
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors)


# What a path that is no regular file is, as the refusal says it: a whole sentence for each kind.
_NOT_REGULAR = {
    "fifo": N_("{path} is not a regular file but a named pipe (FIFO): it was not read"),
    "character": N_("{path} is not a regular file but a character device: it was not read"),
    "block": N_("{path} is not a regular file but a block device: it was not read"),
    "socket": N_("{path} is not a regular file but a socket: it was not read"),
    "special": N_("{path} is not a regular file but a special file: it was not read"),
}


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISCHR, "character"),
        (stat.S_ISBLK, "block"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "special")


def load_workflow_file(path: str | Path) -> LoadedDocument:
    """Read and parse a workflow file. Raises `OSError` (`NotAWorkflowFile` among them) or `YamlSyntaxError`."""
    text = read_workflow_text(path)
    return load_workflow_text(text, str(path))


def load_workflow_text(text: str, file: str = "<workflow>") -> LoadedDocument:
    """Parse YAML text into plain data with spans. Raises `YamlSyntaxError`."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    tags: list[TagMark] = []
    yaml = _yaml(tags)
    lines = split_lines(text)
    try:
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        raise explain_marked_error(exc, text, lines, file) from None
    except ReaderError as exc:
        raise explain_reader_error(exc, text, file) from None
    except YAMLError as exc:
        raise YamlSyntaxError(Span(file, 1, 1), _("invalid YAML: {problem}").format(problem=exc)) from None
    except RecursionError:
        raise YamlSyntaxError(Span(file, 1, 1), _("the YAML is nested too deeply")) from None
    except TypeError:  # ruamel.yaml hashes a key that holds a list ("unhashable type")
        raise explain_unhashable_key(text, file) from None
    if len(documents) > 1:
        raise YamlSyntaxError(
            second_document_span(text, file),
            _("a workflow file holds one YAML document, this one holds several ('---')"),
        )
    raw = documents[0] if documents else None
    spans = SpanIndex(file)
    problems = [tag_problem(tag, lines, file) for tag in tags]
    converter = _Converter(spans, lines, problems)
    data = converter.convert(raw, (), seen=set())
    return LoadedDocument(str(file), data, spans, text, problems)


def _yaml(tags: list[TagMark] | None = None) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import Composer, ComposerError
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.events import AliasEvent, ScalarEvent

    class _Composer(Composer):
        """Refuses an anchor defined twice (ruamel.yaml would only print a Python warning).

        An explicit tag (`!!python/object/apply:…`, `!env`, `!!set`, `!!binary`…) is noted in `tags` and dropped:
        the node is read as if it had none, so the loaded data stays plain and the rest of the file is checked.
        """

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            if getattr(event, "ctag", None) is not None:
                mark = event.start_mark
                if tags is not None:
                    tags.append(TagMark(str(event.tag), mark.line, mark.column))
                event.ctag = None
                if isinstance(event, ScalarEvent):
                    plain = not event.style
                    event.implicit = (plain, not plain)
                else:
                    event.implicit = True
            anchor = getattr(event, "anchor", None)
            if anchor is not None and not isinstance(event, AliasEvent) and anchor in self.anchors:
                first = self.anchors[anchor].start_mark
                raise ComposerError(
                    None,
                    None,
                    f"the anchor &{anchor} is defined twice (first at line {first.line + 1})",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    class _Constructor(RoundTripConstructor):
        """Keeps a scalar that looks like a date or a number but is none (2024-02-30, `._`) as text.

        ruamel.yaml picks a scalar's type by its look, then fails converting some that only look the part; the
        text is kept for the checks to report where it is used.
        """

        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            try:
                return super().construct_yaml_timestamp(node, values)
            except (ValueError, OverflowError):
                return str(node.value)

        def construct_yaml_float(self, node: Any) -> Any:
            try:
                return super().construct_yaml_float(node)
            except (ValueError, OverflowError):
                return str(node.value)

    _Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)
    _Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    return yaml


_MAX_NODES = 200_000


class _Converter:
    """Turns ruamel.yaml's round-trip nodes into plain data, recording every node's span on the way."""

    def __init__(self, spans: SpanIndex, lines: list[str], problems: list[YamlProblem]) -> None:
        self.spans = spans
        self.lines = lines
        self.problems = problems
        self.budget = _MAX_NODES

    def convert(self, node: Any, path: Location, seen: set[int]) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        self.budget -= 1
        if self.budget < 0:
            # Aliases can expand a small file into billions of nodes ("billion laughs").
            raise YamlSyntaxError(
                Span(self.spans.file, 1, 1), _("the YAML expands to too many nodes (aliases?)")
            )

        if isinstance(node, CommentedMap):
            template = _unquoted_template(node)
            if template is not None:
                self.problems.append(
                    YamlProblem(
                        self.spans.value(path),
                        unquoted_template(),
                        quote_the_template(),
                    )
                )
                return template
            if id(node) in seen:
                raise YamlSyntaxError(self.spans.value(path), _("YAML anchors may not refer to themselves"))
            seen = seen | {id(node)}
            result: dict[Any, Any] = {}
            for key in node:
                plain_key = _plain_key(key)
                child = (*path, plain_key)
                try:
                    key_line, key_col, value_line, value_col = node.lc.data[key]
                except (KeyError, TypeError, AttributeError, ValueError):
                    key_line = key_col = value_line = value_col = None
                value = node[key]
                key_span = None
                if key_line is not None and key_col is not None:
                    key_span = self.span(key_line, key_col, key)
                    self.spans.keys[child] = key_span
                if value is None and key_span is not None and value_line != key_line:
                    # `key:` with nothing after it: the reader places the null at the next token.
                    self.spans.values[child] = key_span
                elif value_line is not None and value_col is not None:
                    self.spans.values[child] = self.span(value_line, value_col, value)
                result[plain_key] = self.convert(value, child, seen)
            return result
        if isinstance(node, CommentedSeq):
            if id(node) in seen:
                raise YamlSyntaxError(self.spans.value(path), _("YAML anchors may not refer to themselves"))
            seen = seen | {id(node)}
            items: list[Any] = []
            for index, item in enumerate(node):
                child = (*path, index)
                try:
                    line, col = node.lc.data[index]
                except (KeyError, IndexError, TypeError, AttributeError, ValueError):
                    line = col = None
                if line is not None and col is not None:
                    self.spans.values[child] = self.span(line, col, item)
                items.append(self.convert(item, child, seen))
            return items
        return _plain_scalar(node)

    def span(self, line: int, col: int, value: Any) -> Span:
        """The span of a node that starts at `line`, `col` (counted from 0), as wide as it is written."""
        return Span(self.spans.file, line + 1, col + 1, col + 1 + self.width(line, col, value))

    def width(self, line: int, col: int, value: Any) -> int:
        if isinstance(value, dict | list) or value is None:
            return 1
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        quote = text[col] if col < len(text) else ""
        if quote in ("'", '"'):
            return _quoted_width(text, col, quote)
        return max(1, len(str(value)))


def _quoted_width(text: str, col: int, quote: str) -> int:
    """The width of a quoted scalar from its opening quote through its closing one (or the end of the line)."""
    index = col + 1
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2  # '' is a quote inside single quotes
                continue
            return index - col + 1
        index += 1
    return max(1, len(text.rstrip()) - col)


def _unquoted_template(node: Any) -> str | None:
    """`{{ x }}` written without quotes is, to YAML, a mapping holding a mapping: give back the text meant."""
    if len(node) != 1:
        return None
    ((key, value),) = node.items()
    if value is not None or not isinstance(key, Mapping) or not key:
        return None
    parts = []
    for inner, inner_value in key.items():  # `{{ f(a, b) }}` gives the keys `f(a` and `b)`
        if inner_value is not None or isinstance(inner, Mapping | list) or inner is None:
            return None
        parts.append(str(_plain_scalar(inner)))
    return "{{ " + ", ".join(parts) + " }}"


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


def walk(data: Any, path: Location = ()) -> Iterator[tuple[Location, Any]]:
    """Every node of plain loaded data, depth first, with its path."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*path, index))
