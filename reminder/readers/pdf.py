"""A PDF with a text layer -> rows: ruled tables as grids, the text around them as paragraphs.

Plans published as PDF attachments are Word tables printed to PDF: the table's borders are drawn
as line segments (or thin rectangles), the text as positioned characters. PDFium (through pypdfium2)
gives both quickly, and the table is rebuilt from them here:

1. The page's straight horizontal and vertical segments (path objects, transformed to page space)
   are clustered into rules; rules that touch form one table.
2. The rules' positions cut the table into a grid of slots; two neighbouring slots with no rule
   between them belong to one merged cell. Every slot a merged cell covers holds its text, as the
   other readers do.
3. A cell's characters are put into lines by their height on the page; a line that runs to the
   cell's right edge was wrapped and joins the next line directly, a shorter one ends a paragraph
   ("\\n"), so a sentence broken by the column width reads whole and "1.…" lines stay apart.

Characters outside every table become paragraphs (the title, the notice, the issue date) the same
way, against the page's text width. Tables without any rules are read as lines of text, cells cut
where wide gaps separate the characters. A PDF with no characters at all is a scan and is refused
with a message saying so. ``Row.line`` counts rows and paragraphs in reading order from 1.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from reminder.errors import InputError
from reminder.readers import Row, check_grid

RULE_TOLERANCE = 2.0     # points: segments this close are one rule
MIN_RULE_LENGTH = 4.0    # points: shorter strokes are glyph parts, ticks or the ends of a thin box
MAX_SEGMENTS_PER_PAGE = 50_000  # a drawing, not a table, past this: its paths are ignored
MAX_PAGES = 2_000
GAP_IN_CHARS = 1.6       # in a table without rules, a gap this many characters wide separates cells
WRAP_MARGIN_IN_CHARS = 1.6  # a line ending this close to its box's right edge was wrapped


@dataclass(frozen=True, slots=True)
class _Char:
    text: str
    x0: float
    x1: float
    top: float     # PDF coordinates grow upwards: top > bottom
    bottom: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def size(self) -> float:
        return max(self.top - self.bottom, self.x1 - self.x0, 1.0)


@dataclass(frozen=True, slots=True)
class _Segment:
    at: float      # y of a horizontal segment, x of a vertical one
    start: float
    end: float


@dataclass
class _Table:
    xs: list[float]      # column boundaries, left to right
    ys: list[float]      # row boundaries, top to bottom (descending y)
    horizontals: list[_Segment]
    verticals: list[_Segment]

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.xs[0], self.ys[-1], self.xs[-1], self.ys[0]  # left, bottom, right, top


def read_pdf(data: bytes, path: str) -> tuple[Row, ...]:
    """Rows of every page of a PDF given as bytes (see the module docstring)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise InputError("is protected by a password; open it, remove the password and save it again",
                             path) from None
        raise InputError(f"is not a readable PDF ({err}); download or export it again", path) from None
    try:
        if len(document) > MAX_PAGES:
            raise InputError(f"has {len(document)} pages, more than the {MAX_PAGES} a plan may have", path)
        rows: list[Row] = []
        characters = 0
        for index in range(len(document)):
            page = document[index]
            try:
                chars = _chars(page)
                characters += len(chars)
                for cells in _page_rows(page, chars, path):
                    rows.append(Row(cells=tuple(cells), line=len(rows) + 1))
            finally:
                page.close()
    finally:
        document.close()
    if characters == 0:
        raise InputError("is a scanned PDF without a text layer, so its text cannot be read; ask for the "
                         "original document (.docx, .xlsx), or run it through OCR to make a PDF with text",
                         path)
    return tuple(rows)


# ---- what PDFium gives -----------------------------------------------------------------------------

def _chars(page) -> list[_Char]:
    """The page's characters with their boxes, without the spaces and breaks PDFium makes up."""
    from pypdfium2 import raw

    textpage = page.get_textpage()
    try:
        chars = []
        rect = raw.FS_RECTF()
        for index in range(textpage.count_chars()):
            if raw.FPDFText_IsGenerated(textpage.raw, index) == 1:
                continue
            code = raw.FPDFText_GetUnicode(textpage.raw, index)
            if code in (0, 0xFFFE, 0xFFFF) or chr(code) in "\r\n":
                continue
            # the loose box spans the character's advance (a tight box of "，" stops at its ink)
            if not raw.FPDFText_GetLooseCharBox(textpage.raw, index, rect):
                continue
            chars.append(_Char(chr(code), rect.left, rect.right, rect.top, rect.bottom))
        return chars
    finally:
        textpage.close()


