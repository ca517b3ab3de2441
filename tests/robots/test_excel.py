"""The `excel` robot: records from and to .xlsx, .xlsm and .csv files, atomic writes, clear errors."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from robots.excel import Excel
from robots.kit import ApplicationError, BusinessError, ConfigurationError, RobotContext

VBA_BYTES = b"\xcc\x61" + bytes(range(256)) * 8  # stands for a compiled VBA project: opaque bytes to keep


LARGE = 100_000
# Streamed, the records of the 100 000 rows below take well under 1 MB at the peak (measured: 0.07 MB);
# read into a list, about 26 MB.
STREAMING_BOUND = 4 * 2**20


@pytest.fixture(scope="module")
def large_sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 000 rows, as a CSV file (a sheet saved as CSV: openpyxl under tracemalloc would take minutes)."""
    path = tmp_path_factory.mktemp("grand") / "grand.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("ref;n\n")
        handle.writelines(f"D-{n};{n}\n" for n in range(LARGE))
    return path


@pytest.fixture
def large_workbook(large_sheet: Path, robot_context: RobotContext) -> Path:
    target = robot_context.workflow_dir / large_sheet.name
    target.symlink_to(large_sheet)
    return target


@pytest.fixture
def excel(robot_context: RobotContext) -> Iterator[Excel]:
    robot = Excel(robot_context)
    yield robot
    robot.close()


AGENTS: list[dict[str, Any]] = [
    {
        "référence": "D1",
        "nom": "Lefèvre",
        "ville": "Orléans",
        "arrivée": dt.date(2026, 7, 23),
        "rendez-vous": dt.datetime(2026, 7, 24, 9, 30),
        "montant": 141831.55,
        "pièces": 3,
    },
    {
        "référence": "D2",
        "nom": "Çelik",
        "ville": "Besançon",
        "arrivée": dt.date(2026, 1, 2),
        "rendez-vous": None,
        "montant": 12,
        "pièces": 0,
    },
]


