"""Readers: every test builds its own file in tmp_path and checks the exact grid or the exact refusal."""

from __future__ import annotations

import io
import os
import random
import stat
import struct
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminder.errors import InputError
from reminder.readers import OLE2_MAGIC, Row, decode_text, read_document
from reminder.readers.xlsx import render

HEADER = ("序号", "工作任务", "工作任务", "具体要求", "责任单位", "完成时限")


def cells(document) -> list[tuple[str, ...]]:
    return [row.cells for row in document.rows]


# ---- .docx ---------------------------------------------------------------------------------------

def _fill_header(table, row: int) -> None:
    """A header row whose 工作任务 spans the 类别 and 具体任务 columns (a horizontal merge)."""
    table.cell(row, 1).merge(table.cell(row, 2))
    for col, text in ((0, "序号"), (1, "工作任务"), (3, "具体要求"), (4, "责任单位"), (5, "完成时限")):
        table.cell(row, col).text = text


def _add_bookmark_and_deletion(paragraph) -> None:
    """Word noise a reader must not show: a bookmark (_Hlk…), a tracked deletion and a tracked move."""
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraph._p.insert(0, parse_xml(f'<w:bookmarkStart {w} w:id="0" w:name="_Hlk72762406"/>'))
    paragraph._p.append(parse_xml(f'<w:del {w} w:id="1" w:author="a"><w:r><w:delText>旧要求</w:delText></w:r></w:del>'))
    paragraph._p.append(parse_xml(f'<w:moveFrom {w} w:id="2" w:author="a"><w:r><w:t>移走的文字</w:t></w:r>'
                                  f'</w:moveFrom>'))
    paragraph._p.append(parse_xml(f'<w:bookmarkEnd {w} w:id="0"/>'))


def build_docx(path: Path) -> Path:
    """A plan as offices publish it: title, issue date, a table with merges and a repeated header."""
    import docx

    document = docx.Document()
    document.add_paragraph("某区2021年政务公开工作要点分工方案")
    document.add_paragraph("印发日期：2021年5月10日")
    document.add_paragraph("")
    table = document.add_table(rows=6, cols=6)
    _fill_header(table, 0)
    table.cell(1, 1).merge(table.cell(2, 1)).text = "一、紧扣规划深化公开"  # vertical merge: section
    table.cell(1, 4).merge(table.cell(2, 4)).text = "区发改局"  # vertical merge: units
    for col, text in ((0, "1"), (2, "（一）规划公开"), (5, "2021年底前")):
        table.cell(1, col).text = text
    several = table.cell(1, 3)
    several.text = "1.主动公开规划。"
    several.add_paragraph("")
    several.add_paragraph("2.做好历史规划归集。")
    for col, text in ((0, "2"), (2, "（二）财政信息"), (3, "3.推进预决算公开。"), (5, "2021年10月30日前")):
        table.cell(2, col).text = text
    _fill_header(table, 3)  # the header row again, as on the second page of a printed plan
    for col, text in enumerate(("3", "二、解读回应", "（一）政策解读", "4.加强政策解读。", "区政府办", "持续推进")):
        table.cell(4, col).text = text
    _add_bookmark_and_deletion(table.cell(4, 3).paragraphs[0])
    # row 5 stays empty
    document.add_paragraph("附件：联系人名单")
    document.save(path)
    return path


def test_docx_resolves_merges_and_keeps_reading_order(tmp_path):
    document = read_document(build_docx(tmp_path / "plan.docx"))
    assert document.format == "docx"
    assert document.path == str(tmp_path / "plan.docx")
    assert cells(document) == [
        ("某区2021年政务公开工作要点分工方案",),
        ("印发日期：2021年5月10日",),
        HEADER,
        ("1", "一、紧扣规划深化公开", "（一）规划公开", "1.主动公开规划。\n2.做好历史规划归集。", "区发改局", "2021年底前"),
        ("2", "一、紧扣规划深化公开", "（二）财政信息", "3.推进预决算公开。", "区发改局", "2021年10月30日前"),
        HEADER,
        ("3", "二、解读回应", "（一）政策解读", "4.加强政策解读。", "区政府办", "持续推进"),
        ("附件：联系人名单",),
    ]


