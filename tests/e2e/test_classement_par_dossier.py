"""The filing-by-reference example run whole, twice: each document lands once in its dossier, the rest to review."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from robots.excel import Excel
from robots.kit import RobotContext
from runner.run import RunOptions, run_workflow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "workflows" / "classement_par_dossier.yaml"
SAMPLES = ROOT / "workflows" / "data" / "par_dossier" / "entrants"


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_each_document_is_filed_once_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    samples = snapshot(SAMPLES)
    filed = tmp_path / "classés"
    filed.mkdir()
    options = RunOptions(logs_dir=tmp_path / "logs", environ={}, inputs={"classement": str(filed)})
    first = run_workflow(WORKFLOW, options)
    assert first.status == "succeeded", first.diagnostics
    tree = snapshot(filed)
    assert sorted(tree) == [
        "dossiers/DOS-2026-0001/courrier_Mme_Lefèvre.txt",
        "dossiers/DOS-2026-0001/lettre (2).docx",
        "dossiers/DOS-2026-0001/lettre.docx",
        "dossiers/DOS-2026-0002/piece_jointe.pdf",  # received twice, the same bytes: kept once
        "à vérifier/_motifs.csv",
        "à vérifier/deux_dossiers.txt",
        "à vérifier/note_interne.txt",
        "à vérifier/photo_chantier.jpg",
    ]
    with (filed / "à vérifier" / "_motifs.csv").open(encoding="utf-8-sig", newline="") as handle:
        motifs = {row[1]: row[4] for row in list(csv.reader(handle, delimiter=";"))[1:]}
    assert motifs["deux_dossiers.txt"] == "ambiguous"
    assert motifs["note_interne.txt"] == "no_rule"
    assert motifs["photo_chantier.jpg"] in ("unreadable", "no_rule")  # no_rule once an OCR reads the photo
    assert first.run_dir is not None
    report = (first.run_dir / "report.html").read_text(encoding="utf-8")
    assert "courrier_Mme_Lefèvre.txt filed by rule &#39;Dossier de l&#39;usager&#39;" in report

    second = run_workflow(WORKFLOW, options)
    assert second.status == "succeeded", second.diagnostics
    assert snapshot(filed) == tree
    assert snapshot(SAMPLES) == samples
    assert second.run_dir is not None
    excel = Excel(RobotContext("t", "t", tmp_path, tmp_path / "artifacts"))
    rows = excel.read_rows(str(second.run_dir / "artifacts" / "synthèse.xlsx"), "Classement")
    assert {row["Statut"] for row in rows} == {"identical"}
    assert len(rows) == len(samples)
