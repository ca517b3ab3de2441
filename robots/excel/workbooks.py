"""The files the excel robot works on: their kind, opening them, their sheets and tables, reading and saving.

Every way a file can be unreadable (an old .xls, a password, a damaged file, another program holding it) becomes
an error with a hint; records are read as a stream; a file is written beside its destination and takes its name
only once complete; runs that change one file take turns.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import itertools
import shutil
import tempfile
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from robots.excel.rows import numbered, rows_to_records
from robots.excel.values import from_csv, header_names
from robots.kit import (
    ApplicationError,
    BusinessError,
    ConfigurationError,
    Robot,
    _,
    atomic_path,
    check_not_open,
    file_digest,
    missing_file,
    one_writer,
    read_csv_grid,
    write_csv_grid,
)

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

Record = dict[str, Any]
Kind = Literal["xlsx", "xlsm", "csv"]

_KINDS: dict[str, Kind] = {".xlsx": "xlsx", ".xlsm": "xlsm", ".csv": "csv"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BATCH = 500  # rows read at a time while openpyxl's warnings are silenced


def private_copy(source: Path) -> Path:
    """A copy of `source`, under its own name in a private temporary folder, that nobody else changes."""
    folder = Path(tempfile.mkdtemp(prefix="robo-rows-"))
    copy = folder / source.name
    try:
        shutil.copyfile(source, copy)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApplicationError(
            _("excel: cannot read {path}: {reason}").format(path=source, reason=exc.strerror),
            hint=_("check its permissions"),
        ) from None
    return copy


def kind_of(path: Path) -> Kind:
    """The kind of spreadsheet a path names, from its extension; a `ConfigurationError` for any other file."""
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        hint = (
            _("save it as .xlsx from Excel or LibreOffice")
            if path.suffix.lower() in (".xls", ".ods")
            else _("give a .xlsx, .xlsm or .csv file")
        )
        raise ConfigurationError(
            _("excel: {name} is not a spreadsheet this robot reads (.xlsx, .xlsm or .csv)").format(
                name=path.name
            ),
            hint=hint,
        )
    return kind


@contextmanager
def quiet_openpyxl() -> Iterator[None]:
    """Silence the warnings openpyxl gives about parts it does not understand (extensions, odd styles)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\..*)?$")
        yield


Method = TypeVar("Method", bound=Callable[..., Any])