def make_workbook(path: Path, rows: list[list[Any]], title: str = "Agents", **more: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = title
    for row in rows:
        worksheet.append(row)
    for name, other in more.items():
        extra = workbook.create_sheet(name)
        for row in other:
            extra.append(row)
    workbook.save(path)
    return path


def make_xlsm(path: Path) -> Path:
    """A real macro-enabled package: an openpyxl workbook plus a vbaProject.bin part, its relation and type."""
    buffer = io.BytesIO()
    make_workbook(path.with_suffix(".tmp.xlsx"), [["référence", "statut"], ["D1", None]])
    buffer.write(path.with_suffix(".tmp.xlsx").read_bytes())
    path.with_suffix(".tmp.xlsx").unlink()
    main = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(main, b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/relationships/'
                    b'vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            target.writestr(item, data)
        target.writestr("xl/vbaProject.bin", VBA_BYTES)
    return path


@contextmanager
def opened(path: Path, **kwargs: Any) -> Iterator[Any]:
    workbook = openpyxl.load_workbook(path, **kwargs)
    try:
        yield workbook
    finally:
        workbook.close()


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class TestActionSpecs:
    def test_declares_its_actions_each_returning_a_value(self) -> None:
        specs = Excel.action_specs()
        assert set(specs) == {
            "read_rows",
            "write_rows",
            "append_rows",
            "write_cell",
            "update_rows",
            "create_workbook",
            "list_sheets",
        }
        for spec in specs.values():
            assert spec.returns

    def test_only_writing_actions_have_side_effects(self) -> None:
        changing = {name for name, spec in Excel.action_specs().items() if spec.side_effects}
        assert changing == {"write_rows", "append_rows", "write_cell", "update_rows", "create_workbook"}

    def test_a_bad_cell_reference_is_refused_before_the_run(self) -> None:
        spec = Excel.action_specs()["write_cell"]
        assert spec.check_value("cell", "B12") is None
        assert spec.check_value("cell", "12B") is not None


class TestReadRows:
    def test_values_keep_their_types(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(
            tmp_path / "a.xlsx",
            [
                ["nom", "date", "heure", "n", "x", "vide"],
                ["Lefèvre", dt.datetime(2026, 7, 23), dt.datetime(2026, 7, 23, 14, 5), 42, 3.5, None],
            ],
        )
        assert excel.read_rows("a.xlsx") == [
            {
                "nom": "Lefèvre",
                "date": dt.date(2026, 7, 23),
                "heure": dt.datetime(2026, 7, 23, 14, 5),
                "n": 42,
                "x": 3.5,
                "vide": None,
            }
        ]

    def test_header_row_first_and_last_rows_and_blank_rows(self, excel: Excel, tmp_path: Path) -> None:
        rows: list[list[Any]] = [
            ["Rapport mensuel"],
            [],
            ["n", "nom"],
            [1, "a"],
            [None, None],
            [2, "b"],
            [3, "c"],
            [4, "d"],
        ]
        make_workbook(tmp_path / "a.xlsx", rows)
        assert [r["n"] for r in excel.read_rows("a.xlsx", header_row=3)] == [1, 2, 3, 4]
        assert len(excel.read_rows("a.xlsx", header_row=3, skip_blank_rows=False)) == 5
        assert [r["n"] for r in excel.read_rows("a.xlsx", header_row=3, first_row=6, last_row=7)] == [2, 3]
        numbered = excel.read_rows("a.xlsx", header_row=3, row_number_field="ligne")
        assert [r["ligne"] for r in numbered] == [4, 6, 7, 8]

    def test_columns_keeps_only_those_in_that_order(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "a.xlsx", [["a", "b", "c"], [1, 2, 3]])
        assert excel.read_rows("a.xlsx", columns=["c", "a"]) == [{"c": 3, "a": 1}]
        with pytest.raises(BusinessError) as caught:
            excel.read_rows("a.xlsx", columns=["B "])
        assert "'a', 'b', 'c'" in str(caught.value)

    def test_unnamed_and_repeated_titles_get_names(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "a.xlsx", [["nom", None, "nom", 2026], ["a", "b", "c", "d"]])
        assert excel.read_rows("a.xlsx") == [{"nom": "a", "B": "b", "nom (2)": "c", "2026": "d"}]

    def test_a_sheet_by_name_and_a_missing_sheet_with_did_you_mean(
        self, excel: Excel, tmp_path: Path
    ) -> None:
        make_workbook(tmp_path / "a.xlsx", [["x"], [1]], Dossiers=[["y"], [2]])
        assert excel.read_rows("a.xlsx", "Dossiers") == [{"y": 2}]
        with pytest.raises(ConfigurationError) as caught:
            excel.read_rows("a.xlsx", "Dosiers")
        assert "'Agents', 'Dossiers'" in caught.value.message
        assert caught.value.hint == "did you mean 'Dossiers'?"

    def test_a_named_table(self, excel: Excel, tmp_path: Path) -> None:
        workbook = openpyxl.Workbook()
        worksheet = workbook.active
        worksheet.title = "Suivi"
        worksheet["A1"] = "Titre du rapport"
        for row, values in enumerate([["réf", "statut"], ["D1", "ouvert"], ["D2", "clos"]], start=3):
            for column, value in enumerate(values, start=2):
                worksheet.cell(row, column, value)
        worksheet.add_table(Table(displayName="Dossiers", ref="B3:C5"))
        workbook.save(tmp_path / "t.xlsx")
        assert excel.read_rows("t.xlsx", table="Dossiers") == [
            {"réf": "D1", "statut": "ouvert"},
            {"réf": "D2", "statut": "clos"},
        ]
        with pytest.raises(ConfigurationError, match="its tables are: 'Dossiers'"):
            excel.read_rows("t.xlsx", table="Dosiers")

    def test_a_missing_file_says_where_it_looked(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "dossiers.xlsx", [["x"]])
        with pytest.raises(ConfigurationError) as caught:
            excel.read_rows("dossier.xlsx")
        assert str(tmp_path / "dossier.xlsx") in caught.value.message
        assert caught.value.hint == "did you mean 'dossiers.xlsx'?"

    @pytest.mark.parametrize(
        "content",
        [b"nom;ville\nDupont;Lyon\n", b"PK\x03\x04 truncated", b""],
        ids=["csv-renamed", "truncated-zip", "empty"],
    )
    def test_a_corrupt_file_is_a_clear_error(self, excel: Excel, tmp_path: Path, content: bytes) -> None:
        (tmp_path / "cassé.xlsx").write_bytes(content)
        with pytest.raises(BusinessError) as caught:
            excel.read_rows("cassé.xlsx")
        assert caught.value.message.startswith("excel: cassé.xlsx is not a valid Excel workbook")
        assert caught.value.hint

    def test_an_old_xls_in_disguise_says_to_convert_it(self, excel: Excel, tmp_path: Path) -> None:
        (tmp_path / "vieux.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
        with pytest.raises(ConfigurationError, match=r"old \.xls"):
            excel.read_rows("vieux.xlsx")

    def test_an_unsupported_extension(self, excel: Excel, tmp_path: Path) -> None:
        (tmp_path / "a.xls").write_bytes(b"x")
        with pytest.raises(ConfigurationError) as caught:
            excel.read_rows("a.xls")
        assert caught.value.hint == "save it as .xlsx from Excel or LibreOffice"

    def test_a_hundred_thousand_rows_are_read_in_a_fixed_memory(
        self, excel: Excel, large_workbook: Path
    ) -> None:
        tracemalloc.start()
        try:
            records = excel.read_rows(large_workbook.name)
            total = 0
            for record in records:  # as a for_each goes through them
                total += record["n"]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert (len(records), total) == (LARGE, LARGE * (LARGE - 1) // 2)
        assert peak < STREAMING_BOUND, f"{peak / 2**20:.1f} MB at the peak"
        assert sum(1 for _ in records) == LARGE  # again (a loop reads its items' keys first)

    def test_a_sheet_is_streamed_and_can_be_gone_through_again(self, excel: Excel, tmp_path: Path) -> None:
        workbook = openpyxl.Workbook(write_only=True)
        worksheet = workbook.create_sheet("Données")
        worksheet.append(["n", "nom", "date", "montant"])
        for n in range(2_000):
            worksheet.append([n, f"Agent {n}", dt.date(2026, 1, 1) + dt.timedelta(days=n % 365), n * 1.5])
        workbook.save(tmp_path / "grand.xlsx")
        records = excel.read_rows("grand.xlsx")
        assert not isinstance(records, list)  # not read whole into memory
        assert len(records) == 2_000
        assert records[0] == {"n": 0, "nom": "Agent 0", "date": dt.date(2026, 1, 1), "montant": 0.0}
        assert records[-1] == {
            "n": 1_999,
            "nom": "Agent 1999",
            "date": dt.date(2026, 6, 24),
            "montant": 2998.5,
        }
        assert [r["n"] for r in records] == list(range(2_000))
        assert [r["n"] for r in records] == list(range(2_000))

    def test_each_pass_reads_the_rows_as_they_were_when_the_step_ran(
        self, excel: Excel, tmp_path: Path
    ) -> None:
        make_workbook(tmp_path / "suivi.xlsx", [["ref", "statut"], ["A", None], ["B", None]])
        records = excel.read_rows("suivi.xlsx")
        assert [r["ref"] for r in records] == ["A", "B"]
        excel.write_rows("suivi.xlsx", [{"ref": "C", "statut": "fait"}])
        assert list(records) == [{"ref": "A", "statut": None}, {"ref": "B", "statut": None}]
        assert excel.read_rows("suivi.xlsx") == [{"ref": "C", "statut": "fait"}]


class TestRoundTrip:
    def test_dates_and_accents_survive_xlsx(self, excel: Excel, tmp_path: Path) -> None:
        excel.write_rows("agents.xlsx", AGENTS)
        assert excel.read_rows("agents.xlsx") == AGENTS
        with opened(tmp_path / "agents.xlsx") as wb:
            cell = wb.active["D2"]
            assert cell.is_date and cell.value == dt.datetime(2026, 7, 23)
            assert wb.active["F2"].data_type == "n"

    def test_dates_and_accents_survive_csv(self, excel: Excel, tmp_path: Path) -> None:
        excel.write_rows("agents.csv", AGENTS)
        raw = (tmp_path / "agents.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfr\xc3\xa9f\xc3\xa9rence;nom;")  # utf-8 with BOM, ';'
        assert excel.read_rows("agents.csv") == AGENTS

    def test_csv_keeps_postcodes_and_long_identifiers_as_text(self, excel: Excel, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("cp;siret;n;x\n01000;15881399886981;12;3,5\n", encoding="utf-8")
        assert excel.read_rows("a.csv") == [{"cp": "01000", "siret": "15881399886981", "n": 12, "x": 3.5}]

    def test_csv_with_another_delimiter_and_encoding(self, excel: Excel, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_bytes("nom,ville\nLefèvre,Orléans\n".encode("cp1252"))
        with pytest.raises(ConfigurationError) as caught:
            excel.read_rows("a.csv", delimiter=",")
        assert caught.value.message.endswith("a.csv: line 2 is not valid utf-8-sig text (byte 0xE8)")
        assert "encoding: cp1252" in (caught.value.hint or "")
        assert excel.read_rows("a.csv", delimiter=",", encoding="cp1252") == [
            {"nom": "Lefèvre", "ville": "Orléans"}
        ]


class TestWriteRows:
    def test_output_leaves_the_input_untouched(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "in.xlsx", [["a"], [1]], Autre=[["garder"]])
        before = (tmp_path / "in.xlsx").read_bytes()
        written = excel.write_rows("in.xlsx", [{"b": 2}], output="sorties/out.xlsx")
        assert written == str(tmp_path / "sorties" / "out.xlsx")
        assert (tmp_path / "in.xlsx").read_bytes() == before
        assert excel.read_rows(written) == [{"b": 2}]
        assert excel.read_rows(written, "Autre") == []
        assert excel.list_sheets(written) == ["Agents", "Autre"]

    def test_without_output_the_file_itself_is_replaced(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "in.xlsx", [["a", "b", "c"], [1, 2, 3], [4, 5, 6]])
        excel.write_rows("in.xlsx", [{"x": "y"}])
        assert excel.read_rows("in.xlsx") == [{"x": "y"}]

    def test_a_new_sheet_is_created(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "in.xlsx", [["a"], [1]])
        excel.write_rows("in.xlsx", [{"b": 2}], "Bilan")
        assert excel.list_sheets("in.xlsx") == ["Agents", "Bilan"]
        assert excel.read_rows("in.xlsx") == [{"a": 1}]

    def test_text_starting_with_equals_is_not_a_formula(self, excel: Excel, tmp_path: Path) -> None:
        hostile = [{"nom": '=HYPERLINK("http://evil","clic")', "n": "=1+1"}]
        excel.write_rows("a.xlsx", hostile)
        with opened(tmp_path / "a.xlsx") as workbook:
            assert workbook.active["A2"].data_type == "s"
            assert workbook.active["A2"].value == hostile[0]["nom"]
        with zipfile.ZipFile(tmp_path / "a.xlsx") as package:
            assert b"<f>" not in package.read("xl/worksheets/sheet1.xml")
        assert excel.read_rows("a.xlsx") == hostile

    def test_formulas_true_writes_formulas(self, excel: Excel, tmp_path: Path) -> None:
        excel.write_rows("a.xlsx", [{"n": 1}, {"n": 2}, {"n": "=SUM(A2:A3)"}], formulas=True)
        with opened(tmp_path / "a.xlsx") as workbook:
            assert workbook.active["A4"].data_type == "f"

    def test_csv_text_that_would_run_as_a_formula_is_quoted(self, excel: Excel, tmp_path: Path) -> None:
        excel.write_rows("a.csv", [{"nom": "=cmd|' /C calc'!A0", "n": -3, "t": "@SUM(1)"}])
        assert (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()[
            1
        ] == "'=cmd|' /C calc'!A0;-3;'@SUM(1)"
        assert excel.read_rows("a.csv") == [{"nom": "=cmd|' /C calc'!A0", "n": -3, "t": "@SUM(1)"}]

    def test_an_output_of_another_kind_is_refused(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "in.xlsx", [["a"]])
        with pytest.raises(ConfigurationError, match=r"cannot write a xlsx file as out\.csv"):
            excel.write_rows("in.xlsx", [{"a": 1}], output="out.csv")

    def test_records_must_be_mappings(self, excel: Excel) -> None:
        with pytest.raises(BusinessError, match="record 2 is not a mapping"):
            excel.write_rows("a.xlsx", [{"a": 1}, "b"])  # type: ignore[list-item]


class TestAtomicWrites:
    def test_a_failed_save_leaves_the_original_and_no_temporary_file(
        self, excel: Excel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        make_workbook(tmp_path / "in.xlsx", [["a"], [1]])
        before = folder_state(tmp_path)

        def broken_save(self: Any, filename: Any) -> None:
            Path(filename).write_bytes(b"PK half a workbook")
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
        with pytest.raises(OSError, match="No space left"):
            excel.update_rows("in.xlsx", "a", [{"a": 1, "statut": "ok"}])
        assert folder_state(tmp_path) == before

    def test_a_failed_csv_write_leaves_the_original(
        self, excel: Excel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "a.csv").write_text("a\n1\n", encoding="utf-8")
        before = folder_state(tmp_path)
        with pytest.raises(ConfigurationError, match="unknown encoding"):
            excel.write_rows("a.csv", [{"a": 2}], encoding="klingon")
        assert folder_state(tmp_path) == before

    def test_a_workbook_open_in_excel_is_a_retryable_error(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "suivi.xlsx", [["a"], [1]])
        (tmp_path / "~$suivi.xlsx").write_bytes(b"owner")
        before = folder_state(tmp_path)
        with pytest.raises(ApplicationError) as caught:
            excel.write_cell("suivi.xlsx", "B2", "x")
        assert "suivi.xlsx is open in another program" in caught.value.message
        assert "~$suivi.xlsx" in caught.value.message
        assert "close the file" in (caught.value.hint or "")
        assert folder_state(tmp_path) == before
        assert excel.read_rows("suivi.xlsx") == [{"a": 1}]  # reading is still possible

    def test_a_libreoffice_lock_counts_too(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "suivi.xlsx", [["a"]])
        (tmp_path / ".~lock.suivi.xlsx#").write_text("x", encoding="utf-8")
        with pytest.raises(ApplicationError, match="open in another program"):
            excel.append_rows("suivi.xlsx", [{"a": 1}])


class TestMacros:
    def test_xlsm_macros_are_kept_in_place_and_in_an_output(self, excel: Excel, tmp_path: Path) -> None:
        make_xlsm(tmp_path / "macros.xlsm")
        excel.update_rows("macros.xlsm", "référence", [{"référence": "D1", "statut": "Saisi"}])
        excel.write_cell("macros.xlsm", "A3", "D2", output="copie.xlsm")
        for name in ("macros.xlsm", "copie.xlsm"):
            with zipfile.ZipFile(tmp_path / name) as package:
                assert package.read("xl/vbaProject.bin") == VBA_BYTES
                assert b"macroEnabled" in package.read("[Content_Types].xml")
        assert excel.read_rows("copie.xlsm") == [
            {"référence": "D1", "statut": "Saisi"},
            {"référence": "D2", "statut": None},
        ]

    def test_an_xlsm_written_as_xlsx_drops_the_macros_and_stays_valid(
        self, excel: Excel, tmp_path: Path
    ) -> None:
        make_xlsm(tmp_path / "macros.xlsm")
        excel.write_cell("macros.xlsm", "B2", "x", output="sans.xlsx")
        with zipfile.ZipFile(tmp_path / "sans.xlsx") as package:
            assert "xl/vbaProject.bin" not in package.namelist()
        assert excel.read_rows("sans.xlsx") == [{"référence": "D1", "statut": "x"}]


class TestUpdateRows:
    def test_status_is_written_back_by_key(self, excel: Excel, tmp_path: Path, logs: list[str]) -> None:
        make_workbook(
            tmp_path / "d.xlsx",
            [["reference", "nom", "statut"], ["D1", "a", None], [2, "b", None], ["D3", "c", "ancien"]],
        )
        summary = excel.update_rows(
            "d.xlsx",
            "reference",
            [
                {"reference": "D1", "statut": "Saisi", "numero": "DOS-0001"},
                {"reference": "2", "statut": "Refusé", "numero": None},
                {"reference": "D9", "statut": "Saisi"},
            ],
            output="d-saisi.xlsx",
        )
        assert summary == {
            "path": str(tmp_path / "d-saisi.xlsx"),
            "updated": 2,
            "not_found": ["D9"],
            "columns_added": ["numero"],
        }
        assert excel.read_rows("d-saisi.xlsx") == [
            {"reference": "D1", "nom": "a", "statut": "Saisi", "numero": "DOS-0001"},
            {"reference": 2, "nom": "b", "statut": "Refusé", "numero": None},
            {"reference": "D3", "nom": "c", "statut": "ancien", "numero": None},
        ]
        assert excel.read_rows("d.xlsx")[0]["statut"] is None
        assert any("D9" in line for line in logs)

    def test_a_missing_key_column_names_the_columns(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "d.xlsx", [["Référence externe", "nom"], ["D1", "a"]])
        with pytest.raises(BusinessError) as caught:
            excel.update_rows("d.xlsx", "Reference externe", [{"Reference externe": "D1", "s": 1}])
        assert "'Référence externe', 'nom'" in caught.value.message
        assert caught.value.hint == "did you mean 'Référence externe'?"

    def test_an_update_without_its_key_is_refused(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "d.xlsx", [["ref"], ["D1"]])
        with pytest.raises(BusinessError, match="update 1 has no value for the key 'ref'"):
            excel.update_rows("d.xlsx", "ref", [{"statut": "x"}])

    def test_csv_rows_are_updated_too(self, excel: Excel, tmp_path: Path) -> None:
        (tmp_path / "d.csv").write_text("ref;nom\nD1;Lefèvre\nD2;Çelik\n", encoding="utf-8-sig")
        excel.update_rows("d.csv", "ref", [{"ref": "D2", "traité le": dt.date(2026, 3, 1)}])
        assert excel.read_rows("d.csv") == [
            {"ref": "D1", "nom": "Lefèvre", "traité le": None},
            {"ref": "D2", "nom": "Çelik", "traité le": dt.date(2026, 3, 1)},
        ]


class TestAppendAndWriteCell:
    def test_append_adds_after_the_last_row_and_new_columns(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "j.xlsx", [["date", "message"], [dt.datetime(2026, 1, 1), "début"]])
        excel.append_rows("j.xlsx", [{"message": "suite", "date": dt.date(2026, 1, 2), "agent": "Zoé"}])
        assert excel.read_rows("j.xlsx") == [
            {"date": dt.date(2026, 1, 1), "message": "début", "agent": None},
            {"date": dt.date(2026, 1, 2), "message": "suite", "agent": "Zoé"},
        ]

    def test_append_creates_a_new_file_with_a_header(self, excel: Excel) -> None:
        excel.append_rows("nouveau.xlsx", [{"a": 1}])
        excel.append_rows("nouveau.xlsx", [{"a": 2}])
        assert excel.read_rows("nouveau.xlsx") == [{"a": 1}, {"a": 2}]
        excel.append_rows("journal.csv", [{"a": "é"}])
        excel.append_rows("journal.csv", [{"a": "è", "b": 1}])
        assert excel.read_rows("journal.csv") == [{"a": "é", "b": None}, {"a": "è", "b": 1}]

    def test_append_to_a_missing_sheet_is_an_error(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "j.xlsx", [["a"]])
        with pytest.raises(ConfigurationError, match="no sheet 'Journal'"):
            excel.append_rows("j.xlsx", [{"a": 1}], "Journal")

    def test_write_cell(self, excel: Excel, tmp_path: Path) -> None:
        make_workbook(tmp_path / "c.xlsx", [["a", "b"], [1, 2]])
        excel.write_cell("c.xlsx", "B2", dt.date(2026, 5, 1))
        excel.write_cell("c.xlsx", "$A$3", "=2+2")
        assert excel.read_rows("c.xlsx") == [{"a": 1, "b": dt.date(2026, 5, 1)}, {"a": "=2+2", "b": None}]
        (tmp_path / "c.csv").write_text("a;b\n1;2\n", encoding="utf-8")
        excel.write_cell("c.csv", "C1", "c")
        assert excel.read_rows("c.csv") == [{"a": 1, "b": 2, "c": None}]

    def test_write_cell_needs_an_existing_file(self, excel: Excel, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="spreadsheet not found"):
            excel.write_cell("absent.xlsx", "A1", 1)


class TestCreateAndListSheets:
    def test_create_a_workbook_with_sheets_and_columns(self, excel: Excel) -> None:
        path = excel.create_workbook("neuf.xlsx", ["Dossiers", "Journal"], columns=["ref", "statut"])
        assert excel.list_sheets(path) == ["Dossiers", "Journal"]
        assert excel.read_rows(path, skip_blank_rows=False) == []
        with pytest.raises(BusinessError, match="already exists"):
            excel.create_workbook("neuf.xlsx")
        excel.create_workbook("neuf.xlsx", overwrite=True)
        assert excel.list_sheets("neuf.xlsx") == ["Feuil1"]

    def test_a_csv_has_one_sheet_named_after_it(self, excel: Excel) -> None:
        excel.create_workbook("liste.csv", columns=["a", "b"])
        assert excel.list_sheets("liste.csv") == ["liste"]
        assert excel.read_rows("liste.csv") == []
