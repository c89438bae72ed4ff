"""Reading the import files (CSV or XLSX) into plain rows of text, and writing the rejected rows back.

Nothing here touches the database or knows what a grid or a need is beyond the column names of
:data:`IMPORT_COLUMNS`; cell values are parsed by :mod:`pools.cells`.

Public API
----------
``read_table(data: bytes, filename: str) -> Table``
    Read an uploaded file. The format comes from the extension (``.csv`` or ``.xlsx``). CSV may be
    UTF-8 (with or without BOM), GBK/GB18030 (what Excel on Chinese Windows writes) or UTF-16 with
    BOM (Excel's "Unicode text"); its delimiter is ``,``, or a tab when the header row holds tabs and
    no commas. XLSX is read from its first worksheet, streamed. Raises :class:`TableError` (message in
    Chinese) when the file cannot be read, is empty, or has an unsupported extension, and as soon as
    reading meets a row past :data:`MAX_IMPORT_ROWS` data rows or a filled cell right of column
    :data:`MAX_IMPORT_COLUMNS` (or an .xlsx sheet records a size beyond them).
``check_columns(table, required, optional) -> list[CellError]``
    Header problems (missing required columns, unknown columns) and rows holding more cells than
    the header has columns. An empty list means the shape of the file is right.
``write_rejects_csv(path, columns, rows_with_errors) -> None`` and ``format_rejects_csv(...) -> bytes``
    The rejected rows with an added ``错误`` column, as a UTF-8-with-BOM CSV Excel opens directly;
    a cell Excel would run as a formula is defused (``core.exports``).
    A rejects file can be corrected and imported again as is: :func:`check_columns` ignores ``错误``.

Data
----
``Table(columns, rows, header_row)``: ``columns`` are the header cells stripped, BOM removed and
lower-cased; ``rows`` are the non-blank data rows. ``Row(number, values, overflow)``: ``number`` is
the row as Excel shows it (the header is row 1 unless blank rows precede it; a quoted CSV cell
spanning several lines is still one row); ``values`` maps every column to a stripped string (``""``
when empty); ``overflow`` holds the non-empty cells found right of the last column.
``CellError(row, column, reason)``: ``str()`` gives e.g. ``第 5 行，列 grid：未知网格编码 G999``.
``IMPORT_COLUMNS[kind] -> ColumnSpec(required, optional)`` for kind in grids/resources/volunteers/needs/buildings;
``TEMPLATES_DIR / f"{kind}.csv"`` is the example file users download.
"""
from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

from core.exports import format_csv, write_csv

TEMPLATES_DIR = Path(__file__).parent / "templates"

# The column added to the rejects file; tolerated on import so a corrected rejects file goes back in.
REJECTS_ERROR_COLUMN = "错误"

CSV_EXTENSION = ".csv"
ZIP_MAGIC = b"PK\x03\x04"
XLSX_EXTENSION = ".xlsx"

# Tried in order: strict UTF-8 almost never accepts GBK bytes by accident, while GB18030 accepts
# most byte strings, so it must come second.
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

# Characters that may surround a header or cell besides whitespace: a BOM left by a second save,
# zero-width spaces pasted from web pages.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"

# A cell shown in a message is cut to this many characters so one long text cannot flood a report.
SHOWN_VALUE_MAX_CHARS = 30

# Bounds of one import file, enforced while it is read: without them a 27 KB .xlsx with one cell in
# column XFD took 1.3 GB and 10 s (every row padded to 16,384 cells), and 500,000 rows ended in
# SQLite's "too many SQL variables". The widest kind has 12 columns (13 in a rejects file) and a
# subdistrict's pools run to a few thousand rows, so both bounds leave ample room; a bigger file is
# imported in parts. Rows are counted as numbered, blank ones included: they cost reading time too.
MAX_IMPORT_ROWS = 50_000  # data rows below a header in row 1
MAX_IMPORT_COLUMNS = 64


@dataclass(frozen=True)
class ColumnSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


