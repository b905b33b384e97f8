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

Characters outside every ruled table are read as lines. A run of lines whose characters leave
gaps running down the whole run (``_unruled_tables``: at least three columns on its first line) is a
table laid out by position only: the gaps are its column boundaries, and its rows are told apart by
the space between them, or, where rows are spaced like lines, by whether each cell's line was
wrapped. The other lines become paragraphs (the title, the notice, the issue date) the same way as
cell text, against the page's text width; a page number alone above or below everything else is
page chrome and left out.

A table that goes on from the previous page (the page ended in a table, the next one starts with a
table of as many columns) marks its first row ``continued``: Word and WPS break a long row across
pages, so that row may be the rest of the one above; the ingest decides. A PDF with no characters at
all is a scan and is refused with a message saying so. ``Row.line`` counts rows and paragraphs in
reading order from 1.
"""

from __future__ import annotations

import ctypes
import re
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
COLUMN_GAP_IN_CHARS = 0.6   # in a table without rules, a gap this wide down every line parts two columns
MIN_UNRULED_COLUMNS = 3     # a line of fewer parts is no table's first line
ROW_SPACING = 1.3           # lines further apart than this many line pitches belong to different rows
TABLE_BREAK_IN_PITCHES = 3.0  # a space this tall ends a table without rules
PAGE_NUMBER = re.compile(r"^(?:[-—–－\s]*\d{1,4}[-—–－\s]*|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
                         r"|\d{1,4}\s*/\s*\d{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$", re.IGNORECASE)


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


@dataclass(frozen=True)
class _Block:
    """What a page holds, top to bottom: a table (``columns`` > 0) or a paragraph (one-cell rows)."""

    top: float
    rows: list[list[str]]
    columns: int = 0
    gaps: tuple[tuple[float, float], ...] = ()  # a table without rules: the gaps between its columns
    cells: tuple[tuple[int, ...], ...] = ()     # a ruled table: which merged cell each slot belongs to


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
        last: _Block | None = None  # the previous page's last block
        header: list[str] = []      # the first row of the table that last began
        for index in range(len(document)):
            page = document[index]
            try:
                chars = _chars(page)
                characters += len(chars)
                carried = last.gaps if last is not None and last.gaps else None
                blocks = _page_blocks(page, chars, path, carried)
            finally:
                page.close()
            for number, block in enumerate(blocks):
                goes_on = number == 0 and last is not None and block.columns > 0 and block.columns == last.columns
                if goes_on and last is not None:
                    _carry_merged_cells(block, last, header)
                elif block.columns:
                    header = block.rows[0]
                for k, cells in enumerate(block.rows):
                    rows.append(Row(cells=tuple(cells), line=len(rows) + 1, continued=goes_on and k == 0))
            last = blocks[-1] if blocks else last
    finally:
        document.close()
    if characters == 0:
        raise InputError("is a scanned PDF without a text layer, so its text cannot be read; ask for the "
                         "original document (.docx, .xlsx), or run it through OCR to make a PDF with text",
                         path)
    return tuple(rows)


def _carry_merged_cells(block: _Block, last: _Block, header: list[str]) -> None:
    """A table going on from the previous page: a merged cell at its top (below a repeated header) that
    is empty goes on with the cell above the page break, whose text stayed on the previous page (Word
    prints a merged cell's text once); its slots get that text, as every slot of a merged cell does."""
    body = 1 if block.rows and block.rows[0] == header else 0
    if not block.cells or body >= len(block.rows) or not last.rows:
        return
    for column, root in enumerate(block.cells[body]):
        slots = [r for r, roots in enumerate(block.cells) if roots[column] == root]
        if len(slots) > 1 and not block.rows[body][column]:
            for r in slots:
                block.rows[r][column] = last.rows[-1][column]


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


def _table_rows(table: _Table, chars: list[_Char], path: str) -> tuple[list[list[str]], int, tuple, tuple]:
    """The table's grid: slots joined into merged cells where no rule separates them, text filled in;
    then its width, no gaps, and the merged cell of each slot (as ``_Block`` takes them)."""
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
    grid = [[texts[find(r * columns + c)] for c in range(columns)] for r in range(rows)]
    return grid, columns, (), tuple(tuple(find(r * columns + c) for c in range(columns)) for r in range(rows))


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


def _page_blocks(page, chars: list[_Char], path: str,
                 carried: tuple[tuple[float, float], ...] | None) -> list[_Block]:
    """Tables and paragraphs of one page, top to bottom. ``carried``: the column gaps of a table
    without rules that ended the previous page, which the page's first lines may go on with."""
    horizontals, verticals = _segments(page)
    tables = _tables(horizontals, verticals)
    blocks = [_Block(table.ys[0], *_table_rows(table, chars, path)) for table in tables]
    outside = [ch for ch in chars if not any(_in_box(ch, table.box) for table in tables)]
    lines = _without_page_numbers(_lines(outside), tables)
    taken: set[int] = set()
    for first, end, gaps in _unruled_tables(lines, carried):
        blocks.append(_Block(lines[first][0].top, _unruled_rows(lines[first:end], gaps), len(gaps) + 1, gaps))
        taken.update(range(first, end))
    rest = [line for i, line in enumerate(lines) if i not in taken]
    blocks += [_Block(top, [cells]) for top, cells in _paragraphs(rest)]
    return sorted(blocks, key=lambda block: -block.top)


def _without_page_numbers(lines: list[list[_Char]], tables: list[_Table]) -> list[list[_Char]]:
    """The lines without a page number standing above or below everything else on the page."""
    top = max((table.ys[0] for table in tables), default=float("-inf"))
    bottom = min((table.ys[-1] for table in tables), default=float("inf"))
    kept = list(lines)
    for index in (len(kept) - 1, 0):
        if not kept or index >= len(kept):
            continue
        line = kept[index]
        outermost = line[0].cy < bottom if index == len(kept) - 1 else line[0].cy > top
        if outermost and PAGE_NUMBER.match(_line_text(line)):
            del kept[index]
    return kept


def _in_box(char: _Char, box: tuple[float, float, float, float]) -> bool:
    left, bottom, right, top = box
    return left <= char.cx <= right and bottom <= char.cy <= top


def _paragraphs(lines: list[list[_Char]]) -> Iterator[tuple[float, list[str]]]:
    """Text outside tables: (top, cells). A line reaching the text's right margin was wrapped and
    joins the next; a line with wide gaps (a lone row laid out by position) is cut there."""
    if not lines:
        return
    right_margin = max(line[-1].x1 for line in lines)
    left_margin = min(line[0].x0 for line in lines)
    current: list[str] = []
    top = 0.0
    wrapped = False
    for line in lines:
        cells = _gap_cells(line)
        if not cells:
            continue
        # a wrapped paragraph goes on at the left margin (a signature's date under its office does not)
        if wrapped and len(current) == 1 and len(cells) == 1 and line[0].x0 - left_margin <= line[0].size:
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


# ---- tables without rules -----------------------------------------------------------------------------

def _parts(line: list[_Char]) -> list[tuple[float, float]]:
    """The x ranges a line's characters cover, apart where a gap of COLUMN_GAP_IN_CHARS parts them."""
    parts = [(line[0].x0, line[0].x1)]
    for previous, char in pairwise(line):
        if char.x0 - previous.x1 > COLUMN_GAP_IN_CHARS * max(previous.size, char.size):
            parts.append((char.x0, char.x1))
        else:
            parts[-1] = (parts[-1][0], max(parts[-1][1], char.x1))
    return parts


def _narrowed(gaps: tuple[tuple[float, float], ...], parts: list[tuple[float, float]],
              size: float) -> tuple[tuple[float, float], ...] | None:
    """The gaps left free by a line's parts; None when the line closes one (it crosses a column)."""
    narrowed = []
    for low, high in gaps:
        free = [(low, high)]
        for start, end in parts:
            free = [piece for a, b in free for piece in ((a, min(b, start)), (max(a, end), b)) if piece[1] > piece[0]]
        wide = [(a, b) for a, b in free if b - a >= COLUMN_GAP_IN_CHARS * size * 0.5]
        if not wide:
            return None
        narrowed.append(max(wide, key=lambda piece: piece[1] - piece[0]))
    return tuple(narrowed)


def _unruled_tables(lines: list[list[_Char]], carried: tuple[tuple[float, float], ...] | None
                    ) -> Iterator[tuple[int, int, tuple[tuple[float, float], ...]]]:
    """Runs of lines laid out in columns: (first, end, gaps between columns). A run starts at a line
    of MIN_UNRULED_COLUMNS parts or more (or, with ``carried``, at the page's first line, going on
    with the previous page's table) and takes the lines below while they leave every gap open and
    follow closely; it is a table when two of its lines have several parts."""
    index = 0
    while index < len(lines):
        parts = _parts(lines[index])
        if index == 0 and carried:
            gaps: tuple[tuple[float, float], ...] | None = _narrowed(carried, parts, lines[index][0].size)
        elif len(parts) >= MIN_UNRULED_COLUMNS:
            gaps = tuple((a[1], b[0]) for a, b in pairwise(parts))
        else:
            gaps = None
        if gaps is None:
            index += 1
            continue
        end, pitch = index + 1, None
        while end < len(lines):
            step = lines[end - 1][0].cy - lines[end][0].cy
            if pitch is not None and step > TABLE_BREAK_IN_PITCHES * pitch:
                break
            narrowed = _narrowed(gaps, _parts(lines[end]), lines[end][0].size)
            if narrowed is None:
                break
            gaps, pitch, end = narrowed, step if pitch is None else min(pitch, step), end + 1
        if sum(len(_parts(line)) > 1 for line in lines[index:end]) >= 2 or (index == 0 and carried and end > index):
            yield index, end, gaps
            index = end
        else:
            index += 1


def _unruled_rows(lines: list[list[_Char]], gaps: tuple[tuple[float, float], ...]) -> list[list[str]]:
    """A table without rules: characters into columns by the gaps, lines into rows (see the module)."""
    from bisect import bisect_left

    bounds = [(low + high) / 2 for low, high in gaps]
    columns = len(bounds) + 1
    split = [[[ch for ch in line if bisect_left(bounds, ch.cx) == c] for c in range(columns)] for line in lines]
    right = [max((cell[-1].x1 for row in split for cell in [row[c]] if cell), default=0.0) for c in range(columns)]
    steps = [lines[i - 1][0].cy - lines[i][0].cy for i in range(1, len(lines))]
    pitch = min(steps, default=0.0)
    spaced = any(step > ROW_SPACING * pitch for step in steps)
    groups: list[list[int]] = []
    for i, cells in enumerate(split):
        if groups and i > 0 and _same_row(split[i - 1], cells, right, steps[i - 1], pitch, spaced):
            groups[-1].append(i)
        else:
            groups.append([i])
    rows = []
    for group in groups:
        row = []
        for c in range(columns):
            chars = [ch for i in group for ch in split[i][c]]
            row.append(_text(chars, min((ch.x0 for ch in chars), default=0.0), right[c]))
        rows.append(row)
    return rows


def _same_row(above: list[list[_Char]], cells: list[list[_Char]], right: list[float], step: float,
              pitch: float, spaced: bool) -> bool:
    """Does a line go on with the row of the line above it? Where rows are spaced apart, when it
    follows at line pitch; else when each of its cells goes on with a wrapped line above."""
    if spaced:
        return step <= ROW_SPACING * pitch
    return all(above[c] and right[c] - above[c][-1].x1 <= WRAP_MARGIN_IN_CHARS * above[c][-1].size
               for c, cell in enumerate(cells) if cell)
