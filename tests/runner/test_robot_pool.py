"""The robots of a run: how an error that a robot did not expect is classified."""

from __future__ import annotations

import json
from pathlib import Path

from tests.runner.conftest import WorkflowRunner


class TestUnexpectedErrors:
    def test_a_file_name_from_the_data_that_no_file_system_accepts_is_refused_data_not_retried(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        (tmp_path / "modele.txt").write_text("modèle", encoding="utf-8")
        rows = [
            {"ref": "A", "nom": "Dupont"},
            {"ref": "B", "nom": "Du\u0000pont"},
            {"ref": "C", "nom": "x" * 300},
        ]
        (tmp_path / "dossiers.json").write_text(json.dumps(rows), encoding="utf-8")
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - data.read_json: {path: dossiers.json}
    save: dossiers
  - for_each: "{{ dossiers }}"
    as: dossier
    key: dossier.ref
    retry: {attempts: 3, delay: 0}
    steps:
      - files.copy: {source: modele.txt, target: "sortie/{{ dossier.nom }}.txt"}
        retry: {attempts: 3, delay: 0}
"""
        )
        assert outcome.status == "completed_with_errors"
        finished = {e.key: e for e in recorder.of("item_finished")}
        assert {key: e.status for key, e in finished.items()} == {
            "A": "done",
            "B": "failed_business",
            "C": "failed_business",
        }
        assert recorder.of("retry_scheduled") == []
        assert "files.copy: a file name holds a NUL character" in (finished["B"].error or "")
        assert "files.copy: the file name is too long for the file system" in (finished["C"].error or "")
        assert sorted(p.name for p in (tmp_path / "sortie").iterdir()) == ["Dupont.txt"]
