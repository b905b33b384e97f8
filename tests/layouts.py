"""One plan, rendered into every layout and format plans are published in (a test helper).

``PlanSpec`` says what a plan means: its tasks, their sections, units and deadlines. Each renderer
writes that meaning the way one kind of document does: a Word table with merged section cells, an
Excel sheet, a legacy .xls, a web page with rowspans, a PDF, and the text extractions of those
(pipe rows, a ``|`` alone between cell lines, `` |`` after every cell, tab-indented Word cells), and
paragraph plans (units on a line of their own, or in a parenthesis closing the paragraph). Reading
any of them back must give the same tasks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

TITLE = "某县2021年政务公开工作任务分工方案"
LABELS = {"number": "序号", "section": "类别", "text": "具体要求", "lead": "牵头单位", "units": "责任单位",
          "deadline": "完成时限"}
GRID_FORMATS = ("docx", "xlsx", "xls", "html", "pdf", "pdf-pages", "pdf-pages-bare", "pdf-unruled", "pipe", "tabs")
STREAM_FORMATS = ("pipe-alone", "pipe-trailing")
PARAGRAPH_FORMATS = ("unit-lines", "parentheses")
FORMATS = GRID_FORMATS + STREAM_FORMATS + PARAGRAPH_FORMATS


@dataclass(frozen=True)
class TaskSpec:
    section: str
    text: str
    lead: str
    others: tuple[str, ...]
    deadline: str


@dataclass(frozen=True)
class PlanSpec:
    tasks: tuple[TaskSpec, ...]
    numbering: str = "column"            # "column" (a 序号 column), "text" ("1." in the text), "none"
    columns: tuple[str, ...] = ("number", "section", "text", "lead", "units", "deadline")
    merge_sections: bool = True          # one merged cell per section (else repeated on every row)
    blank_repeated_units: bool = False   # a unit cell equal to the one above left blank (a merge)
    traditional: bool = False
    extras: dict = field(default_factory=dict)

    def written(self, text: str) -> str:
        """Text as this plan's document writes it (traditional characters when asked)."""
        if not self.traditional:
            return text
        import zhconv

        return zhconv.convert(text, "zh-hant")

    @property
    def grid_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c != "number" or self.numbering == "column")

    def task_text(self, index: int) -> str:
        text = self.written(self.tasks[index].text)
        return f"{index + 1}.{text}" if self.numbering == "text" else text

    def cells(self, index: int) -> dict[str, str]:
        task = self.tasks[index]
        return {"number": str(index + 1), "section": self.written(task.section), "text": self.task_text(index),
                "lead": self.written(task.lead), "units": self.written("、".join(task.others)),
                "deadline": self.written(task.deadline)}


def grid(spec: PlanSpec) -> tuple[list[str], list[list[str]], list[list[bool]]]:
    """Header, rows and which cells continue a merge from the row above (section groups, repeated units)."""
    columns = spec.grid_columns
    header = [spec.written(LABELS[c]) for c in columns]
    rows, merged = [], []
    for index in range(len(spec.tasks)):
        cells = spec.cells(index)
        above = spec.cells(index - 1) if index else None
        row, continues = [], []
        for column in columns:
            same = above is not None and cells[column] == above[column]
            # An empty unit cell stays a cell of its own: merged empty cells cannot be told from one
            # empty cell in print, and at the top of a PDF page the reader takes an empty merged cell
            # for the rest of the cell above the break (see reminder/readers/pdf.py).
            joins = (column == "section" and spec.merge_sections and same) or (
                column in ("lead", "units") and spec.blank_repeated_units and same and bool(cells[column])
                and cells["lead"] == above["lead"] and cells["units"] == above["units"])
            row.append(cells[column])
            continues.append(joins)
        rows.append(row)
        merged.append(continues)
    return header, rows, merged


def render(spec: PlanSpec, fmt: str, folder: Path) -> Path:
    """Write ``spec`` as a document of format ``fmt`` into ``folder``; return its path."""
    writer = {"docx": _docx, "xlsx": _xlsx, "xls": _xls, "html": _html, "pdf": _pdf, "pdf-pages": _pdf_pages,
              "pdf-pages-bare": _pdf_pages_bare, "pdf-unruled": _pdf_unruled, "pipe": _pipe,
              "tabs": _tabs, "pipe-alone": _pipe_alone, "pipe-trailing": _pipe_trailing,
              "unit-lines": _unit_lines, "parentheses": _parentheses}[fmt]
    suffix = {"pipe": "txt", "tabs": "txt", "pipe-alone": "txt", "pipe-trailing": "txt", "unit-lines": "txt",
              "parentheses": "txt", "pdf-pages": "pdf", "pdf-pages-bare": "pdf", "pdf-unruled": "pdf"}.get(fmt, fmt)
    path = folder / f"plan-{fmt}.{suffix}"
    data = writer(spec)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# ---- grid formats ------------------------------------------------------------------------------------