def _segments(page) -> tuple[list[_Segment], list[_Segment]]:
    """Straight horizontal and vertical strokes of the page's paths, in page coordinates."""
    from pypdfium2 import raw

    horizontals: list[_Segment] = []
    verticals: list[_Segment] = []
    budget = MAX_SEGMENTS_PER_PAGE
    x, y = ctypes.c_float(), ctypes.c_float()
    for obj in page.get_objects(max_depth=0):
        if obj.type != raw.FPDF_PAGEOBJ_PATH:
            continue
        count = raw.FPDFPath_CountSegments(obj.raw)
        budget -= max(count, 0)
        if budget < 0:
            break
        a, b, c, d, e, f = obj.get_matrix().get()
        points: list[tuple[float, float]] = []
        start: tuple[float, float] | None = None
        for index in range(count):
            segment = raw.FPDFPath_GetPathSegment(obj.raw, index)
            kind = raw.FPDFPathSegment_GetType(segment)
            raw.FPDFPathSegment_GetPoint(segment, x, y)
            point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
            if kind == raw.FPDF_SEGMENT_LINETO and points:
                _add_stroke(points[-1], point, horizontals, verticals)
            if kind == raw.FPDF_SEGMENT_MOVETO:
                start = point
            points.append(point)
            if raw.FPDFPathSegment_GetClose(segment) and start is not None:
                _add_stroke(point, start, horizontals, verticals)
    return horizontals, verticals


def _add_stroke(p: tuple[float, float], q: tuple[float, float], horizontals: list[_Segment],
                verticals: list[_Segment]) -> None:
    (x0, y0), (x1, y1) = p, q
    if abs(y0 - y1) < 0.5 and abs(x1 - x0) >= MIN_RULE_LENGTH:
        horizontals.append(_Segment((y0 + y1) / 2, min(x0, x1), max(x0, x1)))
    elif abs(x0 - x1) < 0.5 and abs(y1 - y0) >= MIN_RULE_LENGTH:
        verticals.append(_Segment((x0 + x1) / 2, min(y0, y1), max(y0, y1)))


# ---- tables from rules -------------------------------------------------------------------------------