IMPORT_COLUMNS: dict[str, ColumnSpec] = {
    "grids": ColumnSpec(("code", "name", "community", "party_grid", "neighbors"), ("boundary",)),
    "resources": ColumnSpec(
        ("ref", "name", "department", "service", "grids", "capacity", "skills", "description", "hours")
    ),
    "volunteers": ColumnSpec(
        (
            "ref", "name", "kind", "phone", "grid", "skills", "services", "availability", "capacity",
            "force", "party_member", "description",
        )
    ),
    "needs": ColumnSpec(("ref", "text", "grid", "urgency", "window", "contact"), ("service", "channel")),
    "buildings": ColumnSpec(("code", "name", "address", "aliases", "grid", "head", "households", "lng", "lat")),
}


class TableError(ValueError):
    """The file as a whole cannot be read; the message is in Chinese, fit to show the user."""


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]
    overflow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[Row]
    header_row: int = 1


@dataclass(frozen=True)
class CellError:
    """A problem in one cell; ``column`` is empty for a problem with the whole row."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        if self.column:
            return f"第 {self.row} 行，列 {self.column}：{self.reason}"
        return f"第 {self.row} 行：{self.reason}"


def show_value(text: str) -> str:
    """A cell value quoted for a message, cut when long."""
    if len(text) > SHOWN_VALUE_MAX_CHARS:
        text = text[:SHOWN_VALUE_MAX_CHARS] + "…"
    return f"“{text}”"


def clean_cell(text: str) -> str:
    # A line break inside a cell reads the same whichever program wrote it.
    return text.replace("\r\n", "\n").strip().strip(_INVISIBLE).strip()


def clean_header(text: str) -> str:
    return clean_cell(text).lower()


# ---------------------------------------------------------------------------------------- reading


def read_table(data: bytes, filename: str) -> Table:
    """Read a CSV or XLSX upload into a :class:`Table`; see the module docstring."""
    extension = Path(filename or "").suffix.lower()
    records: Iterable[tuple[int, list[str]]]
    if extension == CSV_EXTENSION:
        records = _csv_records(data)
    elif extension == XLSX_EXTENSION:
        records = _xlsx_records(data)
    elif extension in (".xls", ".et", ".numbers", ".ods"):
        raise TableError(f"不支持 {extension} 格式，请在表格软件中另存为 .xlsx 或 CSV 后再导入")
    else:
        raise TableError(f"不支持的文件类型{show_value(extension or filename)}，请上传 .csv 或 .xlsx 文件")
    return _build_table(records)


def _build_table(records: Iterable[tuple[int, list[str]]]) -> Table:
    header: list[str] | None = None
    header_row = 1
    raw_rows: list[tuple[int, list[str]]] = []
    for number, cells in records:
        cells = _bounded_cells(number, cells)
        if not any(cells):
            continue
        if header is None:
            header, header_row = [clean_header(c) for c in cells], number
        else:
            raw_rows.append((number, cells))
    if header is None:
        raise TableError("文件为空：第一行应为列名（表头），其后每行一条记录")

    named = [(i, header[i]) for i in _named_column_positions(header, header_row, raw_rows)]
    rows = [_make_row(number, cells, named, len(header)) for number, cells in raw_rows]
    return Table(columns=[name for _, name in named], rows=rows, header_row=header_row)


def _bounded_cells(number: int, cells: Sequence[str]) -> list[str]:
    """The cleaned cells of a row within the bounds; a row or a filled cell beyond them refuses the file.

    Checked on each row as it is read, so reading stops at the first one out of bounds.
    """
    if number > MAX_IMPORT_ROWS + 1:  # the header and MAX_IMPORT_ROWS data rows
        raise TableError(_too_many_rows_message())
    if any(clean_cell(c) for c in cells[MAX_IMPORT_COLUMNS:]):
        raise TableError(_too_many_columns_message(f"第 {number} 行在第 {MAX_IMPORT_COLUMNS} 列之后仍有内容"))
    return [clean_cell(c) for c in cells[:MAX_IMPORT_COLUMNS]]


def _too_many_rows_message() -> str:
    return f"文件行数超过上限 {MAX_IMPORT_ROWS} 行，请分批导入"


def _too_many_columns_message(detail: str) -> str:
    return f"文件列数超过上限 {MAX_IMPORT_COLUMNS} 列（{detail}），请删除多余的列后再导入"


def _named_column_positions(
    header: list[str], header_row: int, raw_rows: list[tuple[int, list[str]]]
) -> list[int]:
    """Positions of the named header cells; refuses nameless columns that hold data and duplicates.

    Excel often carries empty columns to the right of the data (a formatted but unused column);
    those are dropped rather than refused.
    """
    seen: set[str] = set()
    keep: list[int] = []
    for i, name in enumerate(header):
        if not name:
            holder = next((n for n, cells in raw_rows if i < len(cells) and cells[i]), None)
            if holder is not None:
                raise TableError(f"第 {header_row} 行（表头）的第 {i + 1} 列没有列名，但第 {holder} 行在该列有数据")
            continue
        if name in seen:
            raise TableError(f"第 {header_row} 行（表头）的列名 {name} 重复")
        seen.add(name)
        keep.append(i)
    return keep


def _make_row(number: int, cells: list[str], named: list[tuple[int, str]], header_width: int) -> Row:
    values = {name: (cells[i] if i < len(cells) else "") for i, name in named}
    return Row(number=number, values=values, overflow=tuple(c for c in cells[header_width:] if c))


def _csv_records(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV, read lazily so that reading stops at the bounds (:func:`_bounded_cells`)."""
    text = _decode_csv(data)
    # Excel writes CRLF and keeps a bare LF inside a cell; unify so a cell reads the same as in XLSX.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    # Excel shows one row per record however many lines a quoted cell spans, so count records.
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        raise TableError(f"CSV 文件第 {number + 1} 行格式有误，无法读取（{exc}）") from None