def test_docx_line_counts_blocks_including_skipped_empty_ones(tmp_path):
    document = read_document(build_docx(tmp_path / "plan.docx"))
    # 1 title, 2 date, 3 empty paragraph, 4-9 table rows (9 empty), 10 trailer
    assert [row.line for row in document.rows] == [1, 2, 4, 5, 6, 7, 8, 10]


def test_docx_builder_really_merges(tmp_path):
    """Guard for the test above: the merges must be in the XML, not flattened by python-docx."""
    with zipfile.ZipFile(build_docx(tmp_path / "plan.docx")) as archive:
        xml = archive.read("word/document.xml").decode()
    assert 'w:gridSpan w:val="2"' in xml
    assert 'w:vMerge w:val="restart"' in xml and ("<w:vMerge/>" in xml or 'w:vMerge w:val="continue"' in xml)


def test_docx_nested_table_text_joins_the_cell(tmp_path):
    import docx

    document = docx.Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "1"
    inner_cell = outer.cell(0, 1)
    inner_cell.text = "主要任务："
    inner = inner_cell.add_table(rows=2, cols=1)
    inner.cell(0, 0).text = "（1）公开规划"
    inner.cell(1, 0).text = "（2）公开预算"
    document.save(tmp_path / "nested.docx")
    assert cells(read_document(tmp_path / "nested.docx")) == [("1", "主要任务：\n（1）公开规划\n（2）公开预算")]


def test_docx_found_by_content_whatever_its_name(tmp_path):
    renamed = build_docx(tmp_path / "plan.docx").rename(tmp_path / "plan.doc")
    document = read_document(renamed)
    assert document.format == "docx"
    assert cells(document)[2] == HEADER


# ---- .xlsx ---------------------------------------------------------------------------------------

def build_xlsx(path: Path) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "分工表"
    sheet.append(["2021年政务公开工作任务分工"])
    sheet.merge_cells("A1:E1")
    sheet.append(["序号", "工作任务", None, "责任单位", "完成时限"])
    sheet.merge_cells("B2:C2")
    sheet.append([1, "一、规划", "1.主动公开规划\n2.做好归集整理", "区财政局", datetime(2021, 9, 30)])
    sheet.append([2.0, None, "3.推进预决算公开", None, date(2021, 12, 31)])
    sheet.merge_cells("B3:B4")
    sheet.merge_cells("D3:D4")
    sheet.append([])
    sheet.append([3, "二、解读", "4.加强政策解读", "区政府办", "持续推进"])
    sheet["H3"].font = Font(bold=True)  # a styled empty cell far right: must not widen the grid
    extra = workbook.create_sheet("补充任务")
    extra.append(["序号", "任务"])
    extra.append([4, "5.补充任务"])
    hidden = workbook.create_sheet("下拉选项")
    hidden.append(["区财政局", "区政府办"])
    hidden.sheet_state = "hidden"
    workbook.save(path)
    return path


def test_xlsx_fills_merges_and_renders_values(tmp_path):
    document = read_document(build_xlsx(tmp_path / "台账.xlsx"))
    assert document.format == "xlsx"
    assert [(row.cells, row.line) for row in document.rows] == [
        (("2021年政务公开工作任务分工",) * 5, 1),
        (("序号", "工作任务", "工作任务", "责任单位", "完成时限"), 2),
        (("1", "一、规划", "1.主动公开规划\n2.做好归集整理", "区财政局", "2021年9月30日"), 3),
        (("2", "一、规划", "3.推进预决算公开", "区财政局", "2021年12月31日"), 4),
        (("3", "二、解读", "4.加强政策解读", "区政府办", "持续推进"), 6),
        (("序号", "任务"), 1),
        (("4", "5.补充任务"), 2),
    ]


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    (3, "3"),
    (2.0, "2"),
    (2.5, "2.5"),
    (0.1 + 0.2, "0.3"),
    (datetime(2021, 6, 30, 0, 0), "2021年6月30日"),
    (date(2022, 1, 5), "2022年1月5日"),
    ("  县直各部门\r\n各乡镇 ", "县直各部门\n各乡镇"),
])
def test_xlsx_render(value, text):
    assert render(value) == text


# ---- .html ---------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>某区人民政府</title>
<style>td { color: red }</style><script>var t = "<table><tr><td>脚本</td></tr></table>";</script></head>
<body>
<header><div class="logo">某区人民政府门户网站</div></header>
<nav><ul><li>首页<li>政务公开<li>互动交流</ul></nav>
<!-- 这是注释 -->
<div class="article">
<h1>关于印发某区2021年政务公开
   工作要点分工方案的通知</h1>
