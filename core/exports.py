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

Pure: the standard library only, so every room may use it. There are no XLSX exports; one added
later must pass its cells through :func:`defuse_cell` too.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from os import PathLike
from typing import TextIO

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


__all__ = ["CSV_ENCODING", "FORMULA_STARTS", "cell_text", "defuse_cell", "format_csv", "write_csv"]
