"""Filing by what documents say: rules that capture, the review folder, and `skip_identical` (no duplicate copies).

Captures come from documents, so they are hostile: traversal, absolute paths, control characters, reserved
names and template syntax must never move a file out of its rule's folder nor be evaluated.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robots.files import Files
from robots.kit import BusinessError, RobotContext
from tests.robots import locales
from tests.robots.test_files import pdf_with_text, write_docx
from tests.waiting import wait_until

spoken = locales.spoken

DOSSIERS: Any = {"to": "dossiers/{{ match.ref }}", "matches": r"(?P<ref>DOS-\d{4}-\d{4})", "name": "Dossiers"}
NFD = "releve\u0301"  # "relevé" with its accent as a separate character, as macOS writes names
NFC = "relevé"


@pytest.fixture
def files(robot_context: RobotContext) -> Iterator[Files]:
    robot = Files(robot_context)
    yield robot
    robot.close()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones included) with its bytes, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def visible(root: Path) -> list[str]:
    return sorted(name for name in tree(root) if not any(part.startswith(".") for part in name.split("/")))


def inbox(root: Path, documents: dict[str, str | bytes]) -> Path:
    folder = root / "entrants"
    for name, body in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode() if isinstance(body, str) else body)
    return folder


def filing_script(mode: str) -> str:
    """A Python program filing `entrants` under the folder given as its first argument, as a run of its own."""
    return textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from robots.files import Files
        from robots.kit import RobotContext
        root = Path(sys.argv[1])
        context = RobotContext(run_id=sys.argv[2], workflow_name="t", workflow_dir=root,
                               artifacts_dir=root / "artifacts")
        rule = {DOSSIERS!r}
        Files(context).file_by_rules([rule], "entrants", recursive=True, mode={mode!r},
                                     on_conflict="skip_identical")
        """
    )