<div class="info">发布日期：2021-05-10<br>来源：区政府办&nbsp;&nbsp;</div>
<p>各镇（街）、区直各单位：</p>
<table border="1">
<tr><th>序号<th colspan="2">工作任务<th>具体要求<th>责任单位
<tr><td>1<td rowspan="2">一、规划</td><td>（一）规划公开</td><td>1.主动公开规划；<br>2.做好历史规划归集。</td><td rowspan="2">区发改局 &amp; 区财政局</td></tr>
<tr><td>2<td>（二）财政</td><td><p>3.推进预决算公开。</p><p>&#20840;年</p></td></tr>
<tr><td>3</td><td colspan="2">二、解读回应</td><td></td><td>区政府办</td></tr>
<tr><td></td><td></td><td></td><td></td><td></td></tr>
</table>
</div>
<footer><form action="/feedback">意见反馈：<input name="msg"><button>提交</button></form>
<p>版权所有 某区人民政府</p></footer>
<script>document.write("统计代码")</script>
</body></html>
"""


def test_html_keeps_text_and_tables_drops_page_furniture(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    document = read_document(path)
    assert document.format == "html"
    assert cells(document) == [
        ("关于印发某区2021年政务公开 工作要点分工方案的通知",),
        ("发布日期：2021-05-10",),
        ("来源：区政府办",),
        ("各镇（街）、区直各单位：",),
        ("序号", "工作任务", "工作任务", "具体要求", "责任单位"),
        ("1", "一、规划", "（一）规划公开", "1.主动公开规划；\n2.做好历史规划归集。", "区发改局 & 区财政局"),
        ("2", "一、规划", "（二）财政", "3.推进预决算公开。\n全年", "区发改局 & 区财政局"),
        ("3", "二、解读回应", "二、解读回应", "", "区政府办"),
    ]
    assert [row.line for row in document.rows] == [9, 11, 11, 12, 14, 15, 16, 17]


def test_html_layout_table_yields_the_inner_data_table(tmp_path):
    path = tmp_path / "layout.htm"
    path.write_text("""<html><body><table width="100%"><tr>
      <td class="side">栏目导航<br>政策文件</td>
      <td><h2>分工方案</h2>
        <table><tr><td>序号</td><td>任务</td></tr><tr><td>1</td><td>公开规划</td></tr>
        <tr><td>2</td><td>公开预算</td></tr></table></td></tr></table></body></html>""", encoding="utf-8")
    assert cells(read_document(path)) == [
        ("栏目导航",), ("政策文件",), ("分工方案",), ("序号", "任务"), ("1", "公开规划"), ("2", "公开预算"),
    ]


def test_html_small_nested_table_becomes_lines_of_its_cell(tmp_path):
    path = tmp_path / "nested.html"
    path.write_text("""<html><body><table><tr><td>序号</td><td>任务</td></tr>
      <tr><td>1</td><td>公开：<table><tr><td>（1）</td><td>规划</td></tr></table></td></tr>
      <tr><td>2</td><td>公开预算</td></tr></table></body></html>""", encoding="utf-8")
    assert cells(read_document(path)) == [("序号", "任务"), ("1", "公开：\n（1） 规划"), ("2", "公开预算")]


def test_html_declared_gb2312_charset_is_honoured(tmp_path):
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
            "<body><p>榕江县2021年政务公开工作方案</p><table><tr><td>县财政局</td><td>年底前</td></tr>"
            "</table></body></html>")
    path = tmp_path / "gbk.html"
    path.write_bytes(page.encode("gbk"))
    assert cells(read_document(path)) == [("榕江县2021年政务公开工作方案",), ("县财政局", "年底前")]


def test_html_excel_export_named_xls_is_read_as_html(tmp_path):
    path = tmp_path / "导出.xls"
    path.write_text("<table><tr><td>1</td><td>公开规划</td></tr></table>", encoding="utf-8")
    document = read_document(path)
    assert (document.format, cells(document)) == ("html", [("1", "公开规划")])


def test_html_form_wrapping_the_page_is_kept(tmp_path):
    """ASP.NET pages wrap everything in one <form>; dropping forms wholesale would drop the plan."""
    path = tmp_path / "aspx.html"
    path.write_text('<html><body><form id="form1"><h1>分工方案</h1><table><tr><td>1</td><td>任务</td></tr>'
                    "</table></form></body></html>", encoding="utf-8")
    assert cells(read_document(path)) == [("分工方案",), ("1", "任务")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=4), min_size=1, max_size=5))
def test_html_colspans_repeat_text_and_rows_stay_rectangular(tmp_path_factory, spans):
    rows_html = "".join(
        "<tr>" + "".join(f'<td colspan="{span}">r{r}c{c}</td>' for c, span in enumerate(row)) + "</tr>"
        for r, row in enumerate(spans))
    path = tmp_path_factory.mktemp("prop") / "t.html"
    path.write_text(f"<table>{rows_html}</table>", encoding="utf-8")
    width = max(sum(row) for row in spans)
    expected = [tuple(text for c, span in enumerate(row) for text in [f"r{r}c{c}"] * span)
                + ("",) * (width - sum(row)) for r, row in enumerate(spans)]
    assert cells(read_document(path)) == expected


# ---- text decoding -------------------------------------------------------------------------------

TEXT = "榕江县2021年政务公开工作方案责任分解表\n\t1.主动公开规划\t县发展改革局\t2021年底前\n"


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
    TEXT.encode("utf-8"),
    b"\xff\xfe" + TEXT.encode("utf-16-le"),
    b"\xfe\xff" + TEXT.encode("utf-16-be"),
    TEXT.encode("utf-16-le"),  # no BOM: told by the NULs of the ASCII characters
    TEXT.encode("utf-16-be"),
    TEXT.encode("gbk"),
    TEXT.encode("gb18030"),
], ids=["utf8-bom", "utf8", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "gbk", "gb18030"])
def test_decode_text(data):
    assert decode_text(data, "plan.txt") == TEXT


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_decode_text_utf16_without_bom_mostly_chinese(codec):
    """一 (U+4E00) puts NULs where ASCII would in the other byte order: the pattern alone would mislead."""
    text = "一一一\n一、一\n"
    assert decode_text(text.encode(codec), "plan.txt") == text


def test_decode_text_survives_a_stray_byte():
    text = decode_text(TEXT.encode("gbk") + b"\xff", "plan.txt")
    assert text.startswith(TEXT)


@given(st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1)
       .filter(lambda text: text.strip()))
def test_decode_text_round_trips_unicode_encodings(text):
    assert decode_text(text.encode("utf-8"), "p.txt") == text
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"), "p.txt") == text
    assert decode_text(b"\xff\xfe" + text.encode("utf-16-le"), "p.txt") == text


# ---- refusals ------------------------------------------------------------------------------------

def refusal(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_document(path)
    message = str(caught.value)
    assert path.name in message and caught.value.path == str(path)
    return message


@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n", "\ufeff \n".encode("utf-16")])
def test_refuses_empty_file(tmp_path, content):
    path = tmp_path / "plan.txt"
    path.write_bytes(content)
    assert "is empty" in refusal(path)


def test_refuses_binary_with_nuls(tmp_path):
    noise = bytearray(random.Random(7).randbytes(4096))
    noise[::97] = b"\0" * len(noise[::97])
    path = tmp_path / "plan.txt"
    path.write_bytes(b"abc" + bytes(noise))
    assert "is not a text document" in refusal(path)


def test_refuses_binary_without_nuls(tmp_path):
    path = tmp_path / "plan.dat"
    rng = random.Random(3)
    path.write_bytes(bytes(rng.randrange(0x80, 0x100) for _ in range(4096)))  # decodes as GB18030 noise
    assert "is not a text document" in refusal(path)


def test_refuses_truncated_docx(tmp_path):
    whole = build_docx(tmp_path / "whole.docx").read_bytes()
    path = tmp_path / "plan.docx"
    path.write_bytes(whole[: len(whole) // 2])
    message = refusal(path)
    assert "is not a valid .docx" in message and "re-save it from Word" in message


def test_refuses_truncated_xlsx_naming_excel(tmp_path):
    whole = build_xlsx(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "plan.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    message = refusal(path)
    assert "is not a valid .xlsx" in message and "re-save it from Excel" in message


def test_refuses_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "plan.docx"
    path.write_text("这其实是一个文本文件", encoding="utf-8")
    message = refusal(path)
    assert "is not a valid .docx" in message and "not a zip archive" in message


def test_refuses_zip_bomb_by_ratio(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b" " * (20 * 1024 * 1024))
    message = refusal(path)
    assert "possible zip bomb" in message and "word/document.xml" in message


def test_refuses_zip_declaring_a_huge_member(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 300 * 1024 * 1024)  # uncompressed size in the directory
    path = tmp_path / "huge.docx"
    path.write_bytes(bytes(data))
    message = refusal(path)
    assert "would unpack to 300 MB" in message and "possible zip bomb" in message


@pytest.mark.parametrize(("name", "content", "what"), [
    ("scan.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "is a PNG image"),
    ("scan.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF", "is a JPEG image"),
])
def test_refuses_unsupported_formats_listing_supported_ones(tmp_path, name, content, what):
    path = tmp_path / name
    path.write_bytes(content)
    message = refusal(path)
    assert what in message and ".txt, .docx, .xlsx, .xls, .html, .pdf" in message


@pytest.mark.parametrize("name", ["plan.pdf", "plan.docx"])
def test_a_damaged_pdf_is_refused_as_a_pdf(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert "is not a readable PDF" in refusal(path)


def test_refuses_plain_zip(tmp_path):
    path = tmp_path / "attachments.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "附件")
    assert "is a zip archive, not a plan document" in refusal(path)


def test_refuses_missing_file(tmp_path):
    assert "no such file" in refusal(tmp_path / "gone.docx")


@pytest.mark.parametrize(("name", "target"), [("plan.doc", ".docx"), ("plan.wps", ".docx"), ("台账.xls", ".xlsx"),
                                              ("台账.et", ".xlsx")])
def test_legacy_document_without_libreoffice_says_what_to_do(tmp_path, monkeypatch, name, target):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    path = tmp_path / name
    path.write_bytes(OLE2_MAGIC + bytes(504))
    message = refusal(path)
    assert "install LibreOffice" in message and f"save it as {target}" in message


def test_refuses_password_protected_office_file(tmp_path):
    path = tmp_path / "plan.docx"
    path.write_bytes(OLE2_MAGIC + bytes(504) + "EncryptedPackage".encode("utf-16-le"))
    assert "protected by a password" in refusal(path)


# A stand-in for LibreOffice on PATH: it records its arguments and "converts" by copying a prepared
# file to <outdir>/<stem>.<target>, which is what soffice --convert-to produces.
FAKE_SOFFICE = """#!/bin/sh
printf '%s\\n' "$@" > "{log}"
outdir=""; target=""; prev=""
for arg in "$@"; do
  [ "$prev" = "--outdir" ] && outdir="$arg"
  [ "$prev" = "--convert-to" ] && target="$arg"
  prev="$arg"; last="$arg"
