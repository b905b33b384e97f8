"""A legacy Excel workbook (.xls, and WPS .et, which is the same format) -> rows, sheet after sheet.

Read with xlrd, without LibreOffice. As for .xlsx: every visible worksheet in workbook order, merged
ranges resolved by writing the top-left value into every position they cover, dates as "2021年9月30日",
integral numbers without ".0". The grid is built from the cells that hold a value, so a sheet with one
stray cell far out is refused by the grid bound (``check_grid``) before anything is allocated.
``Row.line`` is the worksheet's row number as Excel shows it.
"""

from __future__ import annotations

from datetime import datetime

from reminder.errors import InputError
from reminder.readers import Row, check_grid, check_span
from reminder.readers.xlsx import render


class XlsFormatError(Exception):
    """The file is OLE2 but not a workbook xlrd can follow (a caller may try LibreOffice instead)."""


def read_xls(data: bytes, path: str) -> tuple[Row, ...]:
    """Rows of every visible sheet of an .xls given as bytes."""
    book = _open(data, path)
    rows: list[Row] = []
    for sheet in book.sheets():
        if sheet.visibility == 0:
            rows.extend(_sheet_rows(book, sheet, path))
    return tuple(rows)


def _open(data: bytes, path: str):
    import xlrd

    try:
        # ragged_rows: a row holds only up to its last cell, so memory follows the cells, not the extent;
        # formatting_info: needed for the merged ranges.
        return xlrd.open_workbook(file_contents=data, formatting_info=True, ragged_rows=True,
                                  logfile=_Silent())
    except xlrd.XLRDError as err:
        if "password" in str(err).lower() or "encrypt" in str(err).lower():
            raise InputError("is protected by a password; open it, remove the password and save it again",
                             path) from None
        raise XlsFormatError(str(err)) from None
    except NotImplementedError as err:  # formatting_info for .xlsx-in-disguise and the like
        raise XlsFormatError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - xlrd trusts the BIFF records and fails in any way on damage
        raise InputError(f"is not a valid .xls (a record inside it is damaged: {type(err).__name__}); "
                         "re-save it from Excel or WPS", path) from None


def _sheet_rows(book, sheet, path: str) -> list[Row]:
    """One sheet's non-empty rows, merged ranges filled, trailing empty columns trimmed."""
    values: dict[tuple[int, int], str] = {}
    for r in range(sheet.nrows):
        for c in range(sheet.row_len(r)):
            text = _cell_text(book, sheet.cell(r, c))
            if text:
                values[(r, c)] = text
    height = max((r for r, _ in values), default=-1) + 1
    width = max((c for _, c in values), default=-1) + 1
    check_grid(height, width, path, f"sheet '{sheet.name}'")
    for top, bottom, left, right in sheet.merged_cells:  # half-open ranges
        check_span(bottom - top, right - left, path, f"sheet '{sheet.name}'")
        value = values.get((top, left), "")
        for r in range(top, min(bottom, height)):
            for c in range(left, min(right, width)):
                if value:
                    values[(r, c)] = value
    rows = []
    for r in range(height):
        cells = tuple(values.get((r, c), "") for c in range(width))
        if any(cells):
            rows.append(Row(cells=cells, line=r + 1))
    return rows


def _cell_text(book, cell) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return render(datetime(*xlrd.xldate_as_tuple(cell.value, book.datemode)))
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return render(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return render(bool(cell.value))
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return render(cell.value)


class _Silent:
    """xlrd writes warnings about odd records to a log file; they are not the user's business."""

    def write(self, text: str) -> int:
        return len(text)