def reasons(folder: Path) -> list[list[str]]:
    with (folder / "_motifs.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


class TestRulesThatCapture:
    def test_every_kind_of_document_goes_to_its_dossier(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        folder = inbox(
            tmp_path,
            {
                "courrier.txt": "Objet : votre dossier DOS-2026-0001\n",
                "scan.pdf": pdf_with_text("Référence : DOS-2026-0002", "Madame, Monsieur,"),
            },
        )
        write_docx(folder / "lettre.docx", "Bonjour,", "Dossier DOS-2026-0003, pièce jointe.")
        summary = files.file_by_rules([DOSSIERS], "entrants")
        assert visible(tmp_path) == [
            "dossiers/DOS-2026-0001/courrier.txt",
            "dossiers/DOS-2026-0002/scan.pdf",
            "dossiers/DOS-2026-0003/lettre.docx",
        ]
        by_name = {entry["name"]: entry for entry in summary}
        assert by_name["scan.pdf"]["rule"] == "Dossiers"
        assert by_name["scan.pdf"]["match"] == {"ref": "DOS-2026-0002"}
        assert by_name["scan.pdf"]["status"] == "moved"
        assert by_name["scan.pdf"]["problem"] is None
        assert (
            f"files.file_by_rules: scan.pdf filed by rule 'Dossiers' in {tmp_path / 'dossiers/DOS-2026-0002'}"
            in logs
        )
        assert "files.file_by_rules: by rule: Dossiers 3; to review: 0; already filed: 0" in logs

    def test_the_first_rule_that_matches_wins_and_each_record_names_it(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"a.txt": "Facture DOS-2026-0001", "b.txt": "Courrier DOS-2026-0002", "c.csv": "x"})
        rules: Any = [
            {"to": "factures/{{ match.ref }}", "contains": "facture", "matches": r"(?P<ref>DOS-\d+-\d+)"},
            DOSSIERS,
            {"to": "divers", "extension": "csv", "name": "Divers"},
        ]
        summary = files.file_by_rules(rules, "entrants")
        assert [(e["name"], e["rule"]) for e in summary] == [
            ("a.txt", r"rule 1: contains facture, matches (?P<ref>DOS-\d+-\d+)"),
            ("b.txt", "Dossiers"),
            ("c.csv", "Divers"),
        ]
        assert visible(tmp_path) == [
            "divers/c.csv",
            "dossiers/DOS-2026-0002/b.txt",
            "factures/DOS-2026-0001/a.txt",
        ]

    def test_name_size_and_date_conditions_and_captures_from_the_name(
        self, files: Files, tmp_path: Path
    ) -> None:
        folder = inbox(
            tmp_path, {"2025-PV-12.txt": "x" * 10, "2026-PV-13.txt": "y" * 10, "2026-PV-14.txt": "z"}
        )
        old = (folder / "2025-PV-12.txt").stat().st_mtime - 400 * 86_400
        os.utime(folder / "2025-PV-12.txt", (old, old))
        rules: Any = [
            {"to": "archives/{{ match.year }}", "name_matches": r"^(?P<year>\d{4})-PV", "older_than": 365},
            {"to": "petits", "pattern": "*-pv-*.TXT", "max_size": 5},
            {"to": "récents/{{ match.n }}", "name_matches": r"PV-(?P<n>\d+)", "modified_after": "2020-01-01"},
        ]
        files.file_by_rules(rules, "entrants")
        assert visible(tmp_path) == [
            "archives/2025/2025-PV-12.txt",
            "petits/2026-PV-14.txt",
            "récents/13/2026-PV-13.txt",
        ]

    def test_modified_before_and_min_size(self, files: Files, tmp_path: Path) -> None:
        folder = inbox(tmp_path, {"vieux.txt": "ancien contenu", "neuf.txt": "n"})
        os.utime(folder / "vieux.txt", (946_684_800, 946_684_800))  # 2000-01-01
        rules: Any = [{"to": "avant-2001", "modified_before": "2001-01-01", "min_size": 5}]
        summary = files.file_by_rules(rules, "entrants", review="à vérifier")
        assert visible(tmp_path) == ["avant-2001/vieux.txt", "à vérifier/_motifs.csv", "à vérifier/neuf.txt"]
        assert [e["problem"] for e in summary] == ["no_rule", None]

    def test_a_regex_that_never_matches_sends_everything_to_review_with_the_reason(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        inbox(tmp_path, {"a.txt": "rien à voir", "b.txt": "toujours rien"})
        never: Any = {"to": "x/{{ match.ref }}", "matches": r"(?P<ref>JAMAIS-\d{9})"}
        summary = files.file_by_rules([never], "entrants", review="à vérifier")
        assert visible(tmp_path) == ["à vérifier/_motifs.csv", "à vérifier/a.txt", "à vérifier/b.txt"]
        assert {(e["status"], e["review"], e["problem"], e["reason"]) for e in summary} == {
            ("moved", True, "no_rule", "no rule matched")
        }
        rows = reasons(tmp_path / "à vérifier")
        assert rows[0] == ["date", "document", "reason", "original place", "problem code"]
        assert [(row[1], row[2], row[3], row[4]) for row in rows[1:]] == [
            ("a.txt", "no rule matched", str(tmp_path / "entrants" / "a.txt"), "no_rule"),
            ("b.txt", "no rule matched", str(tmp_path / "entrants" / "b.txt"), "no_rule"),
        ]
        assert f"files.file_by_rules: a.txt to review in {tmp_path / 'à vérifier'}: no rule matched" in logs

    def test_without_review_or_default_unmatched_documents_stay_with_their_reason(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"a.txt": "rien"})
        summary = files.file_by_rules([DOSSIERS], "entrants")
        assert summary[0]["status"] == "left" and summary[0]["reason"] == "no rule matched"
        assert visible(tmp_path) == ["entrants/a.txt"]

    def test_a_binary_file_and_a_damaged_pdf_are_unreadable_but_a_name_rule_still_files_them(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(
            tmp_path,
            {
                "photo.bin": bytes(range(256)) * 40,
                "abîmé.pdf": b"%PDF-1.4 garbage",
                "FAC-1.bin": b"\x00\x01",
                "scan.pdf": pdf_with_text(),  # a page without a text layer, as a scanner makes it
                "vide.txt": "  \n",
            },
        )
        rules: Any = [DOSSIERS, {"to": "factures", "pattern": "FAC-*"}]
        summary = files.file_by_rules(rules, "entrants", review="à vérifier", default="autres")
        by_name = {e["name"]: e for e in summary}
        assert by_name["FAC-1.bin"]["rule"] == "rule 2: pattern FAC-*"
        assert by_name["photo.bin"]["problem"] == "unreadable" and by_name["photo.bin"]["review"]
        assert "no text could be read" in by_name["abîmé.pdf"]["reason"]
        assert by_name["scan.pdf"]["problem"] == by_name["vide.txt"]["problem"] == "unreadable"
        assert visible(tmp_path) == [
            "factures/FAC-1.bin",
            "à vérifier/_motifs.csv",
            "à vérifier/abîmé.pdf",
            "à vérifier/photo.bin",
            "à vérifier/scan.pdf",
            "à vérifier/vide.txt",
        ]

    def test_default_takes_documents_no_rule_matched_and_review_the_problems(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"rien.txt": "rien", "deux.txt": "DOS-2026-0001 et DOS-2026-0002"})
        summary = files.file_by_rules([DOSSIERS], "entrants", default="autres", review="à vérifier")
        assert visible(tmp_path) == ["autres/rien.txt", "à vérifier/_motifs.csv", "à vérifier/deux.txt"]
        assert [(e["name"], e["rule"], e["problem"]) for e in summary] == [
            ("deux.txt", None, "ambiguous"),
            ("rien.txt", "default", "no_rule"),
        ]

    def test_several_different_values_are_never_picked_silently(self, files: Files, tmp_path: Path) -> None:
        inbox(
            tmp_path, {"deux.txt": "Vos dossiers DOS-2026-0001 et DOS-2026-0002.", "fin.txt": "DOS-2026-0003"}
        )
        rules: Any = [
            DOSSIERS,
            {"to": "texte", "extension": "txt"},
        ]  # a later catch-all does not take it either
        summary = files.file_by_rules(rules, "entrants", review="à vérifier")
        first = summary[0]
        assert (first["status"], first["review"], first["problem"]) == ("moved", True, "ambiguous")
        assert first["reason"] == (
            "rule 'Dossiers' found several different values: ref='DOS-2026-0001'; ref='DOS-2026-0002'"
        )
        assert summary[1]["destination"] == str(tmp_path / "dossiers" / "DOS-2026-0003" / "fin.txt")

    def test_one_value_written_twice_is_not_ambiguous(self, files: Files, tmp_path: Path) -> None:
        inbox(tmp_path, {"a.txt": "DOS-2026-0001 ... rappel : DOS-2026-0001"})
        files.file_by_rules([DOSSIERS], "entrants")
        assert visible(tmp_path) == ["dossiers/DOS-2026-0001/a.txt"]

    def test_an_empty_capture_goes_to_review(self, files: Files, tmp_path: Path) -> None:
        inbox(tmp_path, {"a.txt": "Référence : ...\n", "b.txt": "Référence :\n"})
        rules: Any = [{"to": "d/{{ match.ref }}", "matches": r"Référence :[ ]?(?P<ref>[^\n]*)"}]
        summary = files.file_by_rules(rules, "entrants", review="revoir")
        assert [e["problem"] for e in summary] == ["empty_capture", "empty_capture"]
        assert (
            summary[0]["reason"]
            == r"rule 'rule 1: matches Référence :[ ]?(?P<ref>[^\n]*)' captured nothing usable: ref='...'"
        )
        assert visible(tmp_path) == ["revoir/_motifs.csv", "revoir/a.txt", "revoir/b.txt"]

    def test_template_syntax_in_a_document_is_never_evaluated(self, files: Files, tmp_path: Path) -> None:
        inbox(
            tmp_path,
            {
                "a.txt": "Réf : {{ 7 * 7 }}\n",
                "b.txt": "Réf : {% for x in range(3) %}{{ x }}{% endfor %}\n",
                "c.txt": "Réf : {{ file.__class__.__mro__ }}\n",
            },
        )
        rules: Any = [{"to": "d/{{ match.ref }}", "matches": r"Réf : (?P<ref>[^\n]+)"}]
        files.file_by_rules(rules, "entrants")
        assert visible(tmp_path) == [
            "d/{% for x in range(3) %}{{ x }}{% endfor %}/b.txt",
            "d/{{ 7 - 7 }}/a.txt",  # "*" is refused by Windows in a name
            "d/{{ file.__class__.__mro__ }}/c.txt",
        ]

    @pytest.mark.parametrize(
        ("captured", "folder"),
        [
            ("../../../tmp/evil", "-..-..-tmp-evil"),
            ("/etc/passwd", "-etc-passwd"),
            ("..", None),
            (". . .", None),
            ("C:\\Windows\\System32", "C-Windows-System32"),
            ("\\\\serveur\\partage", "-serveur-partage"),
            ("CON", "CON_"),
            ("nul.txt", "nul_.txt"),
            ("com1", "com1_"),
            ("a\x01b\x1b[31mc\x07", "ab[31mc"),  # control characters (a NUL makes the file binary: below)
            ("ré\u202efdp.exe", "réfdp.exe"),
            ("  .cache  ", "cache"),
            ('dos<1>:"x"|?*', "dos-1-x-"),
            ("x" * 500, "x" * 120),
        ],
    )
    def test_a_hostile_capture_never_leaves_the_rules_folder(
        self, files: Files, tmp_path: Path, captured: str, folder: str | None
    ) -> None:
        inbox(tmp_path, {"a.txt": f"REF[{captured}]"})
        rules: Any = [{"to": "dossiers/{{ match.ref }}", "matches": r"REF\[(?P<ref>.*)\]", "name": "R"}]
        summary = files.file_by_rules(rules, "entrants", review="revoir")
        if folder is None:
            assert summary[0]["problem"] == "empty_capture"
            assert sorted(tree(tmp_path)) == ["revoir/_motifs.csv", "revoir/a.txt"]
        else:
            assert sorted(tree(tmp_path)) == [f"dossiers/{folder}/a.txt"]
            assert summary[0]["match"] == {"ref": folder}

    def test_a_text_file_holding_a_nul_byte_is_unreadable_and_goes_to_review(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"a.txt": "REF[a\x00b]"})
        rules: Any = [{"to": "dossiers/{{ match.ref }}", "matches": r"REF\[(?P<ref>.*)\]", "name": "R"}]
        summary = files.file_by_rules(rules, "entrants", review="revoir")
        assert summary[0]["problem"] == "unreadable"
        assert sorted(tree(tmp_path)) == ["revoir/_motifs.csv", "revoir/a.txt"]

    def test_a_hostile_file_name_captured_by_name_matches(self, files: Files, tmp_path: Path) -> None:
        inbox(tmp_path, {" ..-facture.pdf": b"x", "CON-devis.pdf": b"y", "\u202ecod-note.pdf": b"z"})
        rules: Any = [
            {"to": "clients/{{ match.client }}", "name_matches": r"^(?P<client>[^-]*)-", "name": "C"}
        ]
        summary = files.file_by_rules(rules, "entrants", review="revoir")
        assert sorted(tree(tmp_path)) == [
            "clients/CON_/CON-devis.pdf",
            "clients/cod/\u202ecod-note.pdf",
            "revoir/ ..-facture.pdf",
            "revoir/_motifs.csv",
        ]
        assert [e["problem"] for e in summary] == ["empty_capture", None, None]

    def test_a_destination_that_rebuilds_a_path_from_a_capture_is_refused(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"a.txt": "DOS-2026-0001"})
        rules: Any = [{"to": "d/{{ match.ref | replace('-', '/') }}", "matches": r"(?P<ref>DOS-\d+-\d+)"}]
        with pytest.raises(BusinessError, match="change the shape of its folder"):
            files.file_by_rules(rules, "entrants")
        assert visible(tmp_path) == ["entrants/a.txt"]

    def test_a_rule_is_checked_before_the_run(self) -> None:
        spec = Files.action_specs()["file_by_rules"]
        assert spec.check_value("rules", [DOSSIERS]) is None
        assert "the regular expression '(?P<ref>' is not valid" in (
            spec.check_value("rules", [{"to": "x", "matches": "(?P<ref>"}]) or ""
        )
        assert "`to` uses match.dossier, which the rule does not capture (ref)" in (
            spec.check_value("rules", [{"to": "x/{{ match.dossier }}", "matches": "(?P<ref>a)"}]) or ""
        )
        assert "name a group in `matches` or `name_matches`: (?P<ref>" in (
            spec.check_value("rules", [{"to": "x/{{ match.ref }}", "pattern": "*"}]) or ""
        )
        assert "a filing rule needs a condition" in (spec.check_value("rules", [{"to": "x"}]) or "")

    def test_accents_written_decomposed_match_and_are_filed_composed(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {f"{NFD}-mars.txt": f"Dossier DOS-2026-0009, {NFD} de compte"})
        rules: Any = [
            {
                "to": "relevés/{{ match.ref }}",
                "pattern": "relevé-*",
                "matches": r"(?P<ref>DOS-\d+-\d+), relevé",
            }
        ]
        files.file_by_rules(rules, "entrants")
        filed = [p.name for p in (tmp_path / "relevés" / "DOS-2026-0009").iterdir()]
        assert filed == [f"{NFC}-mars.txt"]
        assert unicodedata.is_normalized("NFC", filed[0])

    def test_the_review_folder_inside_the_inbox_is_not_filed_again(
        self, files: Files, tmp_path: Path
    ) -> None:
        inbox(tmp_path, {"a.txt": "rien"})
        rules: Any = [DOSSIERS]
        files.file_by_rules(rules, "entrants", recursive=True, review="entrants/revoir", mode="copy")
        again = files.file_by_rules(
            rules,
            "entrants",
            recursive=True,
            review="entrants/revoir",
            mode="copy",
            on_conflict="skip_identical",
        )
        assert [e["name"] for e in again] == ["a.txt"]


