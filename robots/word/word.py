"""The `word` robot: Word documents (.docx) made from templates, read, edited and converted to PDF.

A template is an ordinary .docx that a service agent edits in Word, with `{{ nom }}` placeholders, rows of a
table repeated with `{%tr for ligne in lignes %}` … `{%tr endfor %}` and paragraphs kept or dropped with
`{%p if … %}` … `{%p endif %}` (docxtpl's syntax). Every file is written to a temporary file first and replaces
the output only once complete, so a run that stops half-way never leaves half a letter behind.

Errors say which kind they are: a missing file, an unreadable template or a missing LibreOffice is a
`ConfigurationError`; values that do not fit the template (a placeholder with no value) or a document that is
not a .docx are a `BusinessError`; a conversion that fails or hangs is an `ApplicationError`.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robots.kit import (
    N_,
    ApplicationError,
    BusinessError,
    ConfigurationError,
    ConfinedPath,
    Robot,
    RobotContext,
    Seconds,
    _,
    action,
    atomic_file,
    ngettext,
)
from robots.word.libreoffice import find_soffice, run_soffice

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _none_as_empty(value: Any) -> Any:
    # An empty cell read from a spreadsheet is None: a letter should show nothing, not "None".
    return "" if value is None else value


_STYLE_TEXTS = {  # by kind of style: no such style, the styles there are (translated with `_()` where raised)
    "paragraph": (
        N_("the document has no paragraph style named {style}"),
        N_("its paragraph styles are: {styles}"),
    ),
    "table": (N_("the document has no table style named {style}"), N_("its table styles are: {styles}")),
}


class Word(Robot):
    """Create, read and edit Word documents (.docx); convert them to PDF with LibreOffice."""

    name = "word"

    def __init__(self, context: RobotContext) -> None:
        super().__init__(context)
        self._profile_dir: Path | None = None

    def _input_file(self, path: str, role: str | None = None) -> Path:
        resolved = self.context.input_file(path, role or _("document"))
        if resolved.suffix.lower() == ".doc":
            raise ConfigurationError(
                _("{name} is in the old Word format (.doc)").format(name=resolved.name),
                hint=_("open it in Word or LibreOffice and save it as a .docx document"),
            )
        return resolved

    def _open(self, path: Path) -> DocxDocument:
        import docx
        from docx.opc.exceptions import PackageNotFoundError

        try:
            return docx.Document(str(path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise BusinessError(
                _("{name} is not a readable Word document (.docx)").format(name=path.name),
                hint=_(
                    "check that the file is a .docx saved by Word or LibreOffice, not renamed from another format"
                ),
                cause=[str(exc)],
            ) from None

    def _save(self, document: DocxDocument, target: Path, action_name: str) -> str:
        with atomic_file(target, run_id=self.context.run_id) as handle:
            document.save(handle)
        self.context.record_artifact(
            target, "output", _("written by word.{action}").format(action=action_name)
        )
        return str(target.resolve())

    @action(side_effects=True, idempotent=True)
    def render_template(self, template: str, output: ConfinedPath, values: dict[str, Any]) -> str:
        """Write one document from a .docx template, filling its placeholders with `values`.

        Placeholders are written `{{ nom }}` in the template (`{{ demandeur.nom }}` for a field of a mapping); a
        table row holding `{%tr for ligne in lignes %}` … `{%tr endfor %}` is repeated once per item; a
        paragraph holding `{%p if montant %}` … `{%p endif %}` is kept only when the condition holds. Line
        breaks in a value become line breaks in the document; an empty value (None) shows nothing.

        Args:
            template: The .docx template, relative to the workflow's folder unless absolute.
            output: The document to write (.docx); folders are created, an existing file is replaced.
            values: The values of the placeholders, by name, e.g. `{nom: "{{ courrier.nom }}", lignes: [...]}`.

        Returns:
            The absolute path of the written document.
        """
        from docx.opc.exceptions import PackageNotFoundError
        from docxtpl import DocxTemplate
        from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
        from jinja2.sandbox import SandboxedEnvironment

        source = self._input_file(template, _("template"))
        target = self.context.resolve_path(output)
        # autoescape: a value holding "&" or "<" must end up as text, not break the document's XML.
        environment = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=True, finalize=_none_as_empty
        )
        document = DocxTemplate(str(source))
        try:
            wanted = document.get_undeclared_template_variables(environment)
        except TemplateSyntaxError as exc:
            raise ConfigurationError(
                _("template {name}: {reason}").format(name=source.name, reason=exc.message),
                hint=_(
                    "fix the {{ }} and {% %} tags in Word; a tag must be written on one line, in plain text"
                ),
            ) from None
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ConfigurationError(
                _("template {name} is not a readable Word document (.docx)").format(name=source.name),
                cause=[str(exc)],
            ) from None
        missing = sorted(set(wanted) - set(values))
        if missing:
            names = ", ".join(missing)
            raise BusinessError(
                ngettext(
                    "word.render_template: no value for {names} (placeholder of {template})",
                    "word.render_template: no value for {names} (placeholders of {template})",
                    len(missing),
                ).format(names=names, template=source.name),
                hint=ngettext(
                    "give it under values:; the template uses {placeholders}",
                    "give them under values:; the template uses {placeholders}",
                    len(missing),
                ).format(placeholders=", ".join(sorted(wanted))),
            )
        try:
            document.render(dict(values), jinja_env=environment, autoescape=True)
        except UndefinedError as exc:
            raise BusinessError(
                _("word.render_template: a value is missing for {template}: {reason}").format(
                    template=source.name, reason=exc.message
                ),
                hint=_("check the fields of the mappings given under values:"),
            ) from None
        except TemplateError as exc:
            raise ConfigurationError(
                _("template {name}: {reason}").format(name=source.name, reason=exc)
            ) from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise BusinessError(
                _("word.render_template: {template}: {reason}").format(template=source.name, reason=exc)
            ) from None
        result = self._save(document.docx, target, "render_template")
        self.context.log(
            _("wrote {name} from the template {template}").format(name=target.name, template=source.name)
        )
        return result

    @action
    def read_text(self, path: str, headers: bool = False) -> str:
        """Read a document's text: paragraphs one per line, table rows with their cells separated by tabs.

        Args:
            path: The .docx document, relative to the workflow's folder unless absolute.
            headers: Also read the headers and footers (before the body).

        Returns:
            The document's text.
        """
        from docx.table import Table

        from robots.word import text as word_text

        document = self._open(self._input_file(path))
        lines: list[str] = []
        if headers:
            for root in word_text.story_roots(document)[1:]:
                lines.extend(word_text.paragraph_texts(root))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend("\t".join(cell.text for cell in row.cells) for row in block.rows)
            else:
                lines.append(word_text.paragraph_text(block._p))
        return "\n".join(lines)

    @action(side_effects=True)
    def replace_text(
        self,
        path: ConfinedPath,
        replacements: dict[str, str],
        output: ConfinedPath | None = None,
        required: bool = True,
    ) -> str:
        """Replace texts in a document (body, tables, headers and footers), keeping their formatting.

        A text is found even when Word split it into several runs (pieces of differently recorded formatting);
        the new text takes the formatting of the place where the old text started. A text is not found across
        a tab or a line break.

        Args:
            path: The .docx document, relative to the workflow's folder unless absolute.
            replacements: Each text to find and the text to put instead, e.g. `{"[DATE]": "1er mars 2026"}`.
            output: Where to write the result; by default the document itself is replaced.
            required: Whether a text that is not found is an error (a business error naming it).

        Returns:
            The absolute path of the written document.
        """
        from robots.word import text as word_text

        source = self._input_file(path)
        document = self._open(source)
        counts = dict.fromkeys(replacements, 0)
        roots = word_text.story_roots(document)
        for old, new in replacements.items():
            if not old:
                raise BusinessError(_("word.replace_text: cannot replace an empty text"))
            for root in roots:
                counts[old] += word_text.replace_text(root, old, str(new))
        absent = [old for old, count in counts.items() if count == 0]
        if absent and required:
            raise BusinessError(
                _("word.replace_text: {texts} not found in {name}").format(
                    texts=", ".join(repr(old) for old in absent), name=source.name
                ),
                hint=_(
                    "check the spelling and case; a text is not found across a tab or a line break "
                    "(or add `required: false`)"
                ),
            )
        target = self.context.resolve_path(output) if output else source
        replaced = sum(counts.values())
        self.context.log(
            ngettext(
                "replaced {n} occurrence in {name}", "replaced {n} occurrences in {name}", replaced
            ).format(n=replaced, name=source.name)
            + (_(" (not found: {texts})").format(texts=", ".join(absent)) if absent else "")
        )
        return self._save(document, target, "replace_text")

    @action(side_effects=True)
    def append_paragraph(
        self, path: ConfinedPath, text: str, style: str | None = None, output: ConfinedPath | None = None
    ) -> str:
        """Add a paragraph at the end of a document.

        Args:
            path: The .docx document, relative to the workflow's folder unless absolute.
            text: The paragraph's text; a line break in it becomes a line break in the paragraph.
            style: A paragraph style of the document, by its name in Word (e.g. "Heading 1").
            output: Where to write the result; by default the document itself is replaced.

        Returns:
            The absolute path of the written document.
        """
        source = self._input_file(path)
        document = self._open(source)
        self._check_style(document, style, "paragraph")
        document.add_paragraph(text, style=style)
        target = self.context.resolve_path(output) if output else source
        return self._save(document, target, "append_paragraph")

    @action(side_effects=True)
    def append_table(
        self,
        path: ConfinedPath,
        rows: list[dict[str, Any]] | list[list[Any]],
        columns: list[str] | None = None,
        style: str | None = None,
        output: ConfinedPath | None = None,
    ) -> str:
        """Add a table at the end of a document, with a header row.

        Args:
            path: The .docx document, relative to the workflow's folder unless absolute.
            rows: The table's rows: records (mappings, their fields become the columns) or lists of cells.
            columns: The header row; for records, which fields to show and in what order (by default all).
            style: A table style of the document, by its name in Word; by default "Table Grid" when it exists.
            output: Where to write the result; by default the document itself is replaced.

        Returns:
            The absolute path of the written document.
        """
        from docx.enum.style import WD_STYLE_TYPE

        source = self._input_file(path)
        document = self._open(source)
        records = [row for row in rows if isinstance(row, Mapping)]
        cell_lists = [row for row in rows if isinstance(row, list)]
        if rows and len(records) == len(rows):
            names = columns or list(dict.fromkeys(key for row in records for key in row))
            body = [[row.get(name) for name in names] for row in records]
        elif len(cell_lists) == len(rows):
            names = columns or []
            body = [list(row) for row in cell_lists]
        else:
            raise BusinessError(
                _("word.append_table: rows must be all records (mappings) or all lists of cells")
            )
        width = max([len(names), *(len(row) for row in body)], default=0)
        if width == 0:
            raise BusinessError(
                _("word.append_table: there is nothing to put in the table (no rows, no columns)")
            )
        if style is None:
            known = {s.name for s in document.styles if s.type == WD_STYLE_TYPE.TABLE}
            style = "Table Grid" if "Table Grid" in known else None
        else:
            self._check_style(document, style, "table")
        table = document.add_table(rows=0, cols=width)
        if style:
            table.style = document.styles[style]
        if names:
            cells = table.add_row().cells
            for cell, name in zip(cells, names, strict=False):
                cell.paragraphs[0].add_run(_cell_text(name)).bold = True
        for row in body:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=False):
                cell.text = _cell_text(value)
        target = self.context.resolve_path(output) if output else source
        return self._save(document, target, "append_table")

    def _check_style(self, document: DocxDocument, style: str | None, kind: str) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        if style is None:
            return
        wanted = WD_STYLE_TYPE.PARAGRAPH if kind == "paragraph" else WD_STYLE_TYPE.TABLE
        known = sorted(s.name for s in document.styles if s.type == wanted and s.name)
        if style not in known:
            close = difflib.get_close_matches(style, known, n=1)
            raise ConfigurationError(
                _(_STYLE_TEXTS[kind][0]).format(style=repr(style)),
                hint=_("did you mean {name}?").format(name=repr(close[0]))
                if close
                else _(_STYLE_TEXTS[kind][1]).format(styles=", ".join(known)),
            )

    def _profile(self) -> Path:
        # A LibreOffice profile per robot (so per parallel lane): two conversions at once in the user's profile
        # would fight over its lock, and a profile made once makes the next conversions several times faster.
        if self._profile_dir is None:
            self._profile_dir = Path(tempfile.mkdtemp(prefix="robo-soffice-profile-"))
        return self._profile_dir

    def close(self) -> None:
        """Delete the LibreOffice profile made for conversions, if any."""
        if self._profile_dir is not None:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
            self._profile_dir = None

    @action(side_effects=True, idempotent=True)
    def to_pdf(self, path: ConfinedPath, output: ConfinedPath | None = None, timeout: Seconds = 120) -> str:
        """Convert a document to PDF with LibreOffice (run headless, in a profile of the robot's own).

        Args:
            path: The document (.docx, .odt, .doc, .rtf), relative to the workflow's folder unless absolute.
            output: The PDF to write; by default beside the document, with the .pdf extension.
            timeout: Seconds to let LibreOffice convert before stopping it.

        Returns:
            The absolute path of the PDF.
        """
        source = self.context.input_file(path, _("document"))
        target = self.context.resolve_path(output) if output else source.with_suffix(".pdf")
        program = find_soffice(self.context.settings.get("word") or {})
        with tempfile.TemporaryDirectory(prefix="robo-soffice-") as work:
            outdir = Path(work, "out")
            command = [
                program,
                "--headless",
                "--norestore",
                "--nologo",
                "--nolockcheck",
                f"-env:UserInstallation={self._profile().as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                str(source),
            ]
            stdout, stderr = run_soffice(command, source, timeout)
            produced = outdir / f"{source.stem}.pdf"
            if not produced.is_file():
                details = [line for line in (stderr + stdout).splitlines() if line.strip()]
                raise ApplicationError(
                    _("LibreOffice did not convert {name} to PDF").format(name=source.name),
                    hint=_(
                        "check that the document opens in LibreOffice; a damaged or password-protected "
                        "document cannot be converted"
                    ),
                    cause=details[-5:],
                )
            with atomic_file(target, run_id=self.context.run_id) as handle, produced.open("rb") as pdf:
                shutil.copyfileobj(pdf, handle)
        self.context.record_artifact(target, "output", _("written by word.{action}").format(action="to_pdf"))
        self.context.log(_("converted {source} to {target}").format(source=source.name, target=target.name))
        return str(target.resolve())