def _tables(horizontals: list[_Segment], verticals: list[_Segment]) -> list[_Table]:
    """Rules that touch each other form one table; each needs two rules each way."""
    segments = [("h", s) for s in horizontals] + [("v", s) for s in verticals]
    parent = list(range(len(segments)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    hs = [i for i, (kind, _) in enumerate(segments) if kind == "h"]
    vs = [i for i, (kind, _) in enumerate(segments) if kind == "v"]
    tol = RULE_TOLERANCE
    for i in hs:
        h = segments[i][1]
        for j in vs:
            v = segments[j][1]
            if v.start - tol <= h.at <= v.end + tol and h.start - tol <= v.at <= h.end + tol:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(segments)):
        groups.setdefault(find(i), []).append(i)
    tables = []
    for members in groups.values():
        table_h = [segments[i][1] for i in members if segments[i][0] == "h"]
        table_v = [segments[i][1] for i in members if segments[i][0] == "v"]
        xs = _cluster([s.at for s in table_v])
        ys = sorted(_cluster([s.at for s in table_h]), reverse=True)
        if len(xs) >= 2 and len(ys) >= 2:
            tables.append(_Table(xs, ys, table_h, table_v))
    return sorted(tables, key=lambda t: -t.ys[0])


def _cluster(values: list[float]) -> list[float]:
    """Positions within RULE_TOLERANCE of each other as one (their mean), ascending."""
    clusters: list[list[float]] = []
    for value in sorted(values):
        if clusters and value - clusters[-1][-1] <= RULE_TOLERANCE:
            clusters[-1].append(value)
        else:
            clusters.append([value])
    return [sum(c) / len(c) for c in clusters]


def _covered(segments: list[_Segment], at: float, point: float) -> bool:
    """Is there a rule at ``at`` passing ``point``?"""
    return any(abs(s.at - at) <= RULE_TOLERANCE and s.start - RULE_TOLERANCE <= point <= s.end + RULE_TOLERANCE
               for s in segments)


def _table_rows(table: _Table, chars: list[_Char], path: str) -> list[list[str]]:
    """The table's grid: slots joined into merged cells where no rule separates them, text filled in."""
    rows, columns = len(table.ys) - 1, len(table.xs) - 1
    check_grid(rows, columns, path, "a table in the PDF")
    parent = list(range(rows * columns))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(rows):
        mid_y = (table.ys[r] + table.ys[r + 1]) / 2
        for c in range(columns):
            mid_x = (table.xs[c] + table.xs[c + 1]) / 2
            if c + 1 < columns and not _covered(table.verticals, table.xs[c + 1], mid_y):
                parent[find(r * columns + c + 1)] = find(r * columns + c)
            if r + 1 < rows and not _covered(table.horizontals, table.ys[r + 1], mid_x):
                parent[find((r + 1) * columns + c)] = find(r * columns + c)
    boxes: dict[int, list[float]] = {}
    for r in range(rows):
        for c in range(columns):
            box = boxes.setdefault(find(r * columns + c), [table.xs[c], table.ys[r + 1], table.xs[c + 1], table.ys[r]])
            box[0], box[1] = min(box[0], table.xs[c]), min(box[1], table.ys[r + 1])
            box[2], box[3] = max(box[2], table.xs[c + 1]), max(box[3], table.ys[r])
    inside: dict[int, list[_Char]] = {root: [] for root in boxes}
    for char in chars:
        slot = _slot(table, char)
        if slot is not None:
            inside[find(slot[0] * columns + slot[1])].append(char)
    texts = {root: _text(inside[root], boxes[root][0], boxes[root][2]) for root in boxes}
    return [[texts[find(r * columns + c)] for c in range(columns)] for r in range(rows)]


def _slot(table: _Table, char: _Char) -> tuple[int, int] | None:
    from bisect import bisect_left

    if not (table.xs[0] <= char.cx <= table.xs[-1] and table.ys[-1] <= char.cy <= table.ys[0]):
        return None
    column = min(max(bisect_left(table.xs, char.cx) - 1, 0), len(table.xs) - 2)
    descending = [-y for y in table.ys]
    row = min(max(bisect_left(descending, -char.cy) - 1, 0), len(table.ys) - 2)
    return row, column


# ---- text from characters ---------------------------------------------------------------------------

def _lines(chars: list[_Char]) -> list[list[_Char]]:
    """Characters grouped into lines (top to bottom), each line left to right."""
    lines: list[list[_Char]] = []
    for char in sorted(chars, key=lambda ch: (-ch.cy, ch.x0)):
        if lines and abs(lines[-1][0].cy - char.cy) <= lines[-1][0].size * 0.5:
            lines[-1].append(char)
        else:
            lines.append([char])
    return [sorted(line, key=lambda ch: ch.x0) for line in lines]


def _line_text(line: list[_Char]) -> str:
    return "".join(ch.text for ch in line).strip()


def _text(chars: list[_Char], left_edge: float, right_edge: float) -> str:
    """A cell's text: wrapped lines joined, paragraph ends kept as "\\n". The cell's padding is taken
    to be the same on both sides: a line ends that far from the right edge when it was wrapped."""
    lines = _lines(chars)
    if not lines:
        return ""
    padding = max(min(line[0].x0 for line in lines) - left_edge, 0.0)
    right_edge -= padding
    paragraphs: list[str] = []
    wrapped = False
    for line in lines:
        text = _line_text(line)
        if not text:
            continue
        if wrapped and paragraphs:
            paragraphs[-1] += text
        else:
            paragraphs.append(text)
        wrapped = right_edge - line[-1].x1 <= WRAP_MARGIN_IN_CHARS * line[-1].size
    return "\n".join(paragraphs)


def _page_rows(page, chars: list[_Char], path: str) -> Iterator[list[str]]:
    """Paragraphs and table rows of one page, top to bottom."""
    horizontals, verticals = _segments(page)
    tables = _tables(horizontals, verticals)
    outside = [ch for ch in chars if not any(_in_box(ch, table.box) for table in tables)]
    items: list[tuple[float, list[list[str]]]] = [(table.ys[0], _table_rows(table, chars, path)) for table in tables]
    items += [(top, [cells]) for top, cells in _paragraphs(outside)]
    for _, rows in sorted(items, key=lambda item: -item[0]):
        yield from rows


def _in_box(char: _Char, box: tuple[float, float, float, float]) -> bool:
    left, bottom, right, top = box
    return left <= char.cx <= right and bottom <= char.cy <= top


def _paragraphs(chars: list[_Char]) -> Iterator[tuple[float, list[str]]]:
    """Text outside tables: (top, cells). A line reaching the text's right margin was wrapped and
    joins the next; a line with wide gaps is a row of a table drawn without rules (one cell a part)."""
    lines = _lines(chars)
    if not lines:
        return
    right_margin = max(line[-1].x1 for line in lines)
    current: list[str] = []
    top = 0.0
    wrapped = False
    for line in lines:
        cells = _gap_cells(line)
        if not cells:
            continue
        if wrapped and len(current) == 1 and len(cells) == 1:
            current[0] += cells[0]
        else:
            if current:
                yield top, current
            current, top = cells, line[0].top
        wrapped = len(cells) == 1 and right_margin - line[-1].x1 <= WRAP_MARGIN_IN_CHARS * line[-1].size
    if current:
        yield top, current


def _gap_cells(line: list[_Char]) -> list[str]:
    """A line cut where the gap between characters is wider than GAP_IN_CHARS characters."""
    cells: list[list[_Char]] = [[line[0]]]
    for previous, char in pairwise(line):
        if char.x0 - previous.x1 > GAP_IN_CHARS * max(previous.size, char.size):
            cells.append([char])
        else:
            cells[-1].append(char)
    return [t for t in ("".join(ch.text for ch in cell).strip() for cell in cells) if t]