def one_writer_at_a_time(method: Method) -> Method:
    """Make runs that change one workbook take turns.

    The file written (`output`, else `path`) is locked from the moment the action reads it until it is written,
    so that no run writes over rows another one just added.
    """
    signature = inspect.signature(method)

    @functools.wraps(method)
    def locked(self: WorkbookFiles, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        target = bound.arguments.get("output") or bound.arguments["path"]
        with one_writer(self.context.resolve_path(target), self.context.run_id, f"excel.{method.__name__}"):
            return method(self, *args, **kwargs)

    return cast(Method, locked)


class WorkbookFiles(Robot):
    """Opening, reading and saving the excel robot's files (its actions are in `robots.excel.excel`)."""

    def _existing(self, path: str) -> tuple[Path, Kind]:
        kind = kind_of(self.context.resolve_path(path))
        return self.context.input_file(path, _("spreadsheet")), kind

    def _load(self, path: Path, *, read_only: bool, keep_vba: bool = False) -> Workbook:
        """Open a workbook, turning every way a file can be unreadable into an error with a hint."""
        import openpyxl

        try:
            with path.open("rb") as handle:
                magic = handle.read(8)
        except OSError as exc:
            raise ApplicationError(
                _("excel: cannot read {path}: {reason}").format(path=path, reason=exc.strerror),
                hint=_("check its permissions"),
            ) from None
        if magic == _OLE_MAGIC:
            raise ConfigurationError(
                _(
                    "excel: {name} is an old .xls workbook or a password-protected one, not a .xlsx file"
                ).format(name=path.name),
                hint=_("open it in Excel or LibreOffice and save it as .xlsx (without a password)"),
            )
        try:
            with quiet_openpyxl():
                return openpyxl.load_workbook(
                    path, read_only=read_only, data_only=read_only, keep_vba=keep_vba, keep_links=False
                )
        except PermissionError as exc:
            raise ApplicationError(
                _("excel: cannot open {path}: {reason}").format(path=path, reason=exc.strerror),
                hint=_("another program may hold the file; close it and try again"),
            ) from None
        except Exception as exc:
            raise BusinessError(
                _("excel: {name} is not a valid Excel workbook (the file is damaged or not a .xlsx)").format(
                    name=path.name
                ),
                hint=_(
                    "open it in Excel to repair it, or check that it was fully downloaded; "
                    "a CSV or an old .xls renamed {suffix} is not a workbook"
                ).format(suffix=path.suffix),
                cause=[f"{path}: {type(exc).__name__}: {exc}"],
            ) from None

    def _sheet(self, workbook: Workbook, sheet: str | None, path: Path) -> Worksheet:
        if sheet is None:
            return workbook.active or workbook.worksheets[0]
        if sheet in workbook.sheetnames:
            return workbook[sheet]
        folded = {name.strip().casefold(): name for name in workbook.sheetnames}
        if sheet.strip().casefold() in folded:
            return workbook[folded[sheet.strip().casefold()]]
        close = difflib.get_close_matches(sheet, workbook.sheetnames, n=1)
        raise ConfigurationError(
            _("excel: {name} has no sheet {sheet}; its sheets are: {sheets}").format(
                name=path.name,
                sheet=repr(sheet),
                sheets=", ".join(repr(name) for name in workbook.sheetnames),
            ),
            hint=_("did you mean {name}?").format(name=repr(close[0]))
            if close
            else _("leave `sheet` out to use the first sheet"),
        )

    def _targets(self, path: str, output: str | None, action_name: str) -> tuple[Path, Path, Kind, bool]:
        """The file to read, the file to write, their kind, and whether to keep macros."""
        source = self.context.resolve_path(path)
        target = self.context.resolve_path(output) if output else source
        kind, target_kind = kind_of(source), kind_of(target)
        if (kind == "csv") != (target_kind == "csv") or (kind == "xlsx" and target_kind == "xlsm"):
            raise ConfigurationError(
                _("excel.{action}: cannot write a {kind} file as {name}").format(
                    action=action_name, kind=kind, name=target.name
                ),
                hint=_("give an `output` ending in .{kind} (.xlsm keeps the macros)").format(kind=kind)
                if kind == "xlsm"
                else _("give an `output` ending in .{kind}").format(kind=kind),
            )
        if output and not source.is_file():
            raise missing_file(source, _("spreadsheet"))
        check_not_open(target)
        if target != source:
            check_not_open(source)
        return source, target, target_kind, target_kind == "xlsm"

    def _save(self, workbook: Workbook, target: Path, action_name: str) -> str:
        with atomic_path(target, run_id=self.context.run_id) as temporary, quiet_openpyxl():
            workbook.save(temporary)
        return self._written(target, action_name)

    def _written(self, target: Path, action_name: str) -> str:
        self.context.log(
            _("excel.{action}: wrote {path}, sha256 {digest}").format(
                action=action_name, path=target, digest=file_digest(target)
            )
        )
        self.context.record_artifact(
            target, "output", _("written by excel.{action}").format(action=action_name)
        )
        return str(target.resolve())

    def _write_grid(
        self, rows: list[list[str]], target: Path, action_name: str, delimiter: str, encoding: str
    ) -> str:
        with atomic_path(target, run_id=self.context.run_id) as temporary:
            write_csv_grid(temporary, rows, delimiter, encoding)
        return self._written(target, action_name)

    def _records(
        self,
        source: Path,
        kind: Kind,
        sheet: str | None,
        table: str | None,
        header_row: int,
        first_row: int | None,
        last_row: int | None,
        skip_blank_rows: bool,
        columns: list[str] | None,
        row_number_field: str | None,
        delimiter: str,
        encoding: str,
    ) -> Generator[Record, None, None]:
        """The records of a file, read as they are asked for (see `read_rows`)."""
        if kind == "csv":
            grid = read_csv_grid(source, delimiter, encoding)
            with closing(grid):
                rows = ([from_csv(text) for text in row] for row in grid)
                rows_numbered = numbered(rows, start=1, skip=header_row - 1)
                yield from rows_to_records(
                    rows_numbered,
                    None,
                    source.name,
                    first_row,
                    last_row,
                    skip_blank_rows,
                    columns,
                    row_number_field,
                )
            return
        workbook = self._load(source, read_only=True)
        try:
            with quiet_openpyxl():
                if table is not None:
                    worksheet, bounds, header, start = self._table(workbook, source, table, sheet)
                    iterator = worksheet.iter_rows(values_only=True, **bounds)
                    rows_numbered = numbered(iterator, start=start, skip=0)
                    where = _("{name}, table {table}").format(name=source.name, table=repr(table))
                else:
                    worksheet = self._sheet(workbook, sheet, source)
                    worksheet.reset_dimensions()  # some programs write a wrong size; read what is there
                    iterator = worksheet.iter_rows(min_row=header_row, max_row=last_row, values_only=True)
                    rows_numbered = numbered(iterator, start=header_row, skip=0)
                    header = None
                    where = f"{source.name}!{worksheet.title}"
            with closing(iterator):
                records = rows_to_records(
                    rows_numbered,
                    header,
                    where,
                    first_row,
                    last_row,
                    skip_blank_rows,
                    columns,
                    row_number_field,
                )
                while True:  # openpyxl's warnings silenced while it reads, not while the records are used
                    with quiet_openpyxl():
                        batch = list(itertools.islice(records, _BATCH))
                    if not batch:
                        return
                    yield from batch
        finally:
            workbook.close()

    def _table(
        self, workbook: Workbook, source: Path, table: str, sheet: str | None
    ) -> tuple[Worksheet, dict[str, int], list[str], int]:
        from robots.excel.tables import workbook_tables

        with quiet_openpyxl():
            tables = workbook_tables(source)
        info = tables.get(table) or next(
            (t for k, t in tables.items() if k.casefold() == table.casefold()), None
        )
        if info is None:
            close = difflib.get_close_matches(table, list(tables), n=1)
            listed = ", ".join(repr(name) for name in sorted(tables)) or _("none")
            raise ConfigurationError(
                _("excel: {name} has no table {table}; its tables are: {tables}").format(
                    name=source.name, table=repr(table), tables=listed
                ),
                hint=_("did you mean {name}?").format(name=repr(close[0]))
                if close
                else _("give `sheet` to read a whole sheet instead"),
            )
        if sheet is not None and sheet != info.sheet:
            raise ConfigurationError(
                _("excel: table {table} is on sheet {sheet}, not {given}").format(
                    table=repr(info.name), sheet=repr(info.sheet), given=repr(sheet)
                ),
                hint=_("leave `sheet` out when you give `table`"),
            )
        start = info.min_row + info.header_rows
        bounds = {
            "min_row": start,
            "max_row": info.max_row - info.totals_rows,
            "min_col": info.min_col,
            "max_col": info.max_col,
        }
        header = header_names(list(info.columns))
        return workbook[info.sheet], bounds, header, start

    @contextmanager
    def _writable(self, source: Path, keep_vba: bool) -> Iterator[Workbook]:
        """A workbook loaded whole for changes; its copy of the macros is released however the step ends."""
        workbook = self._open_for_writing(source, keep_vba)
        try:
            yield workbook
        finally:
            if workbook.vba_archive is not None:
                workbook.vba_archive.close()

    def _open_for_writing(self, source: Path, keep_vba: bool) -> Workbook:
        import openpyxl

        if not source.is_file():
            workbook = openpyxl.Workbook()
            workbook.active.title = "Feuil1"
            return workbook
        workbook = self._load(source, read_only=False, keep_vba=keep_vba)
        if source.suffix.lower() == ".xlsm" and not keep_vba:
            self.context.log(
                _("excel: the macros of {name} are not copied to a .xlsx output").format(name=source.name)
            )
        return workbook

    def _sheet_or_new(self, workbook: Workbook, sheet: str | None, source: Path) -> Worksheet:
        if sheet is None or sheet in workbook.sheetnames:
            return self._sheet(workbook, sheet, source)
        if not source.is_file() and workbook.active.title == "Feuil1" and len(workbook.sheetnames) == 1:
            workbook.active.title = sheet
            return workbook.active
        return workbook.create_sheet(sheet)

    def _csv_grid(self, source: Path, delimiter: str, encoding: str) -> list[list[str]]:
        grid = read_csv_grid(source, delimiter, encoding)
        with closing(grid):
            return list(grid)