def _decode_csv(data: bytes) -> str:
    if not data.strip():
        raise TableError("文件为空：第一行应为列名（表头），其后每行一条记录")
    if data.startswith(ZIP_MAGIC):
        raise TableError("该文件实为 Excel 工作簿（.xlsx），请把扩展名改为 .xlsx 后再上传")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TableError("文件编码无法识别，请另存为“CSV UTF-8”或 GBK 编码的 CSV") from None
    # NUL never occurs in UTF-8 or GBK text; it marks a binary file or UTF-16 without its BOM.
    if b"\x00" not in data:
        for encoding in CSV_ENCODINGS:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise TableError("文件编码无法识别，请另存为“CSV UTF-8”或 GBK 编码的 CSV")


def _xlsx_records(data: bytes) -> list[tuple[int, list[str]]]:
    # Imported here so that reading CSV never pays for openpyxl's import.
    import openpyxl

    if not data:
        raise TableError("文件为空：第一行应为列名（表头），其后每行一条记录")
    # openpyxl warns about harmless oddities of files written by other tools (no default style,
    # unknown extensions); they are not the user's problem. catch_warnings is process-wide, but it
    # only ever widens "ignore" for the duration of this read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        # A damaged or foreign file fails in zipfile, the XML parser or openpyxl's own checks,
        # each with its own exception type; all mean the same to the user.
        except Exception as exc:
            raise TableError(f"无法打开该 .xlsx 文件，文件可能已损坏或并非 Excel 工作簿（{type(exc).__name__}）") from None
        try:
            if not workbook.worksheets:
                raise TableError("该 .xlsx 文件没有工作表")
            records = _sheet_records(workbook.worksheets[0])
        except TableError:
            raise
        except Exception as exc:  # a corrupt sheet part surfaces only while iterating
            raise TableError(f"读取 .xlsx 文件的第一个工作表失败，文件可能已损坏（{type(exc).__name__}）") from None
        finally:
            workbook.close()
    return records


def _sheet_records(sheet: Any) -> list[tuple[int, list[str]]]:
    """The rows of a read-only (streamed) sheet, never more than one row and one column past the bounds:
    enough for :func:`_bounded_cells` to refuse a sheet too big, while nothing further is ever read.

    ``sheet`` is openpyxl's ReadOnlyWorksheet, typed Any: its stubs borrow ``iter_rows`` from Worksheet.
    """
    _refuse_reported_size(sheet)
    # Some writers record a wrong sheet size; reading without it reaches every row up to the bound.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(max_row=MAX_IMPORT_ROWS + 2, max_col=MAX_IMPORT_COLUMNS + 1, values_only=True)
    return [(number, _row_text(values)) for number, values in enumerate(rows, start=1)]


