"""The document-filing example workflow, run whole: files land in their folders, the samples stay put."""

from __future__ import annotations

import hashlib
from pathlib import Path

from robots.excel import Excel
from robots.kit import RobotContext
from runner.run import RunOptions, run_workflow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "workflows" / "classement_documents.yaml"
SAMPLES = ROOT / "workflows" / "data" / "classement" / "entrants"


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class TestClassementDocuments:
    def test_every_document_is_filed_by_its_rule_and_summarised(self, tmp_path: Path) -> None:
        samples = snapshot(SAMPLES)
        outcome = run_workflow(WORKFLOW, RunOptions(logs_dir=tmp_path, environ={}))
        assert outcome.status == "succeeded", outcome.diagnostics
        assert outcome.run_dir is not None
        filed = outcome.run_dir / "artifacts" / "classement"
        tree = snapshot(filed)
        year = {name.split("/")[1] for name in tree if name.startswith("factures/")}
        assert len(year) == 1 and year.pop().isdigit()
        assert sorted(
            name if "/" not in name else name.split("/")[0] + "/" + name.rsplit("/", 1)[-1] for name in tree
        ) == [
            "arrêtés/scan_0007.pdf",
            "courriers/courrier_mme_durand.docx",
            "courriers/demande_logement_martin.docx",
            "factures/facture_2026-0142.pdf",
            "factures/facture_eau_mars.txt",
            "notes/note_service_reunion.txt",
            "synthèse.xlsx",
            "à trier/photo_chantier.jpg",
        ]
        # the samples are still there, byte for byte, and every filed copy is one of them
        assert snapshot(SAMPLES) == samples
        assert sorted(h for n, h in tree.items() if n != "synthèse.xlsx") == sorted(samples.values())
        assert not any((outcome.run_dir / "artifacts" / "arrivée").iterdir())

        excel = Excel(RobotContext("t", "t", tmp_path, tmp_path / "artifacts"))
        rows = excel.read_rows(str(filed / "synthèse.xlsx"), "Classement")
        assert len(rows) == len(samples)
        by_name = {row["Document"]: row for row in rows}
        assert by_name["scan_0007.pdf"]["Règle"] == "Arrêtés"
        assert by_name["facture_eau_mars.txt"]["Règle"] == "Factures"
        assert by_name["photo_chantier.jpg"]["Règle"] == "default"
        assert {row["Statut"] for row in rows} == {"moved"}
        assert all(Path(row["Classé dans"]).is_file() for row in rows)

    def test_a_second_run_of_the_same_samples_files_them_again(self, tmp_path: Path) -> None:
        first = run_workflow(WORKFLOW, RunOptions(logs_dir=tmp_path, environ={}))
        second = run_workflow(WORKFLOW, RunOptions(logs_dir=tmp_path, environ={}))
        assert (first.status, second.status) == ("succeeded", "succeeded")
        assert first.run_dir != second.run_dir
