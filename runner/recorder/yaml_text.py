"""Workflow text as a person would write it: block mappings, short flow mappings for a step's parameters, plain
scalars where YAML reads them back as the same text, double quotes elsewhere.

A text taken from a page or typed by a person is literal: the engine renders every parameter as a template, so
one holding `{{`, `{%` or `{#` is escaped for Jinja (`Expression` marks the texts that are templates on purpose).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

FLOW_WIDTH = 110
_PLAIN = re.compile(r"[^\W\d_][\w'’ .-]*", re.UNICODE)
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})
_JINJA_START = re.compile(r"\{[{%#]")


class Expression(str):
    """A text that is a template on purpose (`{{ secrets.mot_de_passe }}`): written as it is, never escaped."""

    __slots__ = ()


def literal(text: str) -> str:
    """`text` as a template that renders to exactly `text` (a page's label may contain `{{ }}`)."""
    if not _JINJA_START.search(text):
        return text
    if "endraw" not in text:
        return "{% raw %}" + text + "{% endraw %}"
    return text.replace(
        "{", "{{ '{' }}"
    )  # hostile enough to hold "endraw": every brace through an expression


def _quoted(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif (
            code < 0x20
            or 0x7F <= code <= 0x9F
            or 0xD800 <= code <= 0xDFFF
            or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
        ):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def scalar(value: Any) -> str:
    """One value as YAML reads it back: booleans and numbers as such, a text plain when it is safe, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "null"
    text = str(value) if isinstance(value, Expression) else literal(str(value))
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _YAML_WORDS:
        return text
    return _quoted(text)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def flow(value: Any) -> str:
    """A value on one line: `{label: Nom, value: Julien}`, `[a, b]`, or a scalar."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(key)}: {flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return scalar(value)


def block(value: Any, indent: int) -> list[str]:
    """The lines of a mapping or a list in block style at `indent` spaces; short parameters stay on one line."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{pad}{scalar(key)}:"
            if _is_scalar(item) or _fits(head, item):
                lines.append(f"{head} {flow(item)}")
            else:
                lines.append(head)
                lines.extend(block(item, indent + 2))
        return lines
    for item in value:
        if isinstance(item, Mapping) and item:
            inner = block(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
        else:
            lines.append(f"{pad}- {flow(item)}")
    return lines


def _fits(head: str, item: Any) -> bool:
    """One line for a mapping or list of scalars that is short enough; nested ones stay blocks."""
    values = item.values() if isinstance(item, Mapping) else item
    return all(_is_scalar(v) for v in values) and len(head) + 1 + len(flow(item)) <= FLOW_WIDTH
