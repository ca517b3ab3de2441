"""What the `files` robot needs to file documents: their text, and destination templates rendered per file.

The robot renders its own templates (the runner's templating belongs to the engine, which robots never import):
a sandboxed, immutable Jinja2 environment, strict about undefined names, with the file's fields as `file`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import ConfigurationError, _

if TYPE_CHECKING:
    from jinja2 import Template

TEXT_EXTENSIONS = frozenset({".txt", ".csv", ".md", ".tsv", ".text"})
_MAX_TEXT = 5_000_000  # characters; enough for any letter or invoice, bounded for a huge log file
_SPACES = re.compile(r"\s+")


def comparable(text: str) -> str:
    """Text as `contains` compares it: case, accents and runs of spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", stripped).strip()


def document_text(path: Path) -> str | None:
    """The text of a .txt/.csv/.md, .pdf or .docx document, or None when it cannot be read as text."""
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_EXTENSIONS:
            raw = path.read_bytes()[: _MAX_TEXT * 4]
            try:
                return raw.decode("utf-8-sig")[:_MAX_TEXT]
            except UnicodeDecodeError:
                return raw.decode("cp1252", errors="replace")[:_MAX_TEXT]
        if suffix == ".pdf":
            return _pdf_text(path)
        if suffix == ".docx":
            return _docx_text(path)
    except Exception:  # a damaged document is simply not matched by a `contains` rule
        return None
    return None


def _pdf_text(path: Path) -> str | None:
    from pypdf import PdfReader

    with warnings.catch_warnings(), path.open("rb") as handle:
        warnings.simplefilter("ignore")
        reader = PdfReader(handle)
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size > _MAX_TEXT:
                break
        return "\n".join(parts)


def _docx_text(path: Path) -> str:
    import docx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = docx.Document(str(path))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


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
