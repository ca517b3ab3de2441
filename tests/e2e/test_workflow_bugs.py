"""A mistake in the workflow, met by a real `robo` process: told as such, at its line, and the run stops early."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT

WORKFLOW = """name: Relevé des dossiers
inputs:
  fichier: {type: file}
steps:
  - excel.read_rows: {path: "{{ inputs.fichier }}"}
    save: dossiers
  - for_each: "{{ dossiers }}"
    as: dossier
    key: dossier.reference
    retry: {attempts: 3, delay: 0}
    steps:
      - log: "{{ dossier.reference }}"
      - name: Noter le nom
        data.set:
          value: "Nom : {{ dossier.Nom }}"
"""


def test_a_field_typo_is_a_workflow_error_at_its_line_and_stops_the_run_after_three_items(
    tmp_path: Path,
) -> None:
    rows = "\n".join(f"D{n};Nom{n};normale" for n in range(1, 11))
    source = tmp_path / "dossiers.csv"
    source.write_text(f"reference;nom;priorite\n{rows}\n", encoding="utf-8")
    workflow = tmp_path / "releve.yaml"
    workflow.write_text(WORKFLOW, encoding="utf-8")
    logs = tmp_path / "logs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "run",
            str(workflow),
            "-i",
            f"fichier={source}",
            "--logs",
            str(logs),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert f"{workflow}:15:18: error[workflow-error]:" in result.stderr  # the template's own line and column
    assert "the same error on 3 items in a row, the run stops" in result.stderr
    assert (
        "dossier has no field 'Nom': did you mean 'nom'? the columns of dossiers.csv are reference, nom, priorite"
        in result.stderr
    )
    assert "fix the workflow, then resume" in result.stderr
    assert "] D1 ✗ failed: a mistake in the workflow: step 'Noter le nom' failed" in result.stderr
    [audit] = logs.rglob("audit.jsonl")
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    finished = [(e["key"], e["status"]) for e in events if e["event"] == "item_finished"]
    assert finished == [("D1", "failed_workflow"), ("D2", "failed_workflow"), ("D3", "failed_workflow")]
    assert [e for e in events if e["event"] == "retry_scheduled"] == []
    report = (audit.parent / "report.html").read_text(encoding="utf-8")
    assert "a mistake in the workflow" in report
    # what stopped the run is told as a mistake in the workflow too, not as an error of no kind
    assert [e["error_kind"] for e in events if e["event"] == "run_finished"] == ["workflow"]
    assert "Kind: error" not in report
