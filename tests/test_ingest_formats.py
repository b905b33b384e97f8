"""Whole plans from real .docx, .xlsx and .html files that the tests build."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from reminder.ingest import read_plan
from reminder.model import DeadlineKind

HEADER = ["类别", "类别", "具体任务", "牵头单位", "配合单位", "完成时限"]
ROWS = [
    ["一、深化重点领域公开", "（一）财政信息", "1.推进预决算公开。\n2.推进绩效信息公开。", "县财政局", "县审计局", "2021年9月30日前"],
    ["一、深化重点领域公开", "（一）财政信息", "3.做好债务信息公开。", "县财政局", "", "年底前"],
    HEADER,  # Word repeats the header row on every page
    ["二、加强平台建设", "（一）政府网站", "4.推进网站集约化，每季度开展检查。", "县政府办公室", "各乡镇人民政府", "持续推进"],
]


def build_docx(path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某县2021年政务公开工作任务分工方案")
    document.add_paragraph("2021年3月5日")
    table = document.add_table(rows=1 + len(ROWS), cols=len(HEADER))
    for r, values in enumerate([HEADER] + ROWS):
        for c, value in enumerate(values):
            if value and not (r > 0 and c in (0, 1, 3) and r in (2,)):
                table.cell(r, c).text = value
    table.cell(0, 0).merge(table.cell(0, 1))           # 类别 spans two columns
    table.cell(1, 0).merge(table.cell(2, 0))           # section merged down two rows
    table.cell(1, 1).merge(table.cell(2, 1))
    table.cell(1, 3).merge(table.cell(2, 3))           # lead unit merged down
    document.save(path)
    return path


def build_xlsx(path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某县2021年政务公开工作任务分工方案"] + [None] * 5)
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", "具体任务", "牵头单位", "配合单位", "完成时限", "备注"])
    sheet.append([1, "推进预决算公开。", "县财政局", "县审计局", datetime(2021, 9, 30), None])
    sheet.append([2, "做好债务信息公开。", None, None, "年底前", None])
    sheet.merge_cells("C3:C4")
    sheet.append([3, "推进网站集约化。", "县政府办公室", "各乡镇人民政府", "持续推进", "无"])
    book.save(path)
    return path


HTML = """<!doctype html><html><head><meta charset="utf-8"><title>某县</title>
<script>var rows = "<tr><td>99</td></tr>";</script></head>
<body><nav><a href="/">首页</a> | <a href="/gk">政务公开</a></nav>
<h1>某县2021年政务公开工作任务分工方案</h1><p>发布时间：2021-03-05</p>
<table><tr><th>序号</th><th colspan="2">工作任务</th><th>责任单位</th><th>完成时限</th></tr>
<tr><td>1</td><td rowspan="2">一、财政信息</td><td>推进预决算公开。</td><td>县财政局<br>县审计局</td><td>2021年9月底前</td></tr>
<tr><td>2</td><td>做好债务信息公开。</td><td rowspan="2">县政府办公室</td><td>年底前</td></tr>
<tr><td>3</td><td>二、平台建设</td><td>推进网站集约化。</td><td>持续推进</td></tr>
</table>
<footer><form>您的意见：<input name="q"></form><p>主办单位：某县人民政府</p></footer></body></html>"""


def test_docx_plan_with_merged_cells_and_repeated_header(tmp_path):
    plan = read_plan(build_docx(tmp_path / "plan.docx"))
    assert plan.title == "某县2021年政务公开工作任务分工方案"
    assert (plan.plan_year, plan.issued) == (2021, date(2021, 3, 5))
    assert [t.number for t in plan.tasks] == ["1", "2", "3", "4"]
    one, two, three, four = plan.tasks
    assert one.text == "推进预决算公开。" and two.text == "推进绩效信息公开。"
    assert one.units == two.units == ("县财政局", "县审计局")
    assert one.lead_units == ("县财政局",)
    assert two.deadline.due == date(2021, 9, 30)
    assert three.lead_units == ("县财政局",)        # merged lead cell
    assert three.deadline.due == date(2021, 12, 31)
    assert three.section == ("一、深化重点领域公开", "（一）财政信息")
    assert four.section == ("二、加强平台建设", "（一）政府网站")
    assert four.deadline.kind is DeadlineKind.ONGOING   # the column decides over 每季度 in the text


def test_xlsx_plan_with_excel_dates_and_merged_units(tmp_path):
    plan = read_plan(build_xlsx(tmp_path / "plan.xlsx"))
    assert plan.title == "某县2021年政务公开工作任务分工方案"
    assert [t.number for t in plan.tasks] == ["1", "2", "3"]
    assert plan.tasks[0].deadline.due == date(2021, 9, 30)
    assert plan.tasks[1].lead_units == ("县财政局",)
    assert plan.tasks[1].deadline.due == date(2021, 12, 31)
    assert plan.tasks[2].units == ("县政府办公室", "各乡镇人民政府")


def test_html_page_table_with_rowspan_colspan_and_page_noise(tmp_path):
    path = tmp_path / "plan.html"
    path.write_text(HTML, encoding="utf-8")
    plan = read_plan(path)
    assert plan.title == "某县2021年政务公开工作任务分工方案"
    assert plan.issued == date(2021, 3, 5)
    assert [t.number for t in plan.tasks] == ["1", "2", "3"]
    one, two, three = plan.tasks
    assert one.units == ("县财政局", "县审计局")
    assert one.deadline.due == date(2021, 9, 30)
    assert two.section == ("一、财政信息",)
    assert three.units == ("县政府办公室",)
    assert three.section == ("二、平台建设",)
    assert all("99" not in t.text for t in plan.tasks)


def test_legacy_doc_through_a_real_libreoffice(tmp_path):
    """Runs where LibreOffice is installed: a real .doc made by LibreOffice, read back through it."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed; the command contract is tested in test_readers.py")
    page = tmp_path / "source.html"
    page.write_text("<html><body><p>某县2021年政务公开工作任务分工方案</p><table border=1>"
                    "<tr><td>序号</td><td>具体任务</td><td>责任单位</td><td>完成时限</td></tr>"
                    "<tr><td>1</td><td>推进预决算公开。</td><td>县财政局</td><td>2021年9月30日前</td></tr>"
                    "</table></body></html>", encoding="utf-8")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                    "--convert-to", "doc:MS Word 97", "--outdir", str(tmp_path / "out"), str(page)],
                   capture_output=True, timeout=180, check=True)
    legacy = tmp_path / "plan.doc"
    (tmp_path / "out" / "source.doc").rename(legacy)
    assert legacy.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a real OLE2 Word file
    plan = read_plan(legacy)
    assert [(t.number, t.units, t.deadline.due) for t in plan.tasks] == [("1", ("县财政局",), date(2021, 9, 30))]
