"""A realistic, reproducible corpus of incoming documents of every kind, to test reading and filing by content.

Each document is one of the letters of `scanned_letters` (a dossier reference, a SIRET, an IBAN, a date, an
amount), written as a text PDF (fpdf2 with DejaVu), a .docx with a table (python-docx), an .odt (written by hand:
a zip of content.xml), a .txt in UTF-8 or cp1252, a .md, a .csv, an .eml (plain or HTML only, with attachments),
a scanned PDF (an image with noise and skew, no text layer) or a scanned image (.png, .jpg, .tif). Some files are
byte-for-byte duplicates under another name. `SampleDocument` says what a reader must find in each.

    python -m tests.mock_intranet.sample_documents OUT_FOLDER [--scans 60]
"""

from __future__ import annotations

import argparse
import random
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from pathlib import Path

from faker import Faker

from .scanned_letters import FONT, Letter, french_amount, make_letter, save_scan_pdf, scan

DEFAULT_SEED = 2026
# How many documents of each kind besides the scans: enough of each to see a reader's rare failure.
KINDS: dict[str, int] = {
    "pdf": 14,
    "docx": 10,
    "odt": 6,
    "txt-utf8": 5,
    "txt-cp1252": 5,
    "md": 2,
    "csv": 2,
    "eml": 6,
}
IMAGES = (".png", ".jpg", ".tif")
DUPLICATES = 4


@dataclass(frozen=True)
class SampleDocument:
    """A generated document, the kind a reader should report, and text it must find (accents included)."""

    path: Path
    kind: str
    reference: str
    phrases: tuple[str, ...]
    scanned: bool = False
    duplicate_of: Path | None = None


def _phrases(letter: Letter) -> tuple[str, ...]:
    return (letter.reference, letter.sender, f"Montant demandé : {french_amount(letter.amount)}")


