"""Plain-text plan documents -> rows of cells.

Plans reach us as text extracted from Word tables and web pages, in three layouts that can mix in
one file:

* **tab cells** (Word table extraction): each cell starts on a line indented by a tab; a line
  without the tab continues the cell above (a second paragraph in the same cell); a blank line
  followed by a tab line starts the next row. A cell that is only a tab is an empty cell, and it is
  kept, because an empty units cell means "same as above". Extraction is not always that tidy, so
  rows are repaired against the table's usual width: a cell that follows a multi-paragraph cell
  after a blank line joins its row when the row is still short, and a row exactly two or more
  widths wide (the blank line between rows was lost) is cut into rows.
* **one cell per line** (web-page extraction): every non-blank line is a cell of its own; the ingest
  step reassembles rows from the header it finds.
* **pipe or tab-separated tables**: ``| 1 | 任务 | 单位 |`` or ``1<TAB>任务<TAB>单位`` on one line.
  Extractions also put one cell on a line with a ``|`` after it (``1 |``), or a ``|`` alone on a
  line between cells: any line with a ``|`` is a row of the cells between its pipes (a pipe at
  either end only closes the row), and a line that is only a ``|`` is no row at all; the ingest
  joins such partial rows by their content.

Lines outside any table (titles, issue dates, trailers) become one-cell rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from reminder.readers import Row

_PIPE_SEPARATOR = re.compile(r"^\|?[\s:\-|+]+\|?$")  # |---|:--:| lines of markdown tables
_SPACES = " \t\u00a0\u3000\ufeff"


@dataclass
class _Segment:
    """Cells gathered between row breaks; ``tab`` rows may need repair, other rows are final."""

    cells: list[str]
    line: int
    tab: bool = False
    ended_in_paragraph: bool = False  # its last line continued a cell (a plain line after a tab cell)


def read_text_rows(text: str, path: str) -> tuple[Row, ...]:
    """Split decoded text into rows; ``path`` is only for messages."""
    builder = _RowBuilder()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        builder.feed(line, number)
    builder.close_row()
    return tuple(Row(cells=tuple(seg.cells), line=seg.line) for seg in _repair(builder.segments))


class _RowBuilder:
    """Accumulates lines into segments; one instance reads one document."""

    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.paragraphs: list[list[str]] | None = None  # the open tab-cell row: paragraphs per cell
        self.row_line = 0
        self.blank_before = False
        self.last_was_paragraph = False

    def feed(self, line: str, number: int) -> None:
        stripped = line.strip(_SPACES)
        if not stripped and "\t" not in line:
            self.blank_before = True
            return
        body = line.lstrip(" \u00a0\u3000\ufeff")
        if _is_pipe_row(stripped):
            self._table_line(_pipe_cells(stripped), number)
        elif "\t" in body.strip(_SPACES):
            self._table_line(_tab_separated_cells(body), number)
        elif body.startswith("\t"):
            self._tab_cell(stripped, number)
        else:
            self._plain_line(stripped, number)
        self.blank_before = False

    def _tab_cell(self, text: str, number: int) -> None:
        """A tab-indented line opens a cell; after a blank line it opens a new row too."""
        if self.paragraphs is None or self.blank_before:
            self.close_row()
            self.paragraphs = []
            self.row_line = number
        self.paragraphs.append([text] if text else [])
        self.last_was_paragraph = False

    def _plain_line(self, text: str, number: int) -> None:
        """Inside a tab-cell row a plain line is another paragraph of the last cell."""
        if self.paragraphs:
            self.paragraphs[-1].append(text)
            self.last_was_paragraph = True
        else:
            self.segments.append(_Segment(cells=[text], line=number))

    def _table_line(self, cells: list[str], number: int) -> None:
        self.close_row()
        if any(cells):
            self.segments.append(_Segment(cells=cells, line=number))

    def close_row(self) -> None:
        if self.paragraphs is not None:
            cells = ["\n".join(p for p in paragraphs if p) for paragraphs in self.paragraphs]
            if any(cells):
                self.segments.append(_Segment(cells=cells, line=self.row_line, tab=True,
                                              ended_in_paragraph=self.last_was_paragraph))
        self.paragraphs = None
        self.last_was_paragraph = False


def _repair(segments: list[_Segment]) -> list[_Segment]:
    """Fix tab rows whose boundaries the extraction blurred, using the table's most common width.

    A blank line after a multi-paragraph cell may sit *inside* a row (Word keeps empty paragraphs),
    so the cells after it join that row while it is short of the usual width. A row exactly two or
    more widths wide lost the blank line between rows and is cut.
    """
    widths = Counter(len(seg.cells) for seg in segments if seg.tab and len(seg.cells) > 1)
    if not widths:
        return segments
    width = widths.most_common(1)[0][0]
    repaired: list[_Segment] = []
    for seg in segments:
        previous = repaired[-1] if repaired else None
        if (seg.tab and previous is not None and previous.tab and previous.ended_in_paragraph
                and len(previous.cells) + len(seg.cells) <= width):
            previous.cells = previous.cells + seg.cells
            previous.ended_in_paragraph = seg.ended_in_paragraph
            continue
        repaired.extend(_cut(seg, width))
    return repaired


def _cut(seg: _Segment, width: int) -> list[_Segment]:
    if not seg.tab or width < 2 or len(seg.cells) < 2 * width or len(seg.cells) % width:
        return [seg]
    return [_Segment(cells=seg.cells[i : i + width], line=seg.line, tab=True)
            for i in range(0, len(seg.cells), width)]


def _is_pipe_row(stripped: str) -> bool:
    return "|" in stripped or "｜" in stripped


def _pipe_cells(stripped: str) -> list[str]:
    """Cells between the pipes; a pipe at the start or end of the line only bounds the row."""
    if _PIPE_SEPARATOR.match(stripped):
        return []
    parts = [cell.strip(_SPACES) for cell in stripped.replace("｜", "|").split("|")]
    if parts and not parts[0]:
        parts = parts[1:]
    if parts and not parts[-1]:
        parts = parts[:-1]
    return parts


def _tab_separated_cells(body: str) -> list[str]:
    return [cell.strip(_SPACES) for cell in body.strip(_SPACES).split("\t")]