def _docx(spec: PlanSpec) -> bytes:
    import docx

    header, rows, merged = grid(spec)
    document = docx.Document()
    document.add_paragraph(spec.written(TITLE))
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for c, label in enumerate(header):
        table.cell(0, c).text = label
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if not merged[r - 1][c]:
                table.cell(r, c).text = value
    for c in range(len(header)):  # merge each run of continuing cells into the cell above it
        r = 1
        while r <= len(rows):
            end = r
            while end < len(rows) and merged[end][c]:
                end += 1
            if end > r:
                table.cell(r, c).merge(table.cell(end, c))
            r = end + 1
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _sheet_runs(merged: list[list[bool]], column: int) -> list[tuple[int, int]]:
    """(first, last) data-row indexes of each merged run in a column."""
    runs, r = [], 0
    while r < len(merged):
        end = r
        while end + 1 < len(merged) and merged[end + 1][column]:
            end += 1
        if end > r:
            runs.append((r, end))
        r = end + 1
    return runs


def _xlsx(spec: PlanSpec) -> bytes:
    import openpyxl

    header, rows, merged = grid(spec)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([spec.written(TITLE)] + [None] * (len(header) - 1))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for r, row in enumerate(rows):
        sheet.append([None if merged[r][c] else value for c, value in enumerate(row)])
    for c in range(len(header)):
        for first, last in _sheet_runs(merged, c):
            sheet.merge_cells(start_row=first + 3, start_column=c + 1, end_row=last + 3, end_column=c + 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xls(spec: PlanSpec) -> bytes:
    import xlwt

    header, rows, merged = grid(spec)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("plan")
    sheet.write_merge(0, 0, 0, len(header) - 1, spec.written(TITLE))
    for c, label in enumerate(header):
        sheet.write(1, c, label)
    runs = {c: _sheet_runs(merged, c) for c in range(len(header))}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            run = next((run for run in runs[c] if run[0] <= r <= run[1]), None)
            if run is None:
                sheet.write(r + 2, c, value)
            elif run[0] == r:
                sheet.write_merge(r + 2, run[1] + 2, c, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _html(spec: PlanSpec) -> str:
    from html import escape

    header, rows, merged = grid(spec)
    lines = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(spec.written(TITLE))}</title>"
             f"</head><body><nav>首页 | 政务公开</nav><h1>{escape(spec.written(TITLE))}</h1><table border='1'>",
             "<tr>" + "".join(f"<th>{escape(label)}</th>" for label in header) + "</tr>"]
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            if merged[r][c]:
                continue
            span = 1
            while r + span < len(rows) and merged[r + span][c]:
                span += 1
            attribute = f" rowspan='{span}'" if span > 1 else ""
            cells.append(f"<td{attribute}>{escape(value)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table><footer>主办单位：某县人民政府</footer></body></html>")
    return "\n".join(lines)


def _pdf(spec: PlanSpec) -> bytes:
    """A ruled table as Word prints it, Chinese through reportlab's built-in CID font (no font file)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("plan", fontName="STSong-Light", fontSize=9, leading=12, wordWrap="CJK")
    header, rows, merged = grid(spec)
    widths = {"number": 30, "section": 80, "text": 190, "lead": 70, "units": 80, "deadline": 70}
    data = [[Paragraph(label, style) for label in header]]
    data += [[Paragraph("" if merged[r][c] else value, style) for c, value in enumerate(row)]
             for r, row in enumerate(rows)]
    commands = [("GRID", (0, 0), (-1, -1), 0.5, "black"), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    for c in range(len(header)):
        for first, last in _sheet_runs(merged, c):
            commands.append(("SPAN", (c, first + 1), (c, last + 1)))
    table = Table(data, colWidths=[widths[c] for c in spec.grid_columns], repeatRows=1)
    table.setStyle(TableStyle(commands))
    buffer = io.BytesIO()
    title = ParagraphStyle("title", parent=style, fontSize=14, leading=20)
    SimpleDocTemplate(buffer, pagesize=A4).build([Paragraph(spec.written(TITLE), title), table])
    return buffer.getvalue()


PDF_WIDTHS = {"number": 30, "section": 80, "text": 190, "lead": 70, "units": 80, "deadline": 70}
NARROW_WIDTHS = {"number": 30, "section": 60, "text": 110, "lead": 50, "units": 60, "deadline": 50}  # cells wrap


def _pdf_pages(spec: PlanSpec) -> bytes:
    """Short pages, so rows break across them as Word prints them; the header repeated on each page."""
    header, rows, merged = grid(spec)
    return drawn_pdf(header, rows, merged, widths=[NARROW_WIDTHS[c] for c in spec.grid_columns],
                     title=spec.written(TITLE), body_lines=5, repeat_header=True)


def _pdf_pages_bare(spec: PlanSpec) -> bytes:
    """Rows broken across short pages, the header only on the first page."""
    header, rows, merged = grid(spec)
    return drawn_pdf(header, rows, merged, widths=[NARROW_WIDTHS[c] for c in spec.grid_columns],
                     title=spec.written(TITLE), body_lines=7, repeat_header=False)


def _pdf_unruled(spec: PlanSpec) -> bytes:
    """A table laid out in columns by position only, without a single rule."""
    header, rows, merged = grid(spec)
    return drawn_pdf(header, rows, merged, widths=[PDF_WIDTHS[c] for c in spec.grid_columns],
                     title=spec.written(TITLE), ruled=False)


FONT, FONT_SIZE, LEADING, PADDING = "STSong-Light", 9.0, 12.0, 4.0


def _wrap(text: str, width: float) -> list[str]:
    """Text broken into lines that fit ``width`` points, as a word processor breaks CJK text."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for paragraph in text.split("\n") if text else []:
        line = ""
        for char in paragraph:
            if line and stringWidth(line + char, FONT, FONT_SIZE) > width:
                lines.append(line)
                line = ""
            line += char
        lines.append(line)
    return lines