done
[ -f "{converted}" ] || {{ echo "Error: source file could not be loaded" >&2; exit 1; }}
mkdir -p "$outdir"
stem=$(basename "$last"); stem="${{stem%.*}}"
cp "{converted}" "$outdir/$stem.$target"
"""


def _install_fake_soffice(tmp_path: Path, monkeypatch, converted: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "soffice-args.txt"
    script = bin_dir / "soffice"
    script.write_text(FAKE_SOFFICE.format(log=log, converted=converted))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]))
    return log


def test_legacy_doc_is_converted_with_soffice_on_path(tmp_path, monkeypatch):
    converted = build_docx(tmp_path / "converted.docx")
    log = _install_fake_soffice(tmp_path, monkeypatch, converted)
    path = tmp_path / "plan.doc"
    path.write_bytes(OLE2_MAGIC + bytes(504))
    document = read_document(path)
    assert (document.format, document.path) == ("docx", str(path))
    assert cells(document)[2] == HEADER
    arguments = log.read_text().split("\n")
    assert {"--headless", "--convert-to", "docx", "--outdir"} <= set(arguments)
    assert any(argument.startswith("-env:UserInstallation=file://") for argument in arguments)


def test_legacy_conversion_failure_is_reported(tmp_path, monkeypatch):
    _install_fake_soffice(tmp_path, monkeypatch, tmp_path / "never-written.docx")
    path = tmp_path / "plan.wps"
    path.write_bytes(OLE2_MAGIC + bytes(504))
    message = refusal(path)
    assert "LibreOffice could not convert it to .docx" in message and "source file could not be loaded" in message


def test_row_and_document_are_frozen():
    row = Row(cells=("a",), line=1)
    with pytest.raises(AttributeError):
        row.line = 2  # type: ignore[misc]