class TestSkipIdentical:
    def test_a_rerun_in_copy_mode_changes_nothing(self, files: Files, tmp_path: Path) -> None:
        folder = inbox(
            tmp_path,
            {
                "a/lettre.txt": "DOS-2026-0001 première",
                "b/lettre.txt": "DOS-2026-0001 seconde",
                "c/lettre.txt": "DOS-2026-0001 première",
                "rien.txt": "rien",
            },
        )
        write_docx(folder / "d.docx", "DOS-2026-0002")
        arguments: dict[str, Any] = {"recursive": True, "mode": "copy", "on_conflict": "skip_identical"}
        first = files.file_by_rules([DOSSIERS], "entrants", review="revoir", **arguments)
        assert [e["status"] for e in first] == ["copied", "copied", "identical", "copied", "copied"]
        assert visible(tmp_path / "dossiers") == [
            "DOS-2026-0001/lettre (2).txt",
            "DOS-2026-0001/lettre.txt",
            "DOS-2026-0002/d.docx",
        ]
        before = tree(tmp_path)
        second = files.file_by_rules([DOSSIERS], "entrants", review="revoir", **arguments)
        assert {e["status"] for e in second} == {"identical"}
        assert tree(tmp_path) == before
        assert len(reasons(tmp_path / "revoir")) == 2

    def test_a_rerun_in_move_mode_files_nothing_twice_and_empties_the_inbox(
        self, files: Files, tmp_path: Path, logs: list[str]
    ) -> None:
        documents: dict[str, str | bytes] = {"x.txt": "DOS-2026-0001", "y.txt": "DOS-2026-0002"}
        inbox(tmp_path, documents)
        files.file_by_rules([DOSSIERS], "entrants", on_conflict="skip_identical")
        filed = tree(tmp_path / "dossiers")
        inbox(tmp_path, documents)  # the same documents dropped again
        again = files.file_by_rules([DOSSIERS], "entrants", on_conflict="skip_identical")
        assert [e["status"] for e in again] == ["identical", "identical"]
        assert [e["destination"] for e in again] == [
            str(tmp_path / "dossiers/DOS-2026-0001/x.txt"),
            str(tmp_path / "dossiers/DOS-2026-0002/y.txt"),
        ]
        assert tree(tmp_path / "dossiers") == filed
        assert visible(tmp_path / "entrants") == []
        trashed = [p.name for p in (tmp_path / "entrants" / ".robo-trash").rglob("*") if p.is_file()]
        assert sorted(trashed) == ["x.txt", "y.txt"]
        assert any("is already filed as" in line and "same bytes" in line for line in logs)
        assert "files.file_by_rules: by rule: 0; to review: 0; already filed: 2" in logs

    def test_a_new_version_under_a_taken_name_is_kept_beside_it(self, files: Files, tmp_path: Path) -> None:
        inbox(tmp_path, {"x.txt": "DOS-2026-0001 v1"})
        files.file_by_rules([DOSSIERS], "entrants", on_conflict="skip_identical")
        inbox(tmp_path, {"x.txt": "DOS-2026-0001 v2"})
        summary = files.file_by_rules([DOSSIERS], "entrants", on_conflict="skip_identical")
        assert summary[0]["status"] == "moved"
        assert tree(tmp_path / "dossiers") == {
            "DOS-2026-0001/x.txt": b"DOS-2026-0001 v1",
            "DOS-2026-0001/x (2).txt": b"DOS-2026-0001 v2",
        }

    def test_a_decomposed_name_finds_its_composed_twin(self, files: Files, tmp_path: Path) -> None:
        inbox(tmp_path, {f"{NFC}.txt": "DOS-2026-0001"})
        files.file_by_rules([DOSSIERS], "entrants", mode="copy", on_conflict="skip_identical")
        inbox(tmp_path, {f"{NFD}.txt": "DOS-2026-0001"})
        summary = files.file_by_rules([DOSSIERS], "entrants", mode="copy", on_conflict="skip_identical")
        assert [e["status"] for e in summary] == ["identical", "identical"]
        assert visible(tmp_path / "dossiers") == [f"DOS-2026-0001/{NFC}.txt"]

    def test_move_copy_and_rename_actions(self, files: Files, tmp_path: Path) -> None:
        (tmp_path / "a.txt").write_text("même")
        (tmp_path / "classés").mkdir()
        (tmp_path / "classés" / "a.txt").write_text("même")
        assert files.copy("a.txt", "classés/", on_conflict="skip_identical") == str(
            tmp_path / "classés/a.txt"
        )
        (tmp_path / "b.txt").write_text("même")
        assert files.rename("b.txt", "a.txt", on_conflict="skip_identical") == str(tmp_path / "a.txt")
        assert not (tmp_path / "b.txt").exists()
        assert files.move("a.txt", "classés/", on_conflict="skip_identical") == str(
            tmp_path / "classés/a.txt"
        )
        assert visible(tmp_path) == ["classés/a.txt"]
        (tmp_path / "a.txt").write_text("autre")
        assert files.move("a.txt", "classés/", on_conflict="skip_identical") == str(
            tmp_path / "classés/a (2).txt"
        )

    def test_unzip_and_zip_twice(self, files: Files, tmp_path: Path) -> None:
        with zipfile.ZipFile(tmp_path / "pièces.zip", "w") as bundle:
            bundle.writestr("a.txt", "un")
            bundle.writestr("sous/b.txt", "deux")
        first = files.unzip("pièces.zip", "out", on_conflict="skip_identical")
        second = files.unzip("pièces.zip", "out", on_conflict="skip_identical")
        assert sorted(first) == sorted(second)
        assert visible(tmp_path / "out") == ["a.txt", "sous/b.txt"]
        archive = files.zip_files("out", "envoi.zip", on_conflict="skip_identical")
        assert files.zip_files("out", "envoi.zip", on_conflict="skip_identical") == archive
        assert [p.name for p in tmp_path.glob("envoi*.zip")] == ["envoi.zip"]

    @pytest.mark.parametrize("mode", ["copy", "move"])
    def test_two_runs_at_once_file_each_document_once(self, tmp_path: Path, mode: str) -> None:
        documents: dict[str, str | bytes] = {f"d{n:02}.txt": f"DOS-2026-{n % 4:04} n{n}" for n in range(30)}
        documents |= {f"e{n:02}/d00.txt": "DOS-2026-0000 n0" for n in range(5)}  # identical to d00.txt
        inbox(tmp_path, documents)
        script = filing_script(mode)
        runs = [
            subprocess.Popen([sys.executable, "-c", script, str(tmp_path), f"r{n}"], stderr=subprocess.PIPE)
            for n in range(2)
        ]
        for run in runs:
            _out, err = run.communicate(timeout=120)
            assert run.returncode == 0, err.decode()
        filed = tree(tmp_path / "dossiers")
        assert sorted(filed.values()) == sorted(
            {body.encode() for body in documents.values() if isinstance(body, str)}
        )
        assert all(not name.endswith(" (2).txt") for name in filed)

    @pytest.mark.parametrize("mode", ["copy", "move"])
    def test_a_run_killed_mid_way_then_run_again_files_each_document_once(
        self, tmp_path: Path, mode: str
    ) -> None:
        documents: dict[str, str | bytes] = {f"d{n:03}.txt": f"DOS-2026-{n % 7:04} n{n}" for n in range(400)}
        inbox(tmp_path, documents)
        script = filing_script(mode)
        victim = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), "tue"])
        try:
            wait_until(lambda: len(list((tmp_path / "dossiers").rglob("*.txt"))) >= 20 or None, timeout=60)
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
        assert victim.returncode == -signal.SIGKILL, (
            "the run ended before it was killed: raise the number of documents"
        )
        again = subprocess.run([sys.executable, "-c", script, str(tmp_path), "reprise"], capture_output=True)
        assert again.returncode == 0, again.stderr.decode()
        filed = {
            name: body
            for name, body in tree(tmp_path / "dossiers").items()
            if not name.rsplit("/", 1)[-1].startswith(".")
        }
        assert sorted(filed.values()) == sorted(
            body.encode() for body in documents.values() if isinstance(body, str)
        )
        assert visible(tmp_path / "entrants") == ([] if mode == "move" else sorted(documents))