def drawn_pdf(header: list[str], rows: list[list[str]], merged: list[list[bool]] | None = None, *,
              widths: list[float], title: str = "", ruled: bool = True, body_lines: int | None = None,
              repeat_header: bool = True, page_numbers: bool = True, row_padding: float = PADDING) -> bytes:
    """A table drawn line by line on a canvas: rules where ``ruled`` (none between the slots of a merged
    cell), a row that does not fit the page broken across it with the rest of every cell on the next page
    (empty cells there), ``body_lines`` text lines per page (None: pages as tall as A4), page numbers;
    ``row_padding`` above and below each row's text (0: rows spaced like the lines inside them)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    merged = merged or [[False] * len(header) for _ in rows]
    margin, left = 50.0, 50.0
    xs = [left]
    for width in widths:
        xs.append(xs[-1] + width)
    header_height = LEADING + 2 * row_padding
    height = A4[1] if body_lines is None else 2 * margin + 30 + header_height + body_lines * LEADING + 2 * PADDING
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(A4[0], height))
    page = 1

    def draw_lines(cells: list[list[str]], top: float) -> None:
        for c, lines in enumerate(cells):
            for k, text in enumerate(lines):
                pdf.setFont(FONT, FONT_SIZE)
                pdf.drawString(xs[c] + PADDING, top - row_padding - FONT_SIZE - k * LEADING, text)

    def rules(tops: list[float], bottom: float, joined: list[list[bool]]) -> None:
        """Rules of one page's part of the table: ``tops`` of its rows, ``joined``[r][c] when row r's
        cell c continues a merge from the row above on this page (no rule between them)."""
        if not ruled:
            return
        pdf.setLineWidth(0.5)
        for x in xs:
            pdf.line(x, tops[0], x, bottom)
        pdf.line(xs[0], tops[0], xs[-1], tops[0])
        pdf.line(xs[0], bottom, xs[-1], bottom)
        for r, top in enumerate(tops[1:], start=1):
            for c in range(len(widths)):
                if not joined[r][c]:
                    pdf.line(xs[c], top, xs[c + 1], top)

    def finish_page() -> None:
        nonlocal page
        if page_numbers:
            pdf.setFont(FONT, FONT_SIZE)
            pdf.drawCentredString(A4[0] / 2, margin / 2, f"- {page} -")
        pdf.showPage()
        page += 1

    y = height - margin
    if title:
        pdf.setFont(FONT, 14)
        pdf.drawCentredString(A4[0] / 2, y - 14, title)
        y -= 30

    def start_table(first: bool) -> tuple[list[float], list[list[bool]]]:
        nonlocal y
        if first or repeat_header:
            draw_lines([[label] for label in header], y)
            y -= header_height
            return [y + header_height], [[False] * len(header)]
        return [], []

    def wrapped(r: int) -> list[list[str]]:
        return [_wrap("" if merged[r][c] else value, widths[c] - 2 * PADDING) for c, value in enumerate(rows[r])]

    tops, joined = start_table(True)
    first_page_header = True
    r, pending = 0, wrapped(0) if rows else []
    continuing = False  # the row's first part is on an earlier page
    while r < len(rows):
        need = max((len(lines) for lines in pending), default=0)
        room = int((y - margin - 2 * row_padding) // LEADING)
        if room > 0:
            tops.append(y)
            below_row = len(tops) > 1 + (first_page_header or repeat_header)  # a data row above, not the header
            joined.append([merged[r][c] and not continuing and below_row for c in range(len(header))])
            draw_lines([lines[:room] for lines in pending], y)
            y -= min(need, room) * LEADING + 2 * row_padding
        if room <= 0 or need > room:  # the row breaks: the rest of every cell goes on the next page
            pending = [lines[max(room, 0):] for lines in pending]
            continuing = continuing or room > 0
            rules(tops, y, joined)
            finish_page()
            y = height - margin
            tops, joined = start_table(False)
            first_page_header = False
            continue
        r, continuing = r + 1, False
        if r < len(rows):
            pending = wrapped(r)
    rules(tops, y, joined)
    finish_page()
    pdf.save()
    return buffer.getvalue()


def _pipe(spec: PlanSpec) -> str:
    """Whole rows on a line; a row under a merged section loses its leading cell (aligned from the right)."""
    header, rows, merged = grid(spec)
    lines = [spec.written(TITLE), "| " + " | ".join(header) + " |"]
    for r, row in enumerate(rows):
        cells = ["" if merged[r][c] else value for c, value in enumerate(row)]
        if cells and merged[r][0]:
            cells = cells[1:]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _tabs(spec: PlanSpec) -> str:
    """Word's text extraction: a tab-indented line per cell, a blank line between rows."""
    header, rows, merged = grid(spec)
    lines = [spec.written(TITLE)]
    for r, row in enumerate([header] + rows):
        lines += ["\t" + ("" if r and merged[r - 1][c] else value) for c, value in enumerate(row)] + [""]
    return "\n".join(lines) + "\n"


