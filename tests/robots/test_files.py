"""The `files` robot: listing, filing by rules, moves and copies that lose nothing, trash, zip, waiting."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import shutil
import stat
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from robots.files import Files
from robots.kit import ApplicationError, BusinessError, ConfigurationError, RobotContext
from tests.robots import locales


def pdf_with_text(*lines: str) -> bytes:
    """A minimal one-page PDF whose text pypdf can extract (Helvetica, WinAnsi encoding)."""

    def escape(text: str) -> bytes:
        return text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    content = (
        b"BT /F1 12 Tf 72 770 Td "
        + b" 0 -16 Td ".join(b"(" + escape(line) + b") Tj" for line in lines)
        + b" ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def write_docx(path: Path, *paragraphs: str) -> Path:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(root: Path) -> Counter[str]:
    """The multiset of the sha256 of every file under `root`."""
    return Counter(sha256(p) for p in root.rglob("*") if p.is_file())


def names(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def files(robot_context: RobotContext) -> Iterator[Files]:
    robot = Files(robot_context)
    yield robot
    robot.close()


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Files.action_specs()
        assert set(specs) == {
            "list",
            "move",
            "copy",
            "rename",
            "file_by_rules",
            "make_folder",
            "delete",
            "checksum",
            "zip",
            "unzip",
            "wait_for_file",
        }
        for spec in specs.values():
            assert spec.returns
        reading = {name for name, spec in specs.items() if not spec.side_effects}
        assert reading == {"list", "checksum", "wait_for_file"}

    def test_a_rule_without_a_condition_is_refused_before_the_run(self) -> None:
        spec = Files.action_specs()["file_by_rules"]
        assert spec.check_value("rules", [{"to": "x", "extension": "pdf"}]) is None
        assert "needs a condition: `pattern`, `extension`, `contains`" in (
            spec.check_value("rules", [{"to": "x"}]) or ""
        )
        assert spec.check_value("rules", [{"to": "x", "extention": "pdf"}]) is not None


class TestList:
    def test_records_and_filters(self, files: Files, tmp_path: Path) -> None:
        inbox = tmp_path / "entrants"
        (inbox / "sous").mkdir(parents=True)
        (inbox / "FAC-001.PDF").write_bytes(b"x" * 100)
        (inbox / "courrier.docx").write_bytes(b"x" * 10)
        (inbox / "sous" / "FAC-002.pdf").write_bytes(b"x" * 2000)
        (inbox / ".cache").write_bytes(b"x")
        (inbox / "~$courrier.docx").write_bytes(b"x")
        old = time.time() - 40 * 86_400
        os.utime(inbox / "courrier.docx", (old, old))
        listed = files.list_files("entrants")
        assert [r["name"] for r in listed] == ["FAC-001.PDF", "courrier.docx"]
        first = listed[0]
        assert first == {
            "path": str(inbox / "FAC-001.PDF"),
            "name": "FAC-001.PDF",
            "stem": "FAC-001",
            "extension": "pdf",
            "size": 100,
            "modified": first["modified"],
            "folder": str(inbox),
        }
        assert isinstance(first["modified"], dt.datetime)
        recursive = files.list_files("entrants", recursive=True, extensions=[".pdf"])
        assert [r["name"] for r in recursive] == ["FAC-001.PDF", "FAC-002.pdf"]
        assert [r["name"] for r in files.list_files("entrants", "**/*", name="fac-*", min_size=500)] == [
            "FAC-002.pdf"
        ]
        assert [r["name"] for r in files.list_files("entrants", older_than=30)] == ["courrier.docx"]
        assert [r["name"] for r in files.list_files("entrants", newer_than=30)] == ["FAC-001.PDF"]
        assert len(files.list_files("entrants", include_hidden=True)) == 4

    def test_a_missing_folder(self, files: Files) -> None:
        with pytest.raises(ConfigurationError, match="folder not found"):
            files.list_files("absent")


class TestMoveCopyRename:
    @pytest.fixture
    def doc(self, tmp_path: Path) -> Path:
        path = tmp_path / "in" / "lettre.txt"
        path.parent.mkdir()
        path.write_text("Bonjour", encoding="utf-8")
        return path

    def test_move_creates_folders_and_logs_the_sha256(
        self, files: Files, tmp_path: Path, doc: Path, logs: list[str]
    ) -> None:
        digest = sha256(doc)
        moved = files.move("in/lettre.txt", "classés/2026/RH/D1-lettre.txt")
        assert moved == str(tmp_path / "classés" / "2026" / "RH" / "D1-lettre.txt")
        assert not doc.exists() and sha256(Path(moved)) == digest
        assert logs == [f"files: moved {doc} → {moved}, sha256 {digest}"]

    def test_a_folder_target_keeps_the_name(self, files: Files, tmp_path: Path, doc: Path) -> None:
        assert files.copy(str(doc), "sortie/") == str(tmp_path / "sortie" / "lettre.txt")
        (tmp_path / "existant").mkdir()
        assert files.move(str(doc), "existant") == str(tmp_path / "existant" / "lettre.txt")

    def test_a_name_clash_fails_by_default_and_changes_nothing(
        self, files: Files, tmp_path: Path, doc: Path
    ) -> None:
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "lettre.txt").write_text("autre", encoding="utf-8")
        before = contents(tmp_path)
        with pytest.raises(BusinessError) as caught:
            files.move(str(doc), "out/lettre.txt")
        assert "already exists" in caught.value.message and "on_conflict" in (caught.value.hint or "")
        assert contents(tmp_path) == before and doc.exists()

    def test_skip_rename_and_overwrite(self, files: Files, tmp_path: Path, doc: Path) -> None:
        out = tmp_path / "out"
        out.mkdir()
        (out / "lettre.txt").write_text("autre", encoding="utf-8")
        before = contents(tmp_path)
        assert files.copy(str(doc), "out/lettre.txt", on_conflict="skip") is None
        assert files.copy(str(doc), "out/lettre.txt", on_conflict="rename") == str(out / "lettre (2).txt")
        assert files.copy(str(doc), "out/lettre.txt", on_conflict="rename") == str(out / "lettre (3).txt")
        assert files.move(str(doc), "out/lettre.txt", on_conflict="overwrite") == str(out / "lettre.txt")
        assert (out / "lettre.txt").read_text(encoding="utf-8") == "Bonjour"
        trashed = out / ".robo-trash" / dt.date.today().isoformat() / "lettre.txt"
        assert trashed.read_text(encoding="utf-8") == "autre"  # overwritten, yet not lost
        assert contents(tmp_path) == before + Counter({sha256(out / "lettre.txt"): 2})

    def test_rename_in_place(self, files: Files, tmp_path: Path, doc: Path) -> None:
        assert files.rename(str(doc), "D1.txt") == str(doc.with_name("D1.txt"))
        with pytest.raises(BusinessError, match="not a file name"):
            files.rename(str(doc.with_name("D1.txt")), "../D1.txt")

    def test_across_filesystems_a_move_is_copy_verify_delete(
        self, files: Files, tmp_path: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        link, rename = os.link, os.rename

        def other_disk(call: Any) -> Any:
            def across(source: Any, target: Any) -> None:  # "ailleurs" stands for another filesystem
                if ("ailleurs" in str(target)) != ("ailleurs" in str(source)):
                    raise OSError(errno.EXDEV, "Invalid cross-device link")
                call(source, target)

            return across

        monkeypatch.setattr(os, "link", other_disk(link))
        monkeypatch.setattr(os, "rename", other_disk(rename))
        digest = sha256(doc)
        moved = Path(files.move(str(doc), "ailleurs/lettre.txt") or "")
        assert sha256(moved) == digest and not doc.exists()
        assert names(tmp_path) == ["ailleurs/lettre.txt"]

    def test_a_copy_that_differs_keeps_the_source(
        self, files: Files, tmp_path: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_link(*args: Any) -> None:
            raise OSError(errno.EXDEV, "Invalid cross-device link")

        def bad_copy(source: Path, target: Path) -> None:
            Path(target).write_bytes(b"damaged")

        monkeypatch.setattr(os, "link", no_link)
        monkeypatch.setattr(shutil, "copy2", bad_copy)
        with pytest.raises(ApplicationError, match="differs from the original"):
            files.move(str(doc), "ailleurs/lettre.txt")
        assert names(tmp_path) == ["in/lettre.txt"]

    def test_a_filesystem_without_hard_links(
        self, files: Files, tmp_path: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refuse(*args: Any) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", refuse)
        files.move(str(doc), "a/lettre.txt")
        files.copy(str(tmp_path / "a" / "lettre.txt"), "b/lettre.txt")
        with pytest.raises(BusinessError, match="already exists"):
            files.copy(str(tmp_path / "a" / "lettre.txt"), "b/lettre.txt")
        assert names(tmp_path) == ["a/lettre.txt", "b/lettre.txt"]

    def test_a_missing_source(self, files: Files) -> None:
        with pytest.raises(ConfigurationError, match="file not found"):
            files.move("absent.txt", "x.txt")


class TestDeleteAndChecksum:
    def test_delete_moves_to_a_dated_trash_beside_the_file(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        (tmp_path / "a.txt").write_text("1", encoding="utf-8")
        digest = sha256(tmp_path / "a.txt")
        first = files.delete("a.txt")
        (tmp_path / "a.txt").write_text("2", encoding="utf-8")
        second = files.delete("a.txt")
        day = tmp_path / ".robo-trash" / dt.date.today().isoformat()
        assert (first, second) == (str(day / "a.txt"), str(day / "a (2).txt"))
        assert digest in logs[0] and "deleted (to the trash)" in logs[0]

    def test_another_trash_permanent_and_missing_ok(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        (tmp_path / "a.txt").write_text("1", encoding="utf-8")
        (tmp_path / "b.txt").write_text("2", encoding="utf-8")
        assert files.delete("a.txt", trash="corbeille") == str(
            tmp_path / "corbeille" / dt.date.today().isoformat() / "a.txt"
        )
        assert files.delete("b.txt", permanent=True) is None
        assert not (tmp_path / "b.txt").exists() and "permanently" in logs[-1]
        assert files.delete("b.txt", missing_ok=True) is None
        with pytest.raises(ConfigurationError):
            files.delete("b.txt")

    def test_checksum(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "a.bin").write_bytes(b"abc")
        assert files.checksum("a.bin") == hashlib.sha256(b"abc").hexdigest()
        assert files.checksum("a.bin", "md5") == hashlib.md5(b"abc").hexdigest()


class TestZip:
    def test_round_trip(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "dossier" / "pièces").mkdir(parents=True)
        (tmp_path / "dossier" / "pièces" / "é.txt").write_text("é", encoding="utf-8")
        (tmp_path / "dossier" / "a.txt").write_text("a", encoding="utf-8")
        archive = files.zip_files(["dossier"], "envoi.zip")
        with zipfile.ZipFile(archive) as bundle:
            assert sorted(bundle.namelist()) == ["dossier/a.txt", "dossier/pièces/é.txt"]
        with pytest.raises(BusinessError):
            files.zip_files("dossier", "envoi.zip")
        extracted = files.unzip("envoi.zip", "sortie")
        assert sorted(Path(p).relative_to(tmp_path / "sortie").as_posix() for p in extracted) == [
            "dossier/a.txt",
            "dossier/pièces/é.txt",
        ]
        again = files.unzip("envoi.zip", "sortie", on_conflict="rename")
        assert sorted(Path(p).name for p in again) == ["a (2).txt", "é (2).txt"]

    @pytest.mark.parametrize(
        "member", ["../évadé.txt", "a/../../évadé.txt", "/tmp/évadé.txt", "C:/évadé.txt"]
    )
    def test_zip_slip_is_refused_and_nothing_is_extracted(
        self, files: Files, tmp_path: Path, member: str
    ) -> None:
        with zipfile.ZipFile(tmp_path / "piège.zip", "w") as bundle:
            bundle.writestr("bon.txt", "ok")
            bundle.writestr(member, "ko")
        with pytest.raises(BusinessError, match=r"is refused"):
            files.unzip("piège.zip", "sortie/ici")
        assert not (tmp_path / "sortie" / "ici" / "bon.txt").exists()
        assert not list(tmp_path.rglob("évadé.txt")) and not Path("/tmp/évadé.txt").exists()

    def test_a_symbolic_link_member_is_refused(self, files: Files, tmp_path: Path) -> None:
        with zipfile.ZipFile(tmp_path / "lien.zip", "w") as bundle:
            info = zipfile.ZipInfo("lien")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
        with pytest.raises(BusinessError, match="symbolic link"):
            files.unzip("lien.zip", "sortie")

    def test_not_a_zip(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "faux.zip").write_text("texte", encoding="utf-8")
        with pytest.raises(BusinessError, match="not a zip archive"):
            files.unzip("faux.zip", "sortie")


class TestWaitForFile:
    def test_sees_a_file_written_by_another_thread(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        (tmp_path / "depot").mkdir()

        def export() -> None:
            time.sleep(0.3)
            partial = tmp_path / "depot" / "export.csv.crdownload"
            partial.write_text("a;b\n", encoding="utf-8")
            time.sleep(0.2)
            partial.rename(tmp_path / "depot" / "export.csv")

        writer = threading.Thread(target=export)
        started = time.monotonic()
        writer.start()
        try:
            found = files.wait_for_file("depot", "export*", timeout=10, stable_for=0.2, interval=0.05)
        finally:
            writer.join()
        assert found == str(tmp_path / "depot" / "export.csv")
        assert 0.5 <= time.monotonic() - started < 5
        assert "arrived" in logs[-1] and sha256(Path(found)) in logs[-1]

    def test_times_out_with_a_retryable_error(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "depot").mkdir()
        (tmp_path / "depot" / "ancien.csv").write_text("x", encoding="utf-8")
        started = time.monotonic()
        with pytest.raises(ApplicationError, match=r"no file '\*\.csv' arrived"):
            files.wait_for_file("depot", "*.csv", timeout=0.3, stable_for=0, interval=0.05, new_only=True)
        assert time.monotonic() - started < 2
        assert files.wait_for_file("depot", "*.csv", timeout=1, stable_for=0) == str(
            tmp_path / "depot" / "ancien.csv"
        )


RULES: list[dict[str, Any]] = [
    {"name": "Factures", "contains": "facture n°", "to": "classés/factures/{{ file.modified.year }}"},
    {"name": "Arrêtés", "pattern": ["ARR-*", "arrete-*"], "to": "classés/arrêtés"},
    {"extension": ["docx", "odt"], "to": "classés/courriers/{{ file.extension }}"},
]


class TestFileByRules:
    def test_rules_in_order_by_text_name_and_extension(self, files: Files, tmp_path: Path) -> None:
        inbox = tmp_path / "entrants"
        inbox.mkdir()
        (inbox / "scan-1.pdf").write_bytes(pdf_with_text("FACTURE N° 2026-042", "Montant : 120 €"))
        (inbox / "note.txt").write_text("Rappel : facture  n° 7 impayée", encoding="cp1252")
        (inbox / "ARR-2026-01.pdf").write_bytes(pdf_with_text("Arrêté municipal"))
        write_docx(
            inbox / "courrier.docx", "Madame, Monsieur,", "Veuillez trouver ci-joint la Facture n° 99."
        )
        write_docx(inbox / "reponse.docx", "Réponse à votre demande")
        (inbox / "photo.jpg").write_bytes(b"\xff\xd8")
        year = dt.date.today().year
        summary = files.file_by_rules(RULES, "entrants")  # type: ignore[arg-type]
        placed = {Path(e["source"]).name: (e["rule"], e["status"], e["destination"]) for e in summary}
        factures = tmp_path / "classés" / "factures" / str(year)
        assert placed == {
            "ARR-2026-01.pdf": (
                "Arrêtés",
                "moved",
                str(tmp_path / "classés" / "arrêtés" / "ARR-2026-01.pdf"),
            ),
            "courrier.docx": ("Factures", "moved", str(factures / "courrier.docx")),
            "note.txt": ("Factures", "moved", str(factures / "note.txt")),
            "photo.jpg": (None, "left", None),
            "reponse.docx": (
                "rule 3: extension ['docx', 'odt']",
                "moved",
                str(tmp_path / "classés" / "courriers" / "docx" / "reponse.docx"),
            ),
            "scan-1.pdf": ("Factures", "moved", str(factures / "scan-1.pdf")),
        }
        assert names(inbox) == ["photo.jpg"]

    def test_default_copy_mode_and_a_list_of_files(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "a.jpg").write_bytes(b"a")
        (tmp_path / "ARR-1.txt").write_bytes(b"b")
        summary = files.file_by_rules(
            RULES,  # type: ignore[arg-type]
            files=[str(tmp_path / "a.jpg"), {"path": str(tmp_path / "ARR-1.txt")}],
            default="autres/{{ file.extension | upper }}",
            mode="copy",
        )
        assert [(e["rule"], e["status"]) for e in summary] == [("default", "copied"), ("Arrêtés", "copied")]
        assert names(tmp_path) == ["ARR-1.txt", "a.jpg", "autres/JPG/a.jpg", "classés/arrêtés/ARR-1.txt"]

    def test_a_bad_template_is_a_clear_error(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "a.pdf").write_bytes(b"a")
        with pytest.raises(ConfigurationError, match="cannot render") as caught:
            files.file_by_rules([{"extension": "pdf", "to": "{{ file.annee }}"}], "in")  # type: ignore[list-item]
        assert "stem" in (caught.value.hint or "")
        with pytest.raises(ConfigurationError, match="not valid"):
            files.file_by_rules([{"extension": "pdf", "to": "{{ file.stem"}], "in")  # type: ignore[list-item]
        assert names(tmp_path) == ["in/a.pdf"]

    @pytest.fixture
    def five_hundred(self, tmp_path: Path) -> Path:
        """500 documents in 5 sub-folders that reuse the same names, and a destination already holding some."""
        inbox = tmp_path / "entrants"
        for index in range(500):
            folder = inbox / f"lot-{index % 5}"
            folder.mkdir(parents=True, exist_ok=True)
            kind = ["facture", "arrete", "courrier", "divers"][index % 4]
            (folder / f"{kind}-{index // 20:02d}.txt").write_text(f"{kind} n° {index}\n", encoding="utf-8")
        taken = tmp_path / "classés" / "factures"
        taken.mkdir(parents=True)
        for index in range(0, 25, 2):
            (taken / f"facture-{index:02d}.txt").write_text(f"déjà là {index}", encoding="utf-8")
        return tmp_path

    RULES_500: list[dict[str, Any]] = [  # noqa: RUF012
        {"pattern": "facture-*", "to": "classés/factures"},
        {"contains": "arrete n°", "to": "classés/arrêtés"},
        {"extension": "txt", "pattern": "courrier-*", "to": "classés/courriers"},
    ]

    @pytest.mark.parametrize("on_conflict", ["rename", "skip", "overwrite"])
    def test_five_hundred_documents_lose_none(
        self, files: Files, five_hundred: Path, on_conflict: Any
    ) -> None:
        before = contents(five_hundred)
        summary = files.file_by_rules(
            self.RULES_500,  # type: ignore[arg-type]
            "entrants",
            recursive=True,
            on_conflict=on_conflict,
        )
        assert contents(five_hundred) == before
        assert len(summary) == 500
        statuses = Counter(entry["status"] for entry in summary)
        assert statuses["left"] == 125  # the "divers" documents match no rule
        left_in_inbox = len(names(five_hundred / "entrants"))
        if on_conflict == "rename":
            assert statuses == {"moved": 375, "left": 125}
            assert left_in_inbox == 125
            assert (five_hundred / "classés" / "factures" / "facture-00 (2).txt").exists()
        elif on_conflict == "skip":
            assert statuses["skipped"] > 0 and left_in_inbox == 125 + statuses["skipped"]
            assert len(names(five_hundred / "classés")) == 13 + statuses["moved"]
        else:
            assert statuses == {"moved": 375, "left": 125}
            trash = five_hundred / "classés" / "factures" / ".robo-trash"
            assert (
                len(names(trash)) == 125 - 25 + 13
            )  # each replaced name keeps its earlier file in the trash

    def test_fail_checks_every_destination_first_and_moves_nothing(
        self, files: Files, five_hundred: Path
    ) -> None:
        before = names(five_hundred)
        with pytest.raises(BusinessError) as caught:
            files.file_by_rules(self.RULES_500, "entrants", recursive=True)  # type: ignore[arg-type]
        assert "nothing was filed" in caught.value.message
        assert names(five_hundred) == before


spoken = locales.spoken


class TestInFrenchAndEnglish:
    """What a person reads of the files robot, under `LANG=fr_FR.UTF-8` in French and under `LANG=C` in English."""

    RULES: ClassVar[list[dict[str, str]]] = [{"to": "classés", "extension": "pdf"}]

    def test_a_filing_rule_conflict(self, files: Files, tmp_path: Path, spoken: str) -> None:
        (tmp_path / "entrants").mkdir()
        (tmp_path / "entrants" / "FAC-1.pdf").write_bytes(b"nouvelle")
        (tmp_path / "classés").mkdir()
        (tmp_path / "classés" / "FAC-1.pdf").write_bytes(b"ancienne")
        with pytest.raises(BusinessError) as caught:
            files.file_by_rules(self.RULES, "entrants")  # type: ignore[arg-type]
        taken = tmp_path / "classés" / "FAC-1.pdf"
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"files.file_by_rules : 1 destination déjà prise, rien n'a été classé : {taken}",
                (
                    "choisissez `on_conflict: skip_identical` (classe une seule fois les mêmes octets, garde les "
                    "différents sous « nom (2).ext »), `rename` (garde les deux), `skip` ou `overwrite`"
                ),
            ),
            "en": (
                f"files.file_by_rules: 1 destination already taken, nothing was filed: {taken}",
                (
                    "choose `on_conflict: skip_identical` (files the same bytes once, keeps different ones as "
                    "'name (2).ext'), `rename` (keeps both), `skip` or `overwrite`"
                ),
            ),
        }[spoken]
        assert (tmp_path / "entrants" / "FAC-1.pdf").read_bytes() == b"nouvelle"

    def test_the_summary_line_and_the_rule_label(
        self, files: Files, tmp_path: Path, logs: list[str], spoken: str
    ) -> None:
        (tmp_path / "entrants").mkdir()
        for name in ("FAC-1.pdf", "FAC-2.pdf", "note.txt"):
            (tmp_path / "entrants" / name).write_text(name)
        summary = files.file_by_rules(self.RULES, "entrants")  # type: ignore[arg-type]
        assert (
            logs[-1]
            == {
                "fr": "files.file_by_rules : 2 fichiers déplacés sur 3",
                "en": "files.file_by_rules: 2 of 3 files moved",
            }[spoken]
        )
        assert summary[0]["rule"] == {"fr": "règle 1 : extension pdf", "en": "rule 1: extension pdf"}[spoken]

    def test_a_rule_without_a_condition(self, files: Files, spoken: str) -> None:
        with pytest.raises(ValueError) as caught:
            files.file_by_rules([{"to": "classés"}], ".")  # type: ignore[list-item]
        assert {
            "fr": "une règle de classement demande une condition : `pattern`, `extension`, `contains`",
            "en": "a filing rule needs a condition: `pattern`, `extension`, `contains`",
        }[spoken] in str(caught.value)

    def test_a_missing_folder(self, files: Files, tmp_path: Path, spoken: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            files.list_files("absent")
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"dossier introuvable : {tmp_path / 'absent'}",
                "vérifiez le chemin ; un chemin relatif part du dossier du workflow",
            ),
            "en": (
                f"folder not found: {tmp_path / 'absent'}",
                "check the path; a relative path starts from the workflow's folder",
            ),
        }[spoken]
