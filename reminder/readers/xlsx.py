"""An .xlsx workbook -> rows, sheet after sheet, as an office's ledger (台账) shows them.

Every visible worksheet is read in workbook order (hidden sheets usually hold drop-down lists, not
the plan). A merged range is resolved by writing the value of its top-left cell into every position
it covers, so a merged section or unit cell carries down and a header spanning two columns appears
twice. Values become the text a person sees, in the form the deadline parser reads: a date typed as
a date becomes "2021年9月30日", an integer-valued number loses its ".0". Formulas give their cached
result (a workbook saved by Excel or WPS has one; one written by a script may not, and reads as "").

Columns to the right of the last one that holds a value anywhere in the sheet are dropped, as are
fully empty rows. ``Row.line`` is the worksheet's own row number, as Excel shows it.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from datetime import date, datetime, time

from reminder.errors import InputError
from reminder.readers import Row, check_grid, check_span, check_zip


def read_xlsx(data: bytes, path: str) -> tuple[Row, ...]:
    """Rows of every visible sheet of an .xlsx given as bytes; ``InputError`` if it cannot be read."""
    workbook = _open_workbook(data, path)
    rows: list[Row] = []
    for sheet in workbook.worksheets:
        if sheet.sheet_state == "visible":
            rows.extend(_sheet_rows(sheet))
    return tuple(rows)


def _open_workbook(data: bytes, path: str):
    """The workbook with cached formula values; not read-only, because read-only mode loses merges."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_sheet_extents(check_zip(data, path), path)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError,
            EOFError, zlib.error) as err:
        raise InputError(f"is not a valid .xlsx ({type(err).__name__}: {err}); re-save it from Excel "
                         f"(or WPS) as .xlsx", path) from None
    except Exception:  # noqa: BLE001 - openpyxl trusts the package's structure (OSError "no valid
        # workbook part", AttributeError on a foreign root element); whatever it raises, the file is wrong.
        raise InputError("is not a valid .xlsx (a part inside it is damaged); re-save it from Excel "
                         "(or WPS) as .xlsx", path) from None


_CELL_WITH_CONTENT = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(?<!/)>')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"')


def _check_sheet_extents(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse, before openpyxl builds anything, a sheet whose cells or merges span more than a plan can.

    openpyxl makes an object for every position a merged range covers, and iterates every position
    up to the last cell: a 5 KB file with one range over the whole sheet, or one cell at XFD1048576,
    would take gigabytes. The sheet parts were size-checked by ``check_zip``.
    """
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        xml = archive.read(name)
        where = f"sheet {name.rsplit('/', 1)[-1].removesuffix('.xml')}"
        rows = columns = 0
        for found in _CELL_WITH_CONTENT.finditer(xml):
            columns = max(columns, _column_number(found.group(1)))
            rows = max(rows, int(found.group(2)))
        check_grid(rows, columns, path, where)
        for found in _MERGE.finditer(xml):
            first_column, first_row, last_column, last_row = (
                _column_number(found.group(1)), int(found.group(2)), _column_number(found.group(3)), int(found.group(4)))
            check_span(abs(last_row - first_row) + 1, abs(last_column - first_column) + 1, path, where)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_rows(sheet) -> list[Row]:
    """One sheet's non-empty rows, merged ranges filled, trailing empty columns trimmed."""
    merged = _merged_values(sheet)
    grid = []
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        texts = [render(merged.get((number, col), value)) for col, value in enumerate(cells, start=1)]
        grid.append((number, texts))
    width = max((col for _, texts in grid for col, text in enumerate(texts, start=1) if text), default=0)
    return [Row(cells=tuple(texts[:width]), line=number) for number, texts in grid if any(texts)]


def _merged_values(sheet) -> dict[tuple[int, int], object]:
    """(row, column) -> the value of the top-left cell, for every position a merged range covers."""
    values: dict[tuple[int, int], object] = {}
    for merged in sheet.merged_cells.ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        # Clamped to the used area: a range merged down a whole column would otherwise mean a million entries.
        for row in range(merged.min_row, min(merged.max_row, sheet.max_row) + 1):
            for col in range(merged.min_col, min(merged.max_col, sheet.max_column) + 1):
                values[(row, col)] = value
    return values


def render(value: object) -> str:
    """A cell value as the text a person reads in the cell (dates in the 2021年9月30日 form)."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
