"""PDF tables as offices print them (issue 8): rows broken across pages, and tables without rules.

Word and WPS break a long row at the page's end: the rest of its requirement (and of its unit or
deadline text) continues at the top of the next page in a row whose number cell is empty, under a
repeated header or not. Some offices publish tables laid out by position only, without a rule.
``tests.layouts.drawn_pdf`` draws such tables line by line, so the rows really break where a page does.
"""

from __future__ import annotations

from datetime import date

import pytest

from reminder.ingest import read_plan
from reminder.readers import read_document
from tests.layouts import drawn_pdf

TITLE = "某县2021年政务公开工作任务分工方案"
HEADER = ["序号", "具体要求", "责任单位", "完成时限"]
WIDTHS = [30, 110, 60, 50]
LONG = "做好财政预决算公开工作，细化公开部门所属单位预决算，及时公开政府债务信息。"
ROWS = [["1", "推进政府网站集约化建设，确保平稳运行。", "县政务服务中心", "年底前"],
        ["2", LONG, "县统计局、县民政局", "2021年9月30日前"],
        ["3", "规范政务新媒体管理，开展常态化检查。", "县政府办公室", "6月底前"]]


def write(tmp_path, data: bytes, name: str = "plan.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def facts(plan) -> list[tuple]:
    return [(t.number, t.text, t.units, t.deadline.due) for t in plan.tasks]


WANT = [("1", "推进政府网站集约化建设，确保平稳运行。", ("县政务服务中心",), date(2021, 12, 31)),
        ("2", LONG, ("县统计局", "县民政局"), date(2021, 9, 30)),
        ("3", "规范政务新媒体管理，开展常态化检查。", ("县政府办公室",), date(2021, 6, 30))]


@pytest.mark.parametrize("repeat_header", [True, False], ids=["header-repeated", "header-once"])
@pytest.mark.parametrize("body_lines", [4, 5, 6], ids=["break-after-1", "break-after-2", "break-after-3"])
def test_a_row_broken_across_pages_is_one_task(tmp_path, repeat_header, body_lines):
    """Task 2's requirement (4 lines), units (2 lines) and deadline (2 lines) break at the page's end
    after 1, 2 or 3 of its lines: the rest joins it without a break, and task 3 stays a task."""
    path = write(tmp_path, drawn_pdf(HEADER, ROWS, widths=WIDTHS, title=TITLE, body_lines=body_lines,
                                     repeat_header=repeat_header))
    rows = [row for row in read_document(path).rows if row.cells != tuple(HEADER)]
    assert any(not row.cells[0] for row in rows), "the page must break inside task 2"
    plan = read_plan(path)
    assert facts(plan) == WANT
    assert plan.title == TITLE and not plan.warnings


def test_a_new_row_at_the_top_of_a_page_stays_a_new_task(tmp_path):
    """The page ends exactly after task 2: task 3 on the next page has its number and is its own task."""
    rows = [["1", "推进网站集约化。", "县财政局", "年底前"], ["2", "做好预决算公开。", "县财政局", "9月底前"],
            ["3", "规范新媒体管理。", "县审计局", "6月底前"]]
    for repeat_header in (True, False):
        path = write(tmp_path, drawn_pdf(HEADER, rows, widths=WIDTHS, title=TITLE, body_lines=3,
                                         repeat_header=repeat_header))
        read = read_document(path).rows
        third = next(i for i, row in enumerate(read) if row.cells[0] == "3")
        assert read[third].continued or (repeat_header and read[third - 1].continued)
        plan = read_plan(path)
        assert [(t.number, t.text, t.units) for t in plan.tasks] == [
            ("1", "推进网站集约化。", ("县财政局",)), ("2", "做好预决算公开。", ("县财政局",)),
            ("3", "规范新媒体管理。", ("县审计局",))]
        assert not plan.warnings


def test_a_broken_row_in_a_table_numbering_its_text(tmp_path):
    """No number column: the rest has no "N." of its own, the next task has."""
    header = ["具体要求", "责任单位", "完成时限"]
    rows = [[f"{row[0]}.{row[1]}", row[2], row[3]] for row in ROWS]
    path = write(tmp_path, drawn_pdf(header, rows, widths=WIDTHS[1:], title=TITLE, body_lines=5))
    plan = read_plan(path)
    assert facts(plan) == WANT and not plan.warnings


def test_a_broken_row_in_a_table_without_numbers(tmp_path):
    """No numbers at all: the rest of a sentence cut by the page joins it; a row whose text starts
    after a finished sentence and brings its own units and deadline is a new task."""
    header = ["具体要求", "责任单位", "完成时限"]
    rows = [row[1:] for row in ROWS]
    path = write(tmp_path, drawn_pdf(header, rows, widths=WIDTHS[1:], title=TITLE, body_lines=5))
    plan = read_plan(path)
    assert facts(plan) == WANT
    assert [w for w in plan.warnings if "does not number" not in w] == []


def test_page_numbers_are_page_chrome(tmp_path):
    path = write(tmp_path, drawn_pdf(HEADER, ROWS, widths=WIDTHS, title=TITLE, body_lines=5))
    texts = [cell for row in read_document(path).rows for cell in row.cells]
    assert "- 1 -" in page_text(path) and not any(text.startswith("- ") for text in texts)
    assert read_plan(path).title == TITLE


def page_text(path) -> str:
    """All the characters of a PDF, in order, read without the reader under test."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


# --- tables without rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("row_padding", [4.0, 0.0], ids=["rows-spaced", "rows-at-line-pitch"])
def test_a_table_without_rules_reads_like_the_ruled_one(tmp_path, row_padding):
    ruled = read_plan(write(tmp_path, drawn_pdf(HEADER, ROWS, widths=WIDTHS, title=TITLE), "ruled.pdf"))
    unruled_path = write(tmp_path, drawn_pdf(HEADER, ROWS, widths=WIDTHS, title=TITLE, ruled=False,
                                             row_padding=row_padding))
    rows = read_document(unruled_path).rows
    assert rows[1].cells == tuple(HEADER)
    assert [row.cells for row in rows[2:]] == [tuple(row) for row in ROWS]
    unruled = read_plan(unruled_path)
    assert facts(unruled) == facts(ruled) == WANT and not unruled.warnings


def test_a_table_without_rules_broken_across_pages(tmp_path):
    path = write(tmp_path, drawn_pdf(HEADER, ROWS, widths=WIDTHS, title=TITLE, ruled=False, body_lines=5,
                                     repeat_header=False))
    plan = read_plan(path)
    assert facts(plan) == WANT and not plan.warnings


def test_text_around_a_table_without_rules_stays_paragraphs(tmp_path):
    """The notice above and the signature below are not rows of the table."""
    import io

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont("STSong-Light", 9)
    lines = [(50, "为做好2021年政务公开工作，现将重点任务分工如下，请各单位认真抓好落实。"),
             (50, "序号"), (90, "具体要求"), (250, "责任单位"), (330, "完成时限")]
    y = 780
    pdf.drawString(50, y, lines[0][1])
    y -= 30
    for x, text in lines[1:]:
        pdf.drawString(x, y, text)
    for number, (text, unit, due) in enumerate([("做好预决算公开工作。", "县财政局", "9月底前"),
                                                ("规范政务新媒体管理。", "县政府办公室", "年底前")], start=1):
        y -= 20
        for x, value in ((50, str(number)), (90, text), (250, unit), (330, due)):
            pdf.drawString(x, y, value)
    pdf.drawString(300, y - 60, "某县人民政府办公室")
    pdf.drawString(300, y - 75, "2021年3月1日")
    pdf.save()
    plan = read_plan(write(tmp_path, buffer.getvalue()))
    assert [(t.number, t.text, t.units) for t in plan.tasks] == [("1", "做好预决算公开工作。", ("县财政局",)),
                                                                ("2", "规范政务新媒体管理。", ("县政府办公室",))]
    assert plan.issued == date(2021, 3, 1)


@pytest.mark.parametrize("body_lines", [3, 4, 5])
def test_a_merged_unit_cell_broken_across_pages_serves_every_row_it_spans(tmp_path, body_lines):
    """Tasks 2 and 3 share one merged lead cell and one merged unit cell; the page breaks inside task 2,
    so the lead's name is split and the unit cell's part on the next page is empty."""
    header = ["序号", "具体要求", "牵头单位", "责任单位", "完成时限"]
    rows = [["1", "推进政府网站集约化建设。", "县财政局", "", "年底前"],
            ["2", LONG, "县政务服务中心", "县审计局", "2021年9月30日前"],
            ["3", "规范政务新媒体管理，开展常态化检查。", "", "", "6月底前"]]
    merged = [[False] * 5, [False] * 5, [False, False, True, True, False]]
    rows[2][2:4] = rows[1][2:4]
    path = write(tmp_path, drawn_pdf(header, rows, merged, widths=[30, 110, 40, 50, 50], title=TITLE,
                                     body_lines=body_lines))
    plan = read_plan(path)
    assert [(t.number, t.text, t.lead_units, t.units) for t in plan.tasks] == [
        ("1", "推进政府网站集约化建设。", ("县财政局",), ("县财政局",)),
        ("2", LONG, ("县政务服务中心",), ("县政务服务中心", "县审计局")),
        ("3", "规范政务新媒体管理，开展常态化检查。", ("县政务服务中心",), ("县政务服务中心", "县审计局"))]
    assert not plan.warnings
