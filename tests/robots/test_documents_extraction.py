"""The documents robot's `extract` action, called directly and in a workflow run end to end with the filter."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from robots.documents import Documents
from robots.kit import BusinessError, RobotContext
from tests.running import robo_process

COURRIER = """Préfecture du Rhône — Service des titres
SIRET : 130 025 265 00013
Lyon, le lundi 12 mars 2026

Objet : votre dossier DOS-2026-0042

Madame, nous avons bien reçu votre règlement de 1 234,56 € par virement
sur le compte FR76 3000 6000 0112 3456 7890 189. Rappel : dossier DOS-2026-0042.
"""


@pytest.fixture
def documents(robot_context: RobotContext) -> Documents:
    return Documents(robot_context)


class TestExtractAction:
    def test_each_ready_kind_gives_its_value(self, documents: Documents) -> None:
        assert documents.extract_value(COURRIER, kind="siret") == "13002526500013"
        assert documents.extract_value(COURRIER, kind="iban") == "FR7630006000011234567890189"
        assert documents.extract_value(COURRIER, kind="date") == dt.date(2026, 3, 12)
        assert documents.extract_value(COURRIER, kind="amount") == Decimal("1234.56")
        assert documents.extract_value(COURRIER, reference="DOS-####-####") == "DOS-2026-0042"

    def test_a_pattern_gives_its_named_groups(self, documents: Documents) -> None:
        found = documents.extract_value(COURRIER, pattern=r"dossier (?P<ref>DOS-(?P<annee>\d{4})-\d{4})")
        assert found == {"ref": "DOS-2026-0042", "annee": "2026"}

    def test_the_siren_inside_the_siret_is_not_taken_for_a_siren(self, documents: Documents) -> None:
        with pytest.raises(BusinessError, match="no SIREN number in the text"):
            documents.extract_value(COURRIER, kind="siren")

    def test_the_spec_checks_a_pattern_and_a_kind_before_the_run(self) -> None:
        spec = Documents.action_specs()["extract"]
        assert "a parenthesis is not closed" in (spec.check_value("pattern", "(?P<ref>DOS") or "")
        assert spec.check_value("pattern", r"(?P<ref>DOS-\d+)") is None
        assert "'siret', 'siren', 'iban', 'date' or 'amount'" in (spec.check_value("kind", "siert") or "")
        assert spec.check_value("reference", "") is not None


WORKFLOW = r"""name: Relever les références des courriers
inputs:
  courriers: {type: file, default: courriers.csv}
steps:
  - data.read_csv: {path: "{{ inputs.courriers }}"}
    save: lignes
  - for_each: "{{ lignes }}"
    as: courrier
    key: "{{ courrier.fichier }}"
    steps:
      - documents.extract: {text: "{{ courrier.texte }}", reference: "DOS-####-####"}
        save: reference
      - documents.extract: {text: "{{ courrier.texte }}", kind: amount}
        save: montant
      - log: "{{ courrier.fichier }} : {{ reference }} ; {{ (courrier.texte | extract('(?P<ville>\\w+), le')).ville }} ; {{ montant | euros }} ; {{ courrier.texte | extract(kind='date') | date_fr }} ; {{ courrier.texte | extract(kind='siret') is siret }}"
"""

ROWS = [
    ("valide.txt", COURRIER.replace("\n", " ")),
    ("deux-dossiers.txt", "Dossiers DOS-2026-0001 et DOS-2026-0002, 10 € le 1er février 2026"),
    ("siret-faux.txt", "Dossier DOS-2026-0003, Paris, le 3 août 2026, 5 €, SIRET 130 025 265 00014"),
]


class TestInAWorkflow:
    def test_a_run_extracts_with_the_action_and_the_filter_and_says_what_it_refused(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "courriers.yaml").write_text(WORKFLOW, encoding="utf-8")
        lines = ["fichier;texte", *(f'{name};"{text}"' for name, text in ROWS)]
        (tmp_path / "courriers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

        validated = robo_process("validate", "courriers.yaml", cwd=tmp_path)
        assert validated.returncode == 0, validated.stderr
        result = robo_process("run", "courriers.yaml", "--logs", "logs", cwd=tmp_path)

        assert result.returncode != 0  # two items fail, each for its own reason
        output = result.stdout + result.stderr
        assert "valide.txt : DOS-2026-0042 ; Lyon ; 1\u202f234,56\u00a0€ ; 12 mars 2026 ; True" in output
        assert (
            "2 different candidates for the reference DOS-####-#### in the text, where one was expected: "
            "'DOS-2026-0001'; 'DOS-2026-0002'"
        ) in output
        assert "no SIRET number in the text" in output
        audit = (next((tmp_path / "logs").rglob("audit.jsonl"))).read_text(encoding="utf-8")
        failures = [json.loads(line) for line in audit.splitlines() if '"item_finished"' in line]
        assert [failure.get("status") for failure in failures] == [
            "done",
            "failed_business",
            "failed_business",
        ]
        assert "its check key is wrong" in audit  # the refused SIRET, as a cause of the failure
