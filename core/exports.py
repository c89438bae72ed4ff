"""Spreadsheet-safe exports: the one home for writing files that people open in Excel or WPS.

Excel, WPS and LibreOffice run a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
when they open a CSV, and a leading tab or carriage return can smuggle one past a check (CSV or
formula injection, OWASP). The text of our exports is typed by other people (volunteers' names, grid
names, needs, the cells of a rejected import), so a name such as ``=HYPERLINK("http://…","点我")``
would become a live link, and ``=cmd|' /C calc'!A0`` a program run. Every cell written through this
module goes through :func:`defuse_cell`, which puts a ``'`` in front of such text: spreadsheets then
show the text as typed and run nothing.

One exception, decided on purpose: a value made only of a leading sign and digits, spaces, dots,
dashes and parentheses (``-3.5``, ``+86 138 0013 8000``) is left alone. It holds no letter, ``|``,
``!`` or quote, so it can name no function, cell or program: the most a spreadsheet can do with it
is arithmetic. Left alone, a negative number stays a number and a phone written internationally
reads back (and re-imports, from a rejects file) as typed.

Files are UTF-8 with a byte-order mark, so Excel on Chinese Windows reads the Chinese as UTF-8
rather than GBK, and lines end in CRLF, as Excel itself writes them.

An XLSX export (:func:`format_xlsx`) keeps numbers as numbers, with a number format per column (a rate
as ``0.0%``); a text cell that would start a formula is stored as text with Excel's own quote prefix
(what typing ``'=…`` in Excel stores): it shows as typed, without the ``'``, and never runs, even once
edited.

Pure: the standard library only, so every room may use it; openpyxl is imported by :func:`format_xlsx`
alone, when it is called.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, TextIO

# What spreadsheets take as the start of a formula (OWASP's list).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# The prefix that makes a spreadsheet read the rest of the cell as plain text.
TEXT_PREFIX = "'"
# A signed value that can only be arithmetic: see the module docstring.
_SIGNED_NUMBER_RE = re.compile(r"[+-][\d\s().-]*")

CSV_ENCODING = "utf-8-sig"
CSV_LINE_END = "\r\n"

Rows = Iterable[Iterable[object]]


def defuse_cell(value: str) -> str:
    """``value`` as a spreadsheet will show it without running it: ``'`` in front of a formula."""
    if not value.startswith(FORMULA_STARTS) or _SIGNED_NUMBER_RE.fullmatch(value):
        return value
    return TEXT_PREFIX + value


def cell_text(value: object) -> str:
    """The defused text of any cell value; ``None`` is an empty cell."""
    return "" if value is None else defuse_cell(str(value))


def _write_rows(stream: TextIO, rows: Rows) -> None:
    writer = csv.writer(stream, lineterminator=CSV_LINE_END)
    for row in rows:
        writer.writerow([cell_text(value) for value in row])


def format_csv(rows: Rows) -> bytes:
    """The rows (the header first) as a spreadsheet-safe CSV file, for a download response."""
    buffer = io.StringIO(newline="")
    _write_rows(buffer, rows)
    return buffer.getvalue().encode(CSV_ENCODING)


def write_csv(path: str | PathLike[str], rows: Rows) -> None:
    """Write the rows (the header first) to ``path`` as a spreadsheet-safe CSV, row by row."""
    with open(path, "w", encoding=CSV_ENCODING, newline="") as stream:
        _write_rows(stream, rows)


@dataclass(frozen=True)
class Sheet:
    """One worksheet of an XLSX export: ``rows`` with the header first (written bold, frozen at the top);
    ``number_formats`` by column index (0-based) for the cells below the header, e.g. ``{5: "0.0%"}``;
    ``widths`` by column index, in characters (default: from the longest text of the column)."""
    title: str
    rows: Sequence[Sequence[object]]
    number_formats: Mapping[int, str] = field(default_factory=dict)
    widths: Mapping[int, float] = field(default_factory=dict)


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_TITLE_MAX = 31  # Excel's limit
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
_MAX_WIDTH = 60


def _display_width(value: object) -> float:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK characters take two columns


def format_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as an .xlsx workbook, for a download response. ``None`` is an empty cell; numbers,
    dates and booleans keep their type; text that would start a formula is stored as quoted text, and
control characters that XML cannot hold are dropped."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for sheet in sheets:
        title = _SHEET_TITLE_FORBIDDEN.sub("_", sheet.title)[:_SHEET_TITLE_MAX] or "Sheet"
        out = workbook.create_sheet(title)
        widths: dict[int, float] = {}
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                cell: Any = out.cell(row=r, column=c + 1)
                if isinstance(value, str):
                    # Control characters XML cannot hold would make openpyxl refuse the whole file.
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.value = value
                    if value.startswith(FORMULA_STARTS):
                        cell.data_type = "s"  # openpyxl took it for a formula
                        cell.quotePrefix = True
                elif value is not None:
                    cell.value = value
                if r == 1:
                    cell.font = bold
                elif c in sheet.number_formats and isinstance(value, (int, float)):
                    cell.number_format = sheet.number_formats[c]
                widths[c] = max(widths.get(c, 0), _display_width(value))
        for c, width in widths.items():
            letter = get_column_letter(c + 1)
            out.column_dimensions[letter].width = sheet.widths.get(c, min(_MAX_WIDTH, width + 2))
        out.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = ["CSV_ENCODING", "FORMULA_STARTS", "XLSX_MIMETYPE", "Sheet", "cell_text", "defuse_cell", "format_csv",
           "format_xlsx", "write_csv"]
