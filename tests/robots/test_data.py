"""The `data` robot: records, CSV and JSON files."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from robots.data import Data
from robots.kit import BusinessError, ConfigurationError, RobotContext, atomic_file
from tests.robots import locales


@pytest.fixture
def data(robot_context: RobotContext) -> Iterator[Data]:
    robot = Data(robot_context)
    yield robot
    robot.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


AGENTS: list[dict[str, Any]] = [
    {"nom": "Dupont", "service": "RH", "âge": "42", "email": "a@x.fr"},
    {"nom": "Lefèvre", "service": "DSI", "âge": "9", "email": None},
    {"nom": "Martin", "service": "RH", "âge": "130", "email": "  "},
]


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Data.action_specs()
        assert set(specs) == {
            "set",
            "merge",
            "filter",
            "sort",
            "select",
            "read_csv",
            "write_csv",
            "read_json",
            "write_json",
        }
        for spec in specs.values():
            assert spec.returns

    def test_a_delimiter_of_several_characters_is_refused_before_the_run(self) -> None:
        spec = Data.action_specs()["read_csv"]
        assert spec.check_value("delimiter", ";;") is not None
        assert spec.check_value("delimiter", "\t") is None

    def test_only_the_writing_actions_have_side_effects(self) -> None:
        changing = {name for name, spec in Data.action_specs().items() if spec.side_effects}
        assert changing == {"write_csv", "write_json"}


class TestSet:
    def test_returns_the_value_unchanged(self, data: Data) -> None:
        value = {"liste": [1, "deux"], "texte": "{{ pas un modèle }}"}
        assert data.set(value) is value


class TestMerge:
    def test_two_mappings_merge_and_the_second_wins(self, data: Data) -> None:
        assert data.merge({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}

    def test_a_mapping_is_added_to_every_record(self, data: Data) -> None:
        merged = data.merge([{"id": 1}, {"id": 2}], {"statut": "traité"})
        assert merged == [{"id": 1, "statut": "traité"}, {"id": 2, "statut": "traité"}]

    def test_a_join_keeps_every_record_and_leaves_unmatched_fields_empty(self, data: Data) -> None:
        cases = [{"siret": "111", "nom": "A"}, {"siret": "222", "nom": "B"}]
        towns = [{"siret": "111", "ville": "Lyon"}]
        assert data.merge(cases, towns, on="siret") == [
            {"siret": "111", "nom": "A", "ville": "Lyon"},
            {"siret": "222", "nom": "B", "ville": None},
        ]

    def test_join_keys_compare_as_text(self, data: Data) -> None:
        merged = data.merge([{"id": "42 "}], [{"id": 42, "x": "found"}], on="id")
        assert isinstance(merged, list)
        assert merged[0]["x"] == "found"

    def test_the_inputs_are_not_changed(self, data: Data) -> None:
        cases = [{"id": 1}]
        data.merge(cases, [{"id": 1, "x": 2}], on="id")
        assert cases == [{"id": 1}]

    def test_duplicate_keys_on_the_joined_side_are_refused(self, data: Data) -> None:
        with pytest.raises(BusinessError, match=r"several records of `other` have id = '1'"):
            data.merge([{"id": 1}], [{"id": 1}, {"id": "1"}], on="id")

    def test_joining_two_lists_needs_on(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="needs `on`"):
            data.merge([{"id": 1}], [{"id": 1}])

    def test_a_misspelt_join_field_suggests_the_right_one(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="no record has a field 'sirte'") as caught:
            data.merge([{"siret": 1}], [{"siret": 1}], on="sirte")
        assert caught.value.hint == "did you mean 'siret'?"

    def test_a_mapping_cannot_be_merged_with_records(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="only be merged with another mapping"):
            data.merge({"a": 1}, [{"a": 2}])


class TestFilter:
    def test_keeps_records_whose_fields_equal_the_values(self, data: Data) -> None:
        assert [r["nom"] for r in data.filter(AGENTS, where={"service": "RH"})] == ["Dupont", "Martin"]

    def test_numbers_match_numbers_written_as_text(self, data: Data) -> None:
        assert [r["nom"] for r in data.filter(AGENTS, where={"âge": 42})] == ["Dupont"]

    def test_a_list_of_values_means_any_of_them(self, data: Data) -> None:
        kept = data.filter(AGENTS, where={"nom": ["Martin", "Lefèvre"]})
        assert [r["nom"] for r in kept] == ["Lefèvre", "Martin"]

    def test_null_matches_missing_or_blank_values(self, data: Data) -> None:
        assert [r["nom"] for r in data.filter(AGENTS, where={"email": None})] == ["Lefèvre", "Martin"]

    def test_where_not_drops_records_with_the_value(self, data: Data) -> None:
        assert [r["nom"] for r in data.filter(AGENTS, where_not={"service": "RH"})] == ["Lefèvre"]

    def test_not_empty_drops_records_with_missing_or_blank_fields(self, data: Data) -> None:
        assert [r["nom"] for r in data.filter(AGENTS, not_empty=["email"])] == ["Dupont"]

    def test_comparison_is_case_sensitive(self, data: Data) -> None:
        assert data.filter(AGENTS, where={"service": "rh"}) == []

    def test_a_misspelt_field_is_an_error_not_an_empty_result(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="no record has a field 'servise'") as caught:
            data.filter(AGENTS, where={"servise": "RH"})
        assert caught.value.hint == "did you mean 'service'?"

    def test_no_records_give_no_records(self, data: Data) -> None:
        assert data.filter([], where={"anything": 1}) == []


class TestSort:
    def test_numbers_written_as_text_sort_as_numbers(self, data: Data) -> None:
        assert [r["âge"] for r in data.sort(AGENTS, by="âge")] == ["9", "42", "130"]

    def test_french_decimal_commas_sort_as_numbers(self, data: Data) -> None:
        records = [{"m": "12,5"}, {"m": "2"}, {"m": "-1,25"}]
        assert [r["m"] for r in data.sort(records, by="m")] == ["-1,25", "2", "12,5"]

    def test_french_dates_sort_as_dates(self, data: Data) -> None:
        records = [{"d": "02/01/2025"}, {"d": "31/12/2024"}, {"d": "15/06/2024"}]
        assert [r["d"] for r in data.sort(records, by="d")] == ["15/06/2024", "31/12/2024", "02/01/2025"]

    def test_date_objects_and_datetimes_sort_together(self, data: Data) -> None:
        records: list[dict[str, Any]] = [
            {"d": datetime(2024, 5, 1, 12)},
            {"d": date(2024, 5, 1)},
            {"d": date(2023, 1, 1)},
        ]
        assert [r["d"] for r in data.sort(records, by="d")] == [
            date(2023, 1, 1),
            date(2024, 5, 1),
            datetime(2024, 5, 1, 12),
        ]

    def test_text_ignores_case(self, data: Data) -> None:
        records = [{"n": "b"}, {"n": "A"}, {"n": "c"}]
        assert [r["n"] for r in data.sort(records, by="n")] == ["A", "b", "c"]

    def test_text_that_only_partly_looks_like_numbers_sorts_as_text(self, data: Data) -> None:
        records = [{"code": "2A004"}, {"code": "75001"}, {"code": "13001"}]
        assert [r["code"] for r in data.sort(records, by="code")] == ["13001", "2A004", "75001"]

    @pytest.mark.parametrize("descending", [False, True])
    def test_missing_values_come_last_in_both_directions(self, data: Data, descending: bool) -> None:
        records: list[dict[str, Any]] = [{"n": None}, {"n": 2}, {}, {"n": 1}, {"n": ""}]
        ordered = [r.get("n") for r in data.sort(records, by="n", descending=descending)]
        assert ordered == ([2, 1] if descending else [1, 2]) + [None, None, ""]

    def test_the_first_field_decides_and_the_next_break_ties(self, data: Data) -> None:
        ordered = data.sort(AGENTS, by=["service", "nom"], descending=True)
        assert [r["nom"] for r in ordered] == ["Martin", "Dupont", "Lefèvre"]

    def test_equal_values_keep_their_order(self, data: Data) -> None:
        records = [{"k": 1, "i": 0}, {"k": 0, "i": 1}, {"k": 1, "i": 2}, {"k": 0, "i": 3}]
        assert [r["i"] for r in data.sort(records, by="k", descending=True)] == [0, 2, 1, 3]

    def test_numbers_mixed_with_text_give_a_clear_error(self, data: Data) -> None:
        with pytest.raises(BusinessError, match=r"cannot sort by 'n': it mixes number \(e\.g\. 3\) and text"):
            data.sort([{"n": 3}, {"n": "abc"}], by="n")

    def test_values_that_cannot_be_compared_give_a_clear_error(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="cannot sort by 'n'"):
            data.sort([{"n": {"a": 1}}, {"n": {"b": 2}}], by="n")

    def test_a_misspelt_field_is_an_error(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="no record has a field 'nmo'"):
            data.sort(AGENTS, by="nmo")


class TestSelect:
    def test_keeps_the_fields_in_the_given_order(self, data: Data) -> None:
        assert data.select(AGENTS[:1], fields=["email", "nom"]) == [{"email": "a@x.fr", "nom": "Dupont"}]

    def test_a_field_a_record_lacks_is_empty(self, data: Data) -> None:
        assert data.select([{"a": 1}, {"b": 2}], fields=["a"]) == [{"a": 1}, {"a": None}]

    def test_renames_fields(self, data: Data) -> None:
        assert data.select([{"a": 1, "b": 2}], rename={"a": "x"}) == [{"x": 1, "b": 2}]

    def test_an_unknown_field_is_an_error(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="no record has a field 'mail'"):
            data.select(AGENTS, fields=["mail"])


class TestReadCsv:
    def test_a_round_trip_keeps_accented_text_and_semicolons(self, data: Data, tmp_path: Path) -> None:
        records: list[dict[str, Any]] = [
            {"nom": "Élodie Lefèvre", "adresse": "3 rue de l'Église; bât. B", "note": "ça va, merci"},
            {"nom": "Zoë", "adresse": None, "note": 'dit "oui"'},
        ]
        written = data.write_csv(records, "sortie/agents.csv")
        assert written == str((tmp_path / "sortie" / "agents.csv").resolve())
        raw = (tmp_path / "sortie" / "agents.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfnom;adresse;note\r\n")
        assert data.read_csv("sortie/agents.csv") == records

    def test_detects_commas(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("nom,ville\nDupont,Lyon\n", encoding="utf-8")
        assert data.read_csv("a.csv") == [{"nom": "Dupont", "ville": "Lyon"}]

    def test_detects_semicolons_despite_decimal_commas(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("nom;montant\nDupont;12,50\nMartin;3,10\n", encoding="utf-8")
        assert data.read_csv("a.csv") == [
            {"nom": "Dupont", "montant": "12,50"},
            {"nom": "Martin", "montant": "3,10"},
        ]

    def test_empty_cells_become_null_and_empty_lines_are_skipped(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("a;b;c\n1;;  \n\n2\n", encoding="utf-8")
        assert data.read_csv("a.csv") == [{"a": "1", "b": None, "c": None}, {"a": "2", "b": None, "c": None}]

    def test_a_line_with_too_many_cells_names_the_line(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("a;b\n1;2\n1;2;3\n", encoding="utf-8")
        with pytest.raises(BusinessError, match=r"a\.csv: line 3 has 3 cells but the header has 2"):
            data.read_csv("a.csv")

    def test_a_cp1252_file_read_as_utf8_names_the_file_and_line_and_suggests_cp1252(
        self, data: Data, tmp_path: Path
    ) -> None:
        (tmp_path / "excel.csv").write_bytes("nom;ville\nDupont;Lyon\nLefèvre;Orléans\n".encode("cp1252"))
        with pytest.raises(ConfigurationError) as caught:
            data.read_csv("excel.csv")
        assert (
            str(caught.value) == f"{tmp_path / 'excel.csv'}: line 3 is not valid utf-8-sig text (byte 0xE8)"
        )
        assert caught.value.hint is not None
        assert "`encoding: cp1252`" in caught.value.hint

    def test_a_cp1252_file_reads_with_encoding_cp1252(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "excel.csv").write_bytes("nom;ville\nLefèvre;Orléans\n".encode("cp1252"))
        assert data.read_csv("excel.csv", encoding="cp1252") == [{"nom": "Lefèvre", "ville": "Orléans"}]

    def test_a_missing_file_is_a_configuration_error_naming_the_resolved_path(
        self, data: Data, tmp_path: Path
    ) -> None:
        with pytest.raises(ConfigurationError, match=r"input file not found: .*absent\.csv") as caught:
            data.read_csv("donnees/absent.csv")
        assert str(tmp_path / "donnees" / "absent.csv") in str(caught.value)
        assert caught.value.hint is not None

    def test_an_unknown_encoding_is_a_configuration_error(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("a\n1\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match="unknown encoding 'utf-9'"):
            data.read_csv("a.csv", encoding="utf-9")

    def test_a_repeated_header_is_refused(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("a;b;a\n1;2;3\n", encoding="utf-8")
        with pytest.raises(BusinessError, match="the header repeats a"):
            data.read_csv("a.csv")

    def test_values_that_look_like_templates_stay_as_they_are(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("a\n{{ secrets.x }}\n", encoding="utf-8")
        assert data.read_csv("a.csv") == [{"a": "{{ secrets.x }}"}]


class TestWriteCsv:
    def test_columns_default_to_every_field_in_first_seen_order(self, data: Data, tmp_path: Path) -> None:
        data.write_csv(
            [{"b": 1}, {"a": True, "b": date(2024, 1, 2)}], "a.csv", delimiter=",", encoding="utf-8"
        )
        assert (tmp_path / "a.csv").read_bytes().decode() == "b,a\r\n1,\r\n2024-01-02,true\r\n"

    def test_given_columns_set_the_order(self, data: Data, tmp_path: Path) -> None:
        data.write_csv([{"a": 1, "b": 2}], "a.csv", columns=["b", "a", "c"], encoding="utf-8")
        assert (tmp_path / "a.csv").read_bytes().decode() == "b;a;c\r\n2;1;\r\n"

    def test_a_field_outside_the_columns_is_an_error(self, data: Data) -> None:
        with pytest.raises(BusinessError, match="record 2 has fields that are not columns: c"):
            data.write_csv([{"a": 1}, {"a": 2, "c": 3}], "a.csv", columns=["a"])

    def test_records_the_written_file(self, data: Data, tmp_path: Path, artifacts: list[Any]) -> None:
        data.write_csv([{"a": 1}], "a.csv")
        assert artifacts == [(tmp_path / "a.csv", "output", "written by data.write_csv")]


class TestAtomicWrite:
    def test_success_leaves_no_temporary_file(self, data: Data, tmp_path: Path) -> None:
        data.write_csv([{"a": 1}], "a.csv")
        data.write_json({"a": 1}, "a.json")
        assert leftovers(tmp_path) == []

    def test_a_failure_midway_keeps_the_original_and_leaves_no_temporary_file(
        self, data: Data, tmp_path: Path
    ) -> None:
        (tmp_path / "a.csv").write_text("ancien contenu\n", encoding="utf-8")
        records = [{"nom": "Lefèvre"}, {"nom": "東京"}]
        with pytest.raises(ConfigurationError, match=r"record 2 holds '東', which cp1252 cannot write"):
            data.write_csv(records, "a.csv", encoding="cp1252")
        assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "ancien contenu\n"
        assert leftovers(tmp_path) == []

    def test_refused_records_keep_the_original(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("ancien contenu\n", encoding="utf-8")
        with pytest.raises(BusinessError):
            data.write_csv([{"a": 1}, {"b": 2}], "a.csv", columns=["a"])
        assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "ancien contenu\n"
        assert leftovers(tmp_path) == []

    def test_an_exception_inside_the_block_removes_the_temporary_file(self, tmp_path: Path) -> None:
        with pytest.raises(RuntimeError), atomic_file(tmp_path / "x.bin") as handle:
            handle.write(b"partial")
            raise RuntimeError("boom")
        assert list(tmp_path.iterdir()) == []


class TestJson:
    def test_a_round_trip_keeps_accents_and_writes_dates_as_iso_text(
        self, data: Data, tmp_path: Path
    ) -> None:
        path = data.write_json(
            {"nom": "Élodie", "le": date(2024, 3, 1), "à": datetime(2024, 3, 1, 8, 30)}, "o/a.json"
        )
        text = Path(path).read_text(encoding="utf-8")
        assert '"nom": "Élodie"' in text
        assert data.read_json("o/a.json") == {"nom": "Élodie", "le": "2024-03-01", "à": "2024-03-01T08:30:00"}

    def test_indent_zero_writes_one_line(self, data: Data, tmp_path: Path) -> None:
        data.write_json([1, {"a": 2}], "a.json", indent=0)
        assert (tmp_path / "a.json").read_text(encoding="utf-8") == '[1, {"a": 2}]\n'

    def test_invalid_json_names_the_file_line_and_column(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.json").write_text('{\n  "a": 1,\n}\n', encoding="utf-8")
        with pytest.raises(BusinessError, match=r"a\.json:3:1: not valid JSON"):
            data.read_json("a.json")

    def test_values_without_a_json_form_are_refused_before_writing(self, data: Data, tmp_path: Path) -> None:
        with pytest.raises(BusinessError, match=r"data\.write_json: .*not JSON compliant"):
            data.write_json({"x": math.nan}, "a.json")
        with pytest.raises(BusinessError, match="bytes cannot be written as JSON"):
            data.write_json({"x": b"raw"}, "a.json")
        assert list(tmp_path.iterdir()) == []

    def test_a_missing_file_is_a_configuration_error(self, data: Data) -> None:
        with pytest.raises(ConfigurationError, match="input file not found"):
            data.read_json("absent.json")

    def test_reads_what_json_dumps_wrote(self, data: Data, tmp_path: Path) -> None:
        (tmp_path / "a.json").write_text(json.dumps({"n": [1, 2.5, None, True]}), encoding="utf-8")
        assert data.read_json(str(tmp_path / "a.json")) == {"n": [1, 2.5, None, True]}


spoken = locales.spoken


class TestInFrenchAndEnglish:
    """What a person reads of the data robot, under `LANG=fr_FR.UTF-8` in French and under `LANG=C` in English."""

    def test_a_line_with_too_many_cells(self, data: Data, tmp_path: Path, spoken: str) -> None:
        (tmp_path / "dossiers.csv").write_text("ref;nom\nA1;Dupont\nA2;Martin;en trop\n", encoding="utf-8")
        with pytest.raises(BusinessError) as caught:
            data.read_csv("dossiers.csv")
        source = tmp_path / "dossiers.csv"
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                f"{source} : la ligne 3 a 3 cellules mais l'en-tête en a 2",
                "vérifiez le séparateur (détecté : ';') et les guillemets sur cette ligne",
            ),
            "en": (
                f"{source}: line 3 has 3 cells but the header has 2",
                "check the separator (detected ';') and quotes on that line",
            ),
        }[spoken]

    def test_the_records_read_are_counted_in_the_language(
        self, data: Data, tmp_path: Path, logs: list[str], spoken: str
    ) -> None:
        (tmp_path / "un.csv").write_text("ref\nA1\n", encoding="utf-8")
        (tmp_path / "deux.csv").write_text("ref\nA1\nA2\n", encoding="utf-8")
        data.read_csv("un.csv")
        data.read_csv("deux.csv")
        assert (
            logs
            == {
                "fr": [
                    f"1 enregistrement lu dans {tmp_path / 'un.csv'} (séparateur ',')",
                    f"2 enregistrements lus dans {tmp_path / 'deux.csv'} (séparateur ',')",
                ],
                "en": [
                    f"read 1 record from {tmp_path / 'un.csv'} (separator ',')",
                    f"read 2 records from {tmp_path / 'deux.csv'} (separator ',')",
                ],
            }[spoken]
        )

    def test_mixed_kinds_to_sort_are_named_in_the_language(self, data: Data, spoken: str) -> None:
        with pytest.raises(BusinessError) as caught:
            data.sort([{"n": 3}, {"n": "abc"}], by="n")
        assert (caught.value.message, caught.value.hint) == {
            "fr": (
                (
                    "data.sort : impossible de trier par 'n' : ce champ mélange nombre (par exemple 3) "
                    "et texte (par exemple 'abc')"
                ),
                "rendez d'abord les valeurs de ce champ du même type, ou triez par un autre champ",
            ),
            "en": (
                "data.sort: cannot sort by 'n': it mixes number (e.g. 3) and text (e.g. 'abc')",
                "make the values of this field the same kind first, or sort by another field",
            ),
        }[spoken]
