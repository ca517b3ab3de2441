"""Reading documents' text (robots/kit/reading, `documents.read_text`) on a generated corpus of every kind.

The corpus (tests/mock_intranet/sample_documents.py) is written once for the module: text PDFs, .docx with
tables, .odt, text files in UTF-8 and cp1252, e-mails, scanned letters (noise, skew, image-only PDFs) and scanned
images, with accents and duplicates. Hostile files (a zip bomb, a PDF of 10 000 pages, a damaged file, an image
of 100 million pixels) are refused with the file's name and a hint, within the time and memory limits.
"""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from robots.documents import Documents
from robots.files.text import document_text
from robots.kit import (
    ApplicationError,
    BusinessError,
    ConfigurationError,
    DocumentReader,
    ReadingLimits,
    RobotContext,
)
from tests.mock_intranet.sample_documents import SampleDocument, generate_documents

OCR_DPI = 200  # the corpus's scans are 200 to 300 dpi: read at 200, a sensible speed for the suite
# Scans of the OCR rate test: 30 in `make test` (at most one missed), 60 in `make soak`.
SCANS_FOR_RATE = int(os.environ.get("ROBO_OCR_SCANS", "30"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[SampleDocument]:
    return generate_documents(tmp_path_factory.mktemp("corpus"), scans=4)


@pytest.fixture(scope="module")
def reader() -> Iterator[DocumentReader]:
    reader = DocumentReader()
    yield reader
    reader.close()


def _of_kind(corpus: list[SampleDocument], kind: str) -> list[SampleDocument]:
    return [document for document in corpus if document.kind == kind]


class TestTheCorpus:
    def test_has_60_documents_of_every_kind_with_accents_and_duplicates(
        self, corpus: list[SampleDocument]
    ) -> None:
        assert len(corpus) >= 60
        suffixes = {document.path.suffix for document in corpus}
        assert {".pdf", ".docx", ".odt", ".txt", ".md", ".csv", ".eml", ".png", ".jpg", ".tif"} <= suffixes
        assert any(not name.isascii() for name in (document.path.name for document in corpus))
        copies = [document for document in corpus if document.duplicate_of is not None]
        assert copies and all(
            copy.path.read_bytes() == copy.duplicate_of.read_bytes() for copy in copies if copy.duplicate_of
        )

    def test_is_the_same_for_the_same_seed(self, tmp_path: Path) -> None:
        first = generate_documents(tmp_path / "a", scans=1, images=False)
        second = generate_documents(tmp_path / "b", scans=1, images=False)
        assert [(d.path.name, d.phrases) for d in first] == [(d.path.name, d.phrases) for d in second]
        for one, other in zip(first, second, strict=True):
            if one.path.suffix in (".txt", ".md", ".csv", ".odt"):
                assert one.path.read_bytes() == other.path.read_bytes(), one.path.name

    def test_windows_text_files_are_really_cp1252(self, corpus: list[SampleDocument]) -> None:
        windows = [document for document in corpus if "(Windows)" in document.path.name]
        assert windows
        for document in windows:
            with pytest.raises(UnicodeDecodeError):
                document.path.read_bytes().decode("utf-8")


class TestTextOfEachKind:
    @pytest.mark.parametrize("kind", ["pdf", "docx", "odt", "text", "email"])
    def test_every_document_is_read_with_its_accents(
        self, corpus: list[SampleDocument], reader: DocumentReader, kind: str
    ) -> None:
        documents = _of_kind(corpus, kind)
        assert documents
        for document in documents:
            read = reader.read(document.path)
            assert str(read.kind) == kind, document.path.name
            missing = [phrase for phrase in document.phrases if phrase not in read.text]
            assert not missing, f"{document.path.name}: {missing} not in {read.text!r}"
            assert (read.pages, read.ocr, read.confidence) == (1, False, None)
            assert read.characters == len(read.text) > 0

    def test_a_docx_table_comes_in_reading_order(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        document = _of_kind(corpus, "docx")[0]
        lines = reader.read(document.path).text.splitlines()
        header = lines.index("Dossier | SIRET | Montant | Date")
        assert lines[header + 1].startswith(f"{document.reference} | ")
        assert (
            lines.index("Madame, Monsieur,")
            < header
            < next(index for index, line in enumerate(lines) if line.startswith("Je vous prie"))
        )

    def test_an_email_gives_its_headers_its_html_body_as_text_and_its_attachments(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        html_only = [d for d in _of_kind(corpus, "email") if b"text/plain" not in d.path.read_bytes()]
        assert html_only
        text = reader.read(html_only[0].path).text
        assert text.startswith("Subject: ") and f"dossier {html_only[0].reference}" in text.splitlines()[0]
        assert "<p>" not in text and "alert(" not in text and "margin" not in text
        attached = [d for d in _of_kind(corpus, "email") if b"filename" in d.path.read_bytes()]
        assert "Attachments: pièce DOS-" in reader.read(attached[0].path).text

    def test_a_french_text_is_said_french(self, corpus: list[SampleDocument], reader: DocumentReader) -> None:
        assert reader.read(_of_kind(corpus, "pdf")[0].path).language == "fr"

    def test_an_english_text_is_said_english(self, tmp_path: Path, reader: DocumentReader) -> None:
        path = tmp_path / "letter.txt"
        path.write_text(
            "Dear Sir, please find attached the form for the renewal of your licence.", encoding="utf-8"
        )
        assert reader.read(path).language == "en"


class TestScans:
    def test_a_scanned_pdf_is_read_by_ocr_with_its_confidence_and_pages(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        document = _of_kind(corpus, "scanned pdf")[0]
        started = time.monotonic()
        read = reader.read(document.path, ReadingLimits(dpi=OCR_DPI))
        print(f"\none scanned page read in {time.monotonic() - started:.1f} s, confidence {read.confidence}")
        assert (str(read.kind), read.pages, read.ocr) == ("scanned pdf", 1, True)
        assert read.confidence is not None and 60 <= read.confidence <= 100
        assert document.reference in read.text
        assert read.language == "fr"

    def test_a_scanned_image_is_read_by_ocr(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        document = next(d for d in _of_kind(corpus, "image") if d.path.suffix == ".jpg")
        read = reader.read(document.path)
        assert (str(read.kind), read.pages, read.ocr) == ("image", 1, True)
        assert document.reference in read.text

    def test_without_ocr_a_scan_has_no_text(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        read = reader.read(_of_kind(corpus, "scanned pdf")[0].path, ReadingLimits(ocr="never"))
        assert (read.text.strip(), read.ocr, str(read.kind)) == ("", False, "pdf")

    def test_a_pdf_of_a_text_page_and_a_scanned_page_gives_both(
        self, corpus: list[SampleDocument], reader: DocumentReader, tmp_path: Path
    ) -> None:
        text_pdf, scan = _of_kind(corpus, "pdf")[0], _of_kind(corpus, "scanned pdf")[1]
        writer = PdfWriter()
        writer.append(str(text_pdf.path))
        writer.append(str(scan.path))
        mixed = tmp_path / "mixed.pdf"
        writer.write(mixed)
        read = reader.read(mixed, ReadingLimits(dpi=OCR_DPI))
        assert (read.pages, read.ocr) == (2, True)
        assert text_pdf.reference in read.text and scan.reference in read.text

    def test_the_files_robot_reads_a_scan_with_the_same_reader(self, corpus: list[SampleDocument]) -> None:
        document = _of_kind(corpus, "scanned pdf")[0]
        text = document_text(document.path)
        assert text is not None and document.reference in text

    @pytest.mark.slow
    @pytest.mark.timeout(1800)
    def test_ocr_finds_the_reference_in_95_percent_of_the_scans(self, tmp_path: Path) -> None:
        corpus = generate_documents(tmp_path, scans=SCANS_FOR_RATE, images=False, seed=7)
        scans = [d for d in corpus if d.kind == "scanned pdf"]
        scans = [d for d in scans if d.duplicate_of is None]
        assert len(scans) == SCANS_FOR_RATE
        reader = DocumentReader()
        found, confidences, started = 0, [], time.monotonic()
        try:
            for document in scans:
                read = reader.read(document.path, ReadingLimits(dpi=OCR_DPI))
                found += document.reference in read.text
                confidences.append(read.confidence or 0)
        finally:
            reader.close()
        rate, seconds = found / len(scans), (time.monotonic() - started) / len(scans)
        print(
            f"\nreference found in {found}/{len(scans)} scans ({rate:.1%}), {seconds:.1f} s a page, "
            f"mean confidence {sum(confidences) / len(confidences):.1f}"
        )
        assert rate >= 0.95


class TestHostileDocuments:
    def test_a_zip_bomb_docx_is_refused_unopened(self, tmp_path: Path, reader: DocumentReader) -> None:
        bomb = tmp_path / "facture.docx"
        with (
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open("word/document.xml", "w") as out,
        ):
            chunk = b"\0" * (1 << 20)
            for _ in range(210):
                out.write(chunk)
        assert bomb.stat().st_size < 2_000_000
        with pytest.raises(BusinessError) as raised:
            reader.read(bomb)
        assert "facture.docx unpacks to more than 200 MB" in raised.value.message
        assert raised.value.hint

    def test_a_pdf_of_10000_pages_is_refused_by_the_page_limit(
        self, tmp_path: Path, reader: DocumentReader
    ) -> None:
        writer = PdfWriter()
        for _ in range(10_000):
            writer.add_blank_page(595, 842)
        huge = tmp_path / "annexes.pdf"
        writer.write(huge)
        with pytest.raises(BusinessError) as raised:
            reader.read(huge)
        assert raised.value.message == "annexes.pdf has 10,000 pages, more than the limit of 500"
        assert "max_pages" in (raised.value.hint or "")

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            (
                "courrier.pdf",
                b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>",
            ),
            ("contrat.docx", b"this is not a zip archive"),
            ("note.odt", b"PK\x03\x04 broken"),
            ("scan.png", b"\x89PNG\r\n\x1a\n broken"),
            ("message.msg", b"not an Outlook message"),
            ("binaire.txt", b"\x00\x01\x02\xff\xfe\x00" * 100),
        ],
    )
    def test_a_damaged_file_is_refused_with_its_name_and_a_hint(
        self, tmp_path: Path, reader: DocumentReader, name: str, content: bytes
    ) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(BusinessError) as raised:
            reader.read(path)
        assert raised.value.message.startswith(f"{name} cannot be read as ")
        assert raised.value.hint and "Traceback" not in str(raised.value.cause)

    @pytest.mark.parametrize(("side", "millions"), [(10_000, 100), (7_100, 50)])
    def test_an_image_over_40_million_pixels_is_refused(
        self, tmp_path: Path, reader: DocumentReader, side: int, millions: int
    ) -> None:
        bomb = tmp_path / "scan.png"
        Image.new("1", (side, side), 1).save(bomb)
        with pytest.raises(BusinessError, match=rf"scan\.png is an image of {millions} million pixels"):
            reader.read(bomb)

    def test_a_document_over_the_memory_limit_is_refused(
        self, tmp_path: Path, reader: DocumentReader
    ) -> None:
        big = tmp_path / "affiche.png"
        Image.new("RGB", (6300, 6300), (255, 255, 255)).save(big)
        with pytest.raises(BusinessError, match=r"affiche\.png needs more than 256 MB of memory"):
            reader.read(big, ReadingLimits(memory_mb=256))

    def test_a_document_over_the_time_limit_is_stopped_and_the_next_one_is_read(
        self, corpus: list[SampleDocument], reader: DocumentReader
    ) -> None:
        scan, text = _of_kind(corpus, "scanned pdf")[0], _of_kind(corpus, "text")[0]
        started = time.monotonic()
        with pytest.raises(ApplicationError) as raised:
            reader.read(scan.path, ReadingLimits(seconds=0.3))
        assert time.monotonic() - started < 5
        assert raised.value.message == f"{scan.path.name} was not read within 0.3 s"
        assert text.reference in reader.read(text.path).text

    def test_an_unknown_type_is_refused_with_the_readable_ones(
        self, tmp_path: Path, reader: DocumentReader
    ) -> None:
        path = tmp_path / "tableau.xlsx"
        path.write_bytes(b"PK")
        with pytest.raises(BusinessError) as raised:
            reader.read(path)
        assert raised.value.message == "tableau.xlsx: the text of a .xlsx file cannot be read"
        assert ".docx" in (raised.value.hint or "")
        (tmp_path / "LISEZMOI").write_text("texte", encoding="utf-8")
        with pytest.raises(BusinessError, match="LISEZMOI: a file without an extension cannot be read"):
            reader.read(tmp_path / "LISEZMOI")

    def test_template_syntax_in_a_document_is_only_text(self, tmp_path: Path, reader: DocumentReader) -> None:
        path = tmp_path / "piège.txt"
        path.write_text("Référence {{ secrets.mot_de_passe }} {% for x in y %}", encoding="utf-8")
        assert reader.read(path).text == "Référence {{ secrets.mot_de_passe }} {% for x in y %}"


class TestTheAction:
    @pytest.fixture
    def robot(self, robot_context: RobotContext) -> Iterator[Documents]:
        robot = Documents(robot_context)
        yield robot
        robot.close()
        robot_context.shared.close()

    def test_read_text_returns_the_record(
        self, robot: Documents, corpus: list[SampleDocument], tmp_path: Path, logs: list[str]
    ) -> None:
        source = next(d for d in _of_kind(corpus, "text") if "(Windows)" in d.path.name)
        copy = tmp_path / source.path.name
        copy.write_bytes(source.path.read_bytes())
        record = robot.read_text(copy.name)
        assert set(record) == {"text", "pages", "kind", "ocr", "confidence", "language", "characters"}
        assert source.phrases[1] in record["text"] and record["kind"] == "text"
        assert record["characters"] == len(record["text"]) and not logs

    def test_a_scan_read_by_the_action_is_logged_with_its_confidence(
        self, robot: Documents, corpus: list[SampleDocument], logs: list[str]
    ) -> None:
        scan = _of_kind(corpus, "scanned pdf")[0]
        record = robot.read_text(str(scan.path), dpi=OCR_DPI)
        assert record["ocr"] and record["kind"] == "scanned pdf" and scan.reference in record["text"]
        assert logs and logs[0].startswith(f"{scan.path.name}: 1 read by OCR, confidence ")

    def test_a_missing_document_says_so(self, robot: Documents) -> None:
        with pytest.raises(ConfigurationError, match="document not found"):
            robot.read_text("absent.pdf")

    def test_the_page_limit_is_the_steps(
        self, robot: Documents, corpus: list[SampleDocument], tmp_path: Path
    ) -> None:
        writer = PdfWriter()
        for _ in range(3):
            writer.append(str(_of_kind(corpus, "pdf")[0].path))
        three = tmp_path / "trois.pdf"
        writer.write(three)
        assert robot.read_text(three.name, max_pages=3)["pages"] == 3
        with pytest.raises(BusinessError, match=r"trois\.pdf has 3 pages, more than the limit of 2"):
            robot.read_text(three.name, max_pages=2)


class TestBoundedMemory:
    def test_rendering_a_long_scan_keeps_few_pages_in_memory(
        self, corpus: list[SampleDocument], tmp_path: Path
    ) -> None:
        import psutil

        from robots.kit.reading.scans import render_pdf_pages

        scan = max((d.path for d in _of_kind(corpus, "scanned pdf")), key=lambda path: path.stat().st_size)
        writer = PdfWriter()
        for _ in range(100):
            writer.append(str(scan))
        long = tmp_path / "long.pdf"
        writer.write(long)
        del writer
        process = psutil.Process()
        before, peak = process.memory_info().rss, 0
        for _number, image in render_pdf_pages(long, range(100), ReadingLimits(dpi=72)):
            assert image.width > 500
            peak = max(peak, process.memory_info().rss)
        # pdfium keeps a document's decoded images until it closes: 100 pages of this scan held ~200 MB
        assert peak - before < 100_000_000

    def test_the_text_layer_of_a_long_scan_is_read_without_holding_its_images(
        self, corpus: list[SampleDocument], tmp_path: Path
    ) -> None:
        import psutil

        from robots.kit.reading.pdf import read_pdf

        scan = max((d.path for d in _of_kind(corpus, "scanned pdf")), key=lambda path: path.stat().st_size)
        writer = PdfWriter()
        for _ in range(60):
            writer.append(str(scan))
        long = tmp_path / "long.pdf"
        writer.write(long)
        del writer
        assert long.stat().st_size > 40_000_000
        process = psutil.Process()
        before = process.memory_info().rss
        document = read_pdf(long, ReadingLimits(ocr="never"))
        assert document.pages == 60
        assert process.memory_info().rss - before < 25_000_000


class TestTheReadingProcess:
    def test_it_stops_with_its_tesseract_when_the_robots_process_is_killed(
        self, corpus: list[SampleDocument], tmp_path: Path
    ) -> None:
        import signal
        import subprocess
        import sys

        import psutil

        from tests.waiting import wait_until

        writer = PdfWriter()
        for _ in range(30):
            writer.append(str(_of_kind(corpus, "scanned pdf")[0].path))
        long = tmp_path / "long.pdf"
        writer.write(long)
        robot = subprocess.Popen(
            [
                sys.executable,
                "-c",
                (
                    "import sys; from pathlib import Path; from robots.kit import DocumentReader, ReadingLimits; "
                    "DocumentReader().read(Path(sys.argv[1]), ReadingLimits(dpi=200))"
                ),
                str(long),
            ]
        )
        try:
            tesseract = wait_until(
                lambda: next(
                    (
                        p
                        for p in psutil.Process(robot.pid).children(recursive=True)
                        if p.name() == "tesseract"
                    ),
                    None,
                ),
                timeout=60,
            )
            worker = tesseract.parent()
            assert worker is not None and "robots.kit.reading.worker" in " ".join(worker.cmdline())
            robot.send_signal(signal.SIGKILL)
            robot.wait()
            wait_until(lambda: not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE, timeout=10)
            wait_until(
                lambda: not tesseract.is_running() or tesseract.status() == psutil.STATUS_ZOMBIE, timeout=10
            )
        finally:
            robot.kill()
            robot.wait()

    def test_a_process_grown_by_earlier_documents_still_refuses_one_over_the_memory_limit(
        self, tmp_path: Path
    ) -> None:
        # The 10 000-page PDF grows the reading process to ~180 MB; the image then needs the OCR's numpy, whose
        # OpenBLAS exits the process (instead of raising) when its buffers do not fit under the bound.
        writer = PdfWriter()
        for _ in range(10_000):
            writer.add_blank_page(595, 842)
        writer.write(tmp_path / "annexes.pdf")
        big = tmp_path / "affiche.png"
        Image.new("RGB", (6300, 6300), (255, 255, 255)).save(big)
        reader = DocumentReader()
        try:
            with pytest.raises(BusinessError, match="more than the limit of 500"):
                reader.read(tmp_path / "annexes.pdf")
            with pytest.raises(BusinessError, match=r"affiche\.png needs more than 256 MB of memory"):
                reader.read(big, ReadingLimits(memory_mb=256))
        finally:
            reader.close()

    @pytest.mark.parametrize("earlier", [0, 1], ids=["fresh", "after-a-document"])
    def test_a_process_killed_while_reading_is_refused_only_when_it_was_fresh(
        self, corpus: list[SampleDocument], earlier: int
    ) -> None:
        import signal
        import threading

        import psutil

        from tests.waiting import wait_until

        scan, text = _of_kind(corpus, "scanned pdf")[0], _of_kind(corpus, "pdf")[0]
        reader = DocumentReader()
        outcome: list[object] = []
        try:
            for _ in range(earlier):
                assert text.reference in reader.read(text.path).text

            def read() -> None:
                try:
                    outcome.append(reader.read(scan.path, ReadingLimits(dpi=OCR_DPI)))
                except ApplicationError as error:
                    outcome.append(error)

            reading = threading.Thread(target=read)
            reading.start()

            def reading_worker() -> psutil.Process | None:
                """The reading process once its Tesseract reads the page (not pytesseract's `--version` probe)."""
                for process in psutil.Process().children(recursive=True):
                    try:
                        if process.name() == "tesseract" and "--version" not in process.cmdline():
                            return process.parent()
                    except psutil.NoSuchProcess:  # ended meanwhile
                        continue
                return None

            worker = wait_until(reading_worker, timeout=60)
            assert "robots.kit.reading.worker" in " ".join(worker.cmdline())
            worker.send_signal(signal.SIGKILL)  # once: a second reading process is not killed
            reading.join(timeout=120)
        finally:
            reader.close()
        if earlier:  # read again in a fresh process: what killed the first may have been its history
            assert not isinstance(outcome[0], ApplicationError), outcome[0]
            assert scan.reference in outcome[0].text  # type: ignore[attr-defined]
        else:
            assert isinstance(outcome[0], ApplicationError)
            assert outcome[0].message == f"the process reading {scan.path.name} stopped unexpectedly"


def test_the_memory_limit_met_in_a_library_s_own_words_is_a_memory_refusal() -> None:
    import errno

    from robots.kit.reading.worker import out_of_memory

    assert out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory"))  # Tesseract could not be started
    assert out_of_memory(RuntimeError("decoder: out of memory"))
    assert not out_of_memory(OSError(errno.ENOENT, "No such file"))
    assert not out_of_memory(ValueError("broken PNG file"))