def write_pdf(letter: Letter, path: Path) -> None:
    """A text PDF, as a word processor exports it."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    for line in letter.lines():
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_docx(letter: Letter, path: Path) -> None:
    """A .docx: the letter's paragraphs, then a table of its dossier's figures."""
    import docx

    document = docx.Document()
    document.core_properties.created = datetime(2026, 1, 1)
    for line in letter.lines()[:11]:
        document.add_paragraph(line)
    table = document.add_table(rows=2, cols=4)
    for cell, text in zip(table.rows[0].cells, ("Dossier", "SIRET", "Montant", "Date"), strict=True):
        cell.text = text
    values = (letter.reference, letter.siret_shown, french_amount(letter.amount), f"{letter.sent:%d/%m/%Y}")
    for cell, text in zip(table.rows[1].cells, values, strict=True):
        cell.text = text
    for line in letter.lines()[11:]:
        document.add_paragraph(line)
    document.add_paragraph(f"Montant demandé : {french_amount(letter.amount)}")
    document.save(str(path))


_ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def write_odt(letter: Letter, path: Path) -> None:
    """An .odt (OpenDocument text): a heading, paragraphs and a table, as LibreOffice writes them."""
    from xml.sax.saxutils import escape

    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in letter.lines())
    row = "".join(
        f"<table:table-cell><text:p>{escape(value)}</text:p></table:table-cell>"
        for value in (letter.reference, french_amount(letter.amount))
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
        f"<office:body><office:text><text:h>Courrier {escape(letter.reference)}</text:h>{paragraphs}"
        f"<table:table><table:table-row>{row}</table:table-row></table:table></office:text></office:body>"
        "</office:document-content>"
    )
    members = (
        ("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED),
        ("META-INF/manifest.xml", _ODT_MANIFEST, zipfile.ZIP_DEFLATED),
        ("content.xml", content, zipfile.ZIP_DEFLATED),
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, compression in members:  # a fixed date: the same letter gives the same bytes
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, compression)


def write_eml(letter: Letter, path: Path, *, html_only: bool, attachment: Path | None) -> None:
    """An e-mail with the letter as its body (plain text and HTML, or HTML only) and maybe an attachment."""
    message = EmailMessage()
    message["Subject"] = f"{letter.subject.capitalize()} – dossier {letter.reference}"
    message["From"] = f"{letter.sender} <contact@exemple.fr>"
    message["To"] = "courrier@service.gouv.fr"
    message["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    message["Message-ID"] = f"<{letter.reference}@exemple.fr>"
    html = (
        "<html><head><style>p{margin:0}</style></head><body>"
        + "".join(f"<p>{line}</p>" for line in letter.lines())
        + "<script>alert('x')</script></body></html>"
    )
    if html_only:
        message.set_content(html, subtype="html")
    else:
        message.set_content(letter.text())
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment.read_bytes(),
            maintype="application",
            subtype="pdf",
            filename=f"pièce {letter.reference}.pdf",
        )
    path.write_bytes(bytes(message))


def generate_documents(
    folder: Path, *, scans: int = 8, images: bool = True, seed: int = DEFAULT_SEED
) -> list[SampleDocument]:
    """Write the corpus into `folder`: `KINDS`, `scans` scanned letters, `IMAGES` and `DUPLICATES` copies."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    documents: list[SampleDocument] = []
    number = 0

    def next_letter() -> Letter:
        nonlocal number
        number += 1
        return make_letter(number, rng, fake)

    def add(
        kind: str, suffix: str, write: Callable[[Letter, Path], object], *, scanned: bool = False
    ) -> None:
        letter = next_letter()
        name = f"{letter.reference} {letter.sender}{suffix}"  # names with accents and spaces, as received
        path = folder / name
        write(letter, path)
        documents.append(SampleDocument(path, kind, letter.reference, _phrases(letter), scanned))

    for _ in range(KINDS["pdf"]):
        add("pdf", ".pdf", write_pdf)
    for _ in range(KINDS["docx"]):
        add("docx", ".docx", write_docx)
    for _ in range(KINDS["odt"]):
        add("odt", ".odt", write_odt)
    for _ in range(KINDS["txt-utf8"]):
        add("text", ".txt", lambda letter, path: path.write_text(letter.text(), encoding="utf-8"))
    for _ in range(KINDS["txt-cp1252"]):
        add("text", " (Windows).txt", lambda letter, path: path.write_bytes(letter.text().encode("cp1252")))
    for _ in range(KINDS["md"]):
        add("text", ".md", lambda letter, path: path.write_text(f"# {letter.subject}\n\n{letter.text()}\n"))
    for _ in range(KINDS["csv"]):
        add(
            "text",
            ".csv",
            lambda letter, path: path.write_text(
                "dossier;nom;montant\n"
                f"{letter.reference};{letter.sender};Montant demandé : {french_amount(letter.amount)}\n",
                encoding="utf-8-sig",
            ),
        )
    pdfs = [document.path for document in documents if document.kind == "pdf"]
    for index in range(KINDS["eml"]):
        html_only, attachment = index % 2 == 1, pdfs[index] if index % 3 else None
        add("email", ".eml", partial(write_eml, html_only=html_only, attachment=attachment))
    for _ in range(scans):
        add(
            "scanned pdf",
            ".pdf",
            lambda letter, path: save_scan_pdf([scan(letter.lines(), rng)], path),
            scanned=True,
        )
    for suffix in IMAGES if images else ():
        add("image", suffix, lambda letter, path: scan(letter.lines(), rng, dpi=300).save(path), scanned=True)
    originals = [document for document in documents if document.kind in ("pdf", "docx", "scanned pdf")]
    for original in rng.sample(originals, DUPLICATES):
        copy = folder / f"copie de {original.path.name}"
        shutil.copyfile(original.path, copy)
        documents.append(
            SampleDocument(
                copy, original.kind, original.reference, original.phrases, original.scanned, original.path
            )
        )
    return documents


def main() -> None:
    """Write the corpus into a folder (for a look at it, or a benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scans", type=int, default=8)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    documents = generate_documents(args.out, scans=args.scans, seed=args.seed)
    print(f"{len(documents)} documents written to {args.out}")


if __name__ == "__main__":
    main()