# ---- stream formats: one cell a line ----------------------------------------------------------------------

def _stream_rows(spec: PlanSpec) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in ("number", "section", "text", "lead", "units", "deadline")
               if c != "number" or spec.numbering == "column"]
    header = [spec.written(LABELS[c]) for c in columns]
    rows = []
    for index in range(len(spec.tasks)):
        cells = spec.cells(index)
        above = spec.cells(index - 1) if index else None
        rows.append([cells[c] for c in columns
                     if not (c == "section" and above is not None and cells[c] == above[c])])
    return header, rows


def _pipe_alone(spec: PlanSpec) -> str:
    """Cells one per line with a ``|`` alone on the line between them."""
    header, rows = _stream_rows(spec)
    lines = [spec.written(TITLE)]
    for row in [header] + rows:
        lines += "\n|\n".join(row).split("\n") + [""]
    return "\n".join(lines) + "\n"


def _pipe_trailing(spec: PlanSpec) -> str:
    """Every cell line ends with `` |``, so numbers read ``1 |``."""
    header, rows = _stream_rows(spec)
    lines = [spec.written(TITLE)]
    for row in [header] + rows:
        lines += [f"{cell} |" for cell in row]
    return "\n".join(lines) + "\n"


# ---- paragraph formats ------------------------------------------------------------------------------------

def _paragraph_text(spec: PlanSpec, index: int) -> str:
    """A paragraph plan numbers its tasks in the text, whatever a table of the same plan would do."""
    text = spec.written(spec.tasks[index].text)
    return text if spec.numbering == "none" else f"{index + 1}.{text}"


def _paragraphs(spec: PlanSpec, with_units) -> str:
    lines = [spec.written(TITLE), spec.written("为做好2021年政务公开工作，现将重点任务分工如下。")]
    section = None
    for index, task in enumerate(spec.tasks):
        if task.section != section:
            section = task.section
            lines.append(spec.written(section))
        lines += with_units(spec, index)
    return "\n".join(lines) + "\n"


def _unit_lines(spec: PlanSpec) -> str:
    """Each paragraph followed by a line naming its units, and one giving its deadline."""
    def lines(spec: PlanSpec, index: int) -> list[str]:
        cells = spec.cells(index)
        units = f"{cells['lead']}牵头，{cells['units']}配合" if cells["units"] else f"{cells['lead']}牵头落实"
        return [_paragraph_text(spec, index), spec.written(units), spec.written("完成时限：") + cells["deadline"]]
    return _paragraphs(spec, lines)


def _parentheses(spec: PlanSpec) -> str:
    """Each paragraph closed by a parenthesis naming its units and deadline."""
    def lines(spec: PlanSpec, index: int) -> list[str]:
        cells = spec.cells(index)
        others = spec.written("；责任单位：") + cells["units"] if cells["units"] else ""
        return [_paragraph_text(spec, index) + spec.written("（牵头单位：") + cells["lead"] + others
                + spec.written("；完成时限：") + cells["deadline"] + "）"]
    return _paragraphs(spec, lines)