@pytest.mark.usefixtures("spoken")
class TestInFrenchAndEnglish:
    def test_the_reasons_file_and_the_log(
        self, files: Files, tmp_path: Path, logs: list[str], spoken: str
    ) -> None:
        inbox(tmp_path, {"a.txt": "rien", "b.txt": "DOS-2026-0001 DOS-2026-0002"})
        files.file_by_rules([DOSSIERS], "entrants", review="revoir")
        expected = {
            "fr": [
                ["date", "document", "motif", "emplacement d'origine", "code du problème"],
                "aucune règle ne correspond",
                "la règle « Dossiers » a trouvé plusieurs valeurs différentes : ref='DOS-2026-0001'; ref='DOS-2026-0002'",
                f"files.file_by_rules : a.txt à vérifier dans {tmp_path / 'revoir'} : aucune règle ne correspond",
            ],
            "en": [
                ["date", "document", "reason", "original place", "problem code"],
                "no rule matched",
                "rule 'Dossiers' found several different values: ref='DOS-2026-0001'; ref='DOS-2026-0002'",
                f"files.file_by_rules: a.txt to review in {tmp_path / 'revoir'}: no rule matched",
            ],
        }[spoken]
        rows = reasons(tmp_path / "revoir")
        assert rows[0] == expected[0]
        assert [row[2] for row in rows[1:]] == [expected[1], expected[2]]
        assert expected[3] in logs
