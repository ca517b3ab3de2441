"""What the `files` robot needs to file documents: their text, and destination templates rendered per file.

The robot renders its own templates (the runner's templating belongs to the engine, which robots never import):
a sandboxed, immutable Jinja2 environment, strict about undefined names, with the file's fields as `file`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import (
    READABLE_SUFFIXES,
    ApplicationError,
    BusinessError,
    ConfigurationError,
    DocumentReader,
    DocumentText,
    _,
)

if TYPE_CHECKING:
    from jinja2 import Template

_SPACES = re.compile(r"\s+")


def comparable(text: str) -> str:
    """Text as `contains` compares it: case, accents and runs of spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", stripped).strip()


def document_text(path: Path, reader: DocumentReader | None = None) -> str | None:
    """The text of a document as the documents robot reads it (scans by OCR), or None when it cannot be read.

    `reader` is the run's (`shared_reader(context)`); without one, a reader is started for this document alone.
    A missing OCR engine is not "unreadable": its `ConfigurationError` is raised.
    """
    reading = document_reading(path, None if reader is None else lambda: reader)
    return None if reading is None else reading.text


def document_reading(path: Path, reader: Callable[[], DocumentReader] | None = None) -> DocumentText | None:
    """What reading a document gives (text, OCR confidence…), or None when it cannot be read.

    `reader` gives the run's reader (`lambda: shared_reader(context)`), asked only when a document is read;
    without one, a reader is started for this document alone.
    """
    if path.suffix.lower() not in READABLE_SUFFIXES:
        return None
    own = reader is None
    active = DocumentReader() if reader is None else reader()
    try:
        return active.read(path)
    except (BusinessError, ApplicationError):  # a damaged document is simply not matched by a `contains` rule
        return None
    finally:
        if own:
            active.close()


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@cache
def compile_template(text: str) -> Template:
    """A destination template, compiled once; a `ConfigurationError` when its syntax is wrong."""
    from jinja2 import TemplateSyntaxError

    try:
        return _environment().from_string(text)  # type: ignore[no-any-return]
    except TemplateSyntaxError as exc:
        raise ConfigurationError(
            _("files: the destination template {template} is not valid: {problem}").format(
                template=repr(text), problem=exc.message
            ),
            hint=_("write fields as {example}").format(
                example="{{ file.stem }}, {{ file.extension }}, {{ file.modified.year }}"
            ),
        ) from None


def render_destination(text: str, file: Mapping[str, Any], match: Mapping[str, str] | None = None) -> str:
    """Render a destination template for one file (`file`, `match` (a rule's captures), `today` and `now`).

    The values are data given to the template, never template text: a document saying "{{ … }}" stays text.
    """
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError

    if "{{" not in text and "{%" not in text:
        return text
    try:
        return compile_template(text).render(
            file=file, match=dict(match or {}), today=dt.date.today(), now=dt.datetime.now()
        )
    except (UndefinedError, SecurityError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(
            _("files: cannot render the destination {template} for {name}: {problem}").format(
                template=repr(text), name=file.get("name"), problem=exc
            ),
            hint=_(
                "the names are `file` (fields: {fields}), `match` (the rule's captures), `today` and `now`"
            ).format(fields=", ".join(file)),
        ) from None
