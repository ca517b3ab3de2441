"""The `pdf` robot: text, pages, merging, splitting and forms, on PDF files written by hand here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject

from robots.kit import BusinessError, ConfigurationError, RobotContext
from robots.pdf import Pdf


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(
    pages: list[str], text_fields: dict[str, str] | None = None, check_boxes: dict[str, bool] | None = None
) -> bytes:
    """A small PDF written by hand: one line of Helvetica text per page, and form fields on the first page."""
    objects: dict[int, bytes] = {}
    font, pages_ref, first_page = 3, 2, 4
    objects[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    next_ref = first_page + 2 * len(pages)
    widgets: list[int] = []
    y = 600
    for name, value in (text_fields or {}).items():
        widgets.append(next_ref)
        objects[next_ref] = (
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T "
            + _pdf_string(name)
            + b" /V "
            + _pdf_string(value)
            + b" /Rect [72 %d 300 %d] /F 4 /P %d 0 R /DA (/Helv 12 Tf 0 g) >>" % (y, y + 20, first_page)
        )
        next_ref += 1
        y -= 40
    for name, checked in (check_boxes or {}).items():
        on, off = next_ref + 1, next_ref + 2
        state = b"/Oui" if checked else b"/Off"
        widgets.append(next_ref)
        objects[next_ref] = (
            b"<< /Type /Annot /Subtype /Widget /FT /Btn /T "
            + _pdf_string(name)
            + b" /V "
            + state
            + b" /AS "
            + state
            + b" /Rect [72 %d 92 %d] /F 4 /P %d 0 R /AP << /N << /Oui %d 0 R /Off %d 0 R >> >> >>"
            % (y, y + 20, first_page, on, off)
        )
        for ref, drawing in ((on, b"0 0 20 20 re f"), (off, b"")):
            objects[ref] = (
                b"<< /Type /XObject /Subtype /Form /BBox [0 0 20 20] /Length %d >>\nstream\n" % len(drawing)
                + drawing
                + b"\nendstream"
            )
        next_ref += 3
        y -= 40
    kids = []
    for index, text in enumerate(pages):
        page_ref, content_ref = first_page + 2 * index, first_page + 2 * index + 1
        kids.append(b"%d 0 R" % page_ref)
        annots = b""
        if index == 0 and widgets:
            annots = b" /Annots [" + b" ".join(b"%d 0 R" % w for w in widgets) + b"]"
        objects[page_ref] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R%s >>" % (content_ref, annots)
        )
        stream = b"BT /F1 14 Tf 72 760 Td " + _pdf_string(text) + b" Tj ET"
        objects[content_ref] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    objects[pages_ref] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(pages)
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if widgets:
        catalog += (
            b" /AcroForm << /Fields [" + b" ".join(b"%d 0 R" % w for w in widgets) + b"]"
            b" /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 3 0 R >> >> >>"
        )
    objects[1] = catalog + b" >>"
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for ref in sorted(objects):
        offsets[ref] = len(out)
        out += b"%d 0 obj\n" % ref + objects[ref] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for ref in range(1, size):
        out += b"%010d 00000 n \n" % offsets[ref]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


@pytest.fixture
def pdf(robot_context: RobotContext) -> Iterator[Pdf]:
    robot = Pdf(robot_context)
    yield robot
    robot.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


PAGES = ["Première page : reçu", "Deuxième page (annexe)", "Troisième page — fin"]


@pytest.fixture
def courrier(tmp_path: Path) -> Path:
    path = tmp_path / "courrier.pdf"
    path.write_bytes(make_pdf(PAGES))
    return path


@pytest.fixture
def formulaire(tmp_path: Path) -> Path:
    path = tmp_path / "formulaire.pdf"
    path.write_bytes(make_pdf(["Cerfa de demande"], {"nom": "", "commune": "Lyon"}, {"urgent": False}))
    return path


def page_texts(path: str | Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Pdf.action_specs()
        assert set(specs) == {"page_count", "read_text", "merge", "split", "read_form_fields", "fill_form"}
        for spec in specs.values():
            assert spec.returns

    def test_only_the_writing_actions_have_side_effects(self) -> None:
        changing = {name for name, spec in Pdf.action_specs().items() if spec.side_effects}
        assert changing == {"merge", "split", "fill_form"}


class TestReading:
    def test_counts_pages(self, pdf: Pdf, courrier: Path) -> None:
        assert pdf.page_count("courrier.pdf") == 3

    def test_reads_the_text_of_every_page_with_accents(self, pdf: Pdf, courrier: Path) -> None:
        assert pdf.read_text(str(courrier)).split("\f") == PAGES

    def test_reads_chosen_pages(self, pdf: Pdf, courrier: Path) -> None:
        assert pdf.read_text("courrier.pdf", pages="2-").split("\f") == PAGES[1:]
        assert pdf.read_text("courrier.pdf", pages="3,1").split("\f") == [PAGES[2], PAGES[0]]

    def test_a_page_beyond_the_last_is_a_business_error(self, pdf: Pdf, courrier: Path) -> None:
        with pytest.raises(BusinessError, match=r"courrier\.pdf has 3 pages: there is no page 9"):
            pdf.read_text("courrier.pdf", pages="2-9")

    @pytest.mark.parametrize("pages", ["deux", "3-1", "0", "-"])
    def test_a_malformed_range_is_a_business_error(self, pdf: Pdf, courrier: Path, pages: str) -> None:
        with pytest.raises(BusinessError):
            pdf.read_text("courrier.pdf", pages=pages)

    def test_a_missing_file_is_a_configuration_error(self, pdf: Pdf) -> None:
        with pytest.raises(ConfigurationError, match="PDF file not found"):
            pdf.page_count("absent.pdf")

    def test_a_file_that_is_not_a_pdf_is_a_business_error(self, pdf: Pdf, tmp_path: Path) -> None:
        (tmp_path / "faux.pdf").write_bytes(b"<html>ceci n'est pas un PDF</html>")
        with pytest.raises(BusinessError, match=r"faux\.pdf is not a readable PDF file"):
            pdf.read_text("faux.pdf")

    def test_a_password_protected_file_is_a_business_error(
        self, pdf: Pdf, tmp_path: Path, courrier: Path
    ) -> None:
        writer = PdfWriter(clone_from=courrier)
        writer.encrypt("secret")
        with (tmp_path / "protege.pdf").open("wb") as handle:
            writer.write(handle)
        with pytest.raises(BusinessError, match=r"protege\.pdf is protected by a password"):
            pdf.read_text("protege.pdf")


class TestMergeAndSplit:
    def test_merges_files_in_the_given_order(
        self, pdf: Pdf, tmp_path: Path, courrier: Path, artifacts: list[tuple[Path, str, str]]
    ) -> None:
        (tmp_path / "annexe.pdf").write_bytes(make_pdf(["Annexe signée"]))
        written = pdf.merge(["annexe.pdf", "courrier.pdf", "annexe.pdf"], "sortie/dossier complet.pdf")
        assert written == str((tmp_path / "sortie" / "dossier complet.pdf").resolve())
        assert page_texts(written) == ["Annexe signée", *PAGES, "Annexe signée"]
        assert artifacts == [(Path(written), "output", "written by pdf.merge")]
        assert leftovers(tmp_path / "sortie") == []

    def test_an_unreadable_part_leaves_no_output(self, pdf: Pdf, tmp_path: Path, courrier: Path) -> None:
        (tmp_path / "faux.pdf").write_bytes(b"rien")
        with pytest.raises(BusinessError):
            pdf.merge(["courrier.pdf", "faux.pdf"], "dossier.pdf")
        assert not (tmp_path / "dossier.pdf").exists()

    def test_splits_into_one_file_per_page(self, pdf: Pdf, tmp_path: Path, courrier: Path) -> None:
        written = pdf.split("courrier.pdf", "pages")
        assert [Path(path).name for path in written] == [
            "courrier_p1.pdf",
            "courrier_p2.pdf",
            "courrier_p3.pdf",
        ]
        assert [page_texts(path) for path in written] == [[text] for text in PAGES]

    def test_splits_by_page_ranges(self, pdf: Pdf, tmp_path: Path, courrier: Path) -> None:
        written = pdf.split("courrier.pdf", "parts", ranges=["1-2", "3-"])
        assert [Path(path).name for path in written] == ["courrier_p1-2.pdf", "courrier_p3.pdf"]
        assert [page_texts(path) for path in written] == [PAGES[:2], PAGES[2:]]
        assert leftovers(tmp_path / "parts") == []


class TestForms:
    def test_reads_text_fields_and_check_boxes(self, pdf: Pdf, formulaire: Path) -> None:
        assert pdf.read_form_fields("formulaire.pdf") == {"nom": "", "commune": "Lyon", "urgent": False}

    def test_a_file_without_a_form_has_no_fields(self, pdf: Pdf, courrier: Path) -> None:
        assert pdf.read_form_fields("courrier.pdf") == {}

    def test_fills_text_fields_and_check_boxes(self, pdf: Pdf, tmp_path: Path, formulaire: Path) -> None:
        before = formulaire.read_bytes()
        written = pdf.fill_form("formulaire.pdf", {"nom": "Éloïse Lefèvre", "urgent": True}, "rempli.pdf")
        assert pdf.read_form_fields(written) == {"nom": "Éloïse Lefèvre", "commune": "Lyon", "urgent": True}
        assert formulaire.read_bytes() == before
        annotations = PdfReader(written).pages[0]["/Annots"]
        assert isinstance(annotations, ArrayObject)
        widget = next(a.get_object() for a in annotations if a.get_object()["/T"] == "urgent")
        assert widget["/AS"] == "/Oui"  # the check box shows its own "on" appearance

    def test_unticks_a_check_box(self, pdf: Pdf, tmp_path: Path) -> None:
        (tmp_path / "coche.pdf").write_bytes(make_pdf(["x"], {}, {"urgent": True}))
        written = pdf.fill_form("coche.pdf", {"urgent": False}, "decoche.pdf")
        assert pdf.read_form_fields(written) == {"urgent": False}

    def test_flattened_values_become_page_text(self, pdf: Pdf, formulaire: Path) -> None:
        written = pdf.fill_form("formulaire.pdf", {"nom": "Éloïse Lefèvre"}, "fige.pdf", flatten=True)
        assert pdf.read_form_fields(written) == {}
        assert "Éloïse Lefèvre" in pdf.read_text(written)

    def test_an_unknown_field_is_a_configuration_error_with_a_suggestion(
        self, pdf: Pdf, formulaire: Path
    ) -> None:
        with pytest.raises(ConfigurationError, match="no form field named 'noms'") as caught:
            pdf.fill_form("formulaire.pdf", {"noms": "x"}, "rempli.pdf")
        assert caught.value.hint == "did you mean 'nom'? its fields are: nom, commune, urgent"
        assert not (formulaire.parent / "rempli.pdf").exists()

    def test_a_file_without_a_form_cannot_be_filled(self, pdf: Pdf, courrier: Path) -> None:
        with pytest.raises(ConfigurationError, match="has no form fields"):
            pdf.fill_form("courrier.pdf", {"nom": "x"}, "rempli.pdf")
