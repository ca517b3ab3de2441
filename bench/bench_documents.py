"""Reading and filing documents: seconds per text PDF, per scanned page (OCR), peak memory on a long scan, and
documents filed per second by `files.file_by_rules` with a rule on their text (text PDFs, scans).

The documents are the generated corpus's (tests/mock_intranet/sample_documents.py), in a temporary folder. Read
through the kit's `DocumentReader` (one reading process, reused): text PDFs after one warm-up read, then
SCANS scanned letters at 200 and 300 dpi, then one scan of PAGES pages (a letter's page repeated), during which
the resident memory of the reading process and its Tesseract is sampled every 0.1 s (peak of their sum).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from pypdf import PdfWriter

from robots.files import Files
from robots.kit import DocumentReader, ReadingLimits, RobotContext
from tests.mock_intranet.sample_documents import generate_documents

SCANS = int(os.environ.get("ROBO_BENCH_DOCUMENT_SCANS", "5"))
PAGES = int(os.environ.get("ROBO_BENCH_DOCUMENT_PAGES", "200"))
LONG_SCAN_DPI = int(os.environ.get("ROBO_BENCH_DOCUMENT_DPI", "200"))


def _peak_memory_while(work: Any) -> tuple[Any, int]:
    """What `work()` returns, and the peak resident size (bytes) of this process's children meanwhile."""
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        return work(), peak[0]
    finally:
        done.set()
        sampler.join()


# The rule the filing figures use: the dossier's reference captured from the text names the folder.
FILING_RULES: list[Any] = [{"to": "dossiers/{{ match.ref }}", "matches": r"(?P<ref>DOS-\d{4}-\d{4,6})"}]


def _filed_per_second(documents: list[Path], folder: Path) -> tuple[float, int]:
    """Documents filed per second (copies; the start of the run's reading process included), and how many were filed."""
    inbox = folder / "entrants"
    inbox.mkdir(parents=True)
    for document in documents:
        (inbox / document.name).write_bytes(document.read_bytes())
    context = RobotContext(
        run_id="bench",
        workflow_name="bench",
        workflow_dir=folder,
        artifacts_dir=folder / "artifacts",
        log=lambda _line: None,
        record_artifact=lambda _path, _kind, _description: None,
    )
    files = Files(context)
    try:
        started = time.perf_counter()
        summary = files.file_by_rules(FILING_RULES, "entrants", mode="copy", review="revoir")
        elapsed = time.perf_counter() - started
    finally:
        context.shared.close()
    filed = sum(1 for entry in summary if entry["status"] == "copied")
    return round(len(documents) / elapsed, 2), filed


def run() -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="robo-bench-documents-"))
    corpus = generate_documents(folder / "corpus", scans=SCANS, images=False)
    text_pdfs = [d.path for d in corpus if d.kind == "pdf" and d.duplicate_of is None]
    scans = [d.path for d in corpus if d.kind == "scanned pdf" and d.duplicate_of is None]
    reader = DocumentReader()
    result: dict[str, Any] = {}
    try:
        reader.read(text_pdfs[0])  # starts the reading process
        started = time.perf_counter()
        for path in text_pdfs:
            reader.read(path)
        result["text_pdf_seconds_each"] = round((time.perf_counter() - started) / len(text_pdfs), 3)
        result["text_pdfs_per_second"] = round(len(text_pdfs) / (time.perf_counter() - started), 1)
        for dpi in (200, 300):
            started = time.perf_counter()
            for path in scans:
                reader.read(path, ReadingLimits(dpi=dpi))
            result[f"scanned_page_seconds_at_{dpi}_dpi"] = round(
                (time.perf_counter() - started) / len(scans), 2
            )
        if PAGES:
            writer = PdfWriter()
            for _ in range(PAGES):
                writer.append(str(scans[0]))
            long_scan = folder / "long-scan.pdf"
            writer.write(long_scan)
            limits = ReadingLimits(dpi=LONG_SCAN_DPI, seconds=PAGES * 60)
            started = time.perf_counter()
            document, peak = _peak_memory_while(lambda: reader.read(long_scan, limits))
            result[f"scan_of_{PAGES}_pages_seconds"] = round(time.perf_counter() - started, 1)
            result[f"scan_of_{PAGES}_pages_peak_mb"] = round(peak / 1024 / 1024)
            result[f"scan_of_{PAGES}_pages_characters"] = document.characters
    finally:
        reader.close()
    for kind, documents in (("text_pdfs", text_pdfs), ("scans", scans)):
        per_second, filed = _filed_per_second(documents, folder / f"filing-{kind}")
        result[f"{kind}_filed_per_second"] = per_second
        result[f"{kind}_filed"] = f"{filed}/{len(documents)}"
    return result
