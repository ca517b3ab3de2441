"""What the legacy client's form accepts and how its database keeps records (no display needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mock_desktop import CaseStore, EntryRefused, StoredCase, check_entry, read_cases
from tests.mock_desktop.entry_rules import MONTANT_INVALID, NOM_REQUIRED

VALUES = {
    "reference": " DOS-2026-001 ",
    "nom": "Dupré",
    "prenom": "Hélène",
    "commune": "Saint-Étienne",
    "montant": "1 250,50",
    "type_demande": "Aide à l'emploi",
}


class TestCheckEntry:
    def test_accepts_a_complete_form_and_trims_it(self) -> None:
        case = check_entry(VALUES)
        assert case.reference == "DOS-2026-001"
        assert case.montant_centimes == 125050
        assert case.commune == "Saint-Étienne"

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("nom", "  ", NOM_REQUIRED),
            ("montant", "douze", MONTANT_INVALID),
            ("montant", "", MONTANT_INVALID),
        ],
    )
    def test_refuses_with_the_field_to_correct(self, field: str, value: str, message: str) -> None:
        with pytest.raises(EntryRefused) as refused:
            check_entry({**VALUES, field: value})
        assert (refused.value.field, refused.value.message) == (field, message)

    def test_refuses_a_type_not_in_the_list(self) -> None:
        with pytest.raises(EntryRefused) as refused:
            check_entry({**VALUES, "type_demande": ""})
        assert refused.value.field == "type_demande"


class TestCaseStore:
    def test_keeps_accents_and_numbers_records_in_order(self, tmp_path: Path) -> None:
        store = CaseStore(tmp_path / "dossiers.sqlite")
        first = store.add(check_entry(VALUES), "agent1")
        second = store.add(
            check_entry({**VALUES, "reference": "B", "nom": "Öztürk", "prenom": "Çağla"}), "agent2"
        )
        assert (first, second) == ("DOS-000001", "DOS-000002")
        assert read_cases(tmp_path / "dossiers.sqlite") == [
            StoredCase(
                "DOS-000001",
                "DOS-2026-001",
                "Dupré",
                "Hélène",
                "Saint-Étienne",
                125050,
                "Aide à l'emploi",
                "agent1",
            ),
            StoredCase(
                "DOS-000002", "B", "Öztürk", "Çağla", "Saint-Étienne", 125050, "Aide à l'emploi", "agent2"
            ),
        ]

    def test_refuses_a_reference_stored_already(self, tmp_path: Path) -> None:
        store = CaseStore(tmp_path / "dossiers.sqlite")
        store.add(check_entry(VALUES), "agent1")
        with pytest.raises(EntryRefused, match="DOS-2026-001 existe déjà"):
            store.add(check_entry({**VALUES, "nom": "Autre"}), "agent1")
        assert len(read_cases(tmp_path / "dossiers.sqlite")) == 1

    def test_an_absent_file_has_no_records(self, tmp_path: Path) -> None:
        assert read_cases(tmp_path / "absent.sqlite") == []