def _refuse_reported_size(sheet: Any) -> None:
    """Refuse at once a sheet whose recorded size (its ``dimension``) is beyond the bounds."""
    if (sheet.max_column or 0) > MAX_IMPORT_COLUMNS:
        raise TableError(_too_many_columns_message(f"工作表用到第 {sheet.max_column} 列"))
    if (sheet.max_row or 0) > MAX_IMPORT_ROWS + 1:
        raise TableError(_too_many_rows_message())


def _row_text(values: Sequence[object]) -> list[str]:
    # Every row comes padded to the bound; dropping the empty tail keeps a narrow sheet cheap to clean.
    width = len(values)
    while width and values[width - 1] is None:
        width -= 1
    return [excel_value_text(v) for v in values[:width]]


def excel_value_text(value: object) -> str:
    """The text of an XLSX cell value as a person would type it.

    Whole numbers lose their ``.0`` (a phone 13800138000 or a capacity 3.0 read as numbers give
    "13800138000" and "3"), booleans read as Excel shows them, dates without a time of day as dates.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        whole_minute = value.second == 0 and not value.microsecond
        return value.isoformat(timespec="minutes" if whole_minute else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M") if value.second == 0 else value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds()) // 60
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return str(value)


# -------------------------------------------------------------------------------------- checking


def check_columns(table: Table, required: Sequence[str], optional: Sequence[str] = ()) -> list[CellError]:
    """Missing required columns, unknown columns, and rows wider than the header.

    Column names are compared lower-cased. The ``错误`` column of a rejects file is not unknown.
    When none of the header cells is a known column, one error says the header row is missing
    instead of listing every column twice.
    """
    required = [c.lower() for c in required]
    allowed = [*required, *(c.lower() for c in optional)]
    present = [c for c in table.columns if c != REJECTS_ERROR_COLUMN]
    header_row = table.header_row
    if required and not set(present) & set(allowed):
        return [
            CellError(
                header_row,
                "",
                f"未找到表头：第一行应为列名 {', '.join(allowed)}（可下载模板对照）",
            )
        ]
    errors = [CellError(header_row, c, "缺少必需的列") for c in required if c not in present]
    errors += [
        CellError(header_row, c, f"未知的列（允许的列：{', '.join(allowed)}）") for c in present if c not in allowed
    ]
    for row in table.rows:
        if row.overflow:
            errors.append(
                CellError(
                    row.number,
                    "",
                    f"该行比表头多出 {len(row.overflow)} 个有内容的单元格（如 {show_value(row.overflow[0])}）；"
                    "单元格内的英文逗号须用双引号括起，或改用分号",
                )
            )
    return errors


# ---------------------------------------------------------------------------------------- writing

def format_rejects_csv(
    columns: Sequence[str], rows_with_errors: Iterable[tuple[Row, Sequence[CellError | str]]]
) -> bytes:
    """The rejects file as bytes, for a download response; written by :mod:`core.exports`, so it is
    UTF-8 with BOM and a cell of other people's text never runs as a formula in Excel."""
    return format_csv(_rejects_rows(columns, rows_with_errors))


def _rejects_rows(
    columns: Sequence[str], rows_with_errors: Iterable[tuple[Row, Sequence[CellError | str]]]
) -> Iterator[list[str]]:
    columns = [c for c in columns if c != REJECTS_ERROR_COLUMN]
    yield [*columns, REJECTS_ERROR_COLUMN]
    for row, errors in rows_with_errors:
        yield [*(row.values.get(c, "") for c in columns), "；".join(str(e) for e in errors)]


def write_rejects_csv(
    path: str | PathLike[str],
    columns: Sequence[str],
    rows_with_errors: Iterable[tuple[Row, Sequence[CellError | str]]],
) -> None:
    """Write the rejected rows, each with its errors in an added ``错误`` column."""
    write_csv(path, _rejects_rows(columns, rows_with_errors))


__all__ = [
    "IMPORT_COLUMNS",
    "REJECTS_ERROR_COLUMN",
    "TEMPLATES_DIR",
    "CellError",
    "ColumnSpec",
    "Row",
    "Table",
    "TableError",
    "check_columns",
    "excel_value_text",
    "format_rejects_csv",
    "read_table",
    "show_value",
    "write_rejects_csv",
]
