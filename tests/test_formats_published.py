"""Plans as published: from a web address, as PDF, as legacy .xls / .et / .wps; and crafted files
refused within bounded memory and time (issue 8 formats, issue 10 points 11-13)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import zipfile
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from reminder import store
from reminder.cli import cli
from reminder.errors import InputError
from reminder.fetch import fetch_url
from reminder.ingest import read_plan
from reminder.readers import MAX_GRID_CELLS, MAX_SPAN_CELLS, MAX_XML_PART_BYTES, read_document
from tests.layouts import PlanSpec, TaskSpec, render
from tests.test_bad_input import MEASURED, docx_bytes, rezip, xlsx_bytes

PAGE = """<!doctype html><html><head><title>某县2021年政务公开工作任务分工方案</title></head><body>
<h1>某县2021年政务公开工作任务分工方案</h1><p>发布时间：2021-03-05</p>
<table><tr><th>序号</th><th>具体任务</th><th>责任单位</th><th>完成时限</th></tr>
<tr><td>1</td><td>做好預決算公開工作。</td><td>县财政局</td><td>9月底前</td></tr>
<tr><td>2</td><td>规范政务新媒体管理。</td><td>县政务服务中心</td><td>年底前</td></tr></table></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    """GET path -> (status, headers, body) from the server's ``pages``; "/slow" trickles its body."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100):
                time.sleep(0.05)
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
            return
        status, headers, body = self.server.pages.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def site():
    """A real HTTP server on loopback serving pages the test puts into ``site.pages``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    server.pages = {}
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"
    yield server
    server.shutdown()
    server.server_close()


# --- plans from a web address -----------------------------------------------------------------------

def test_parse_a_published_page_with_its_charset_from_the_header(site):
    # GBK bytes, declared only in the Content-Type header (the page itself declares nothing)
    site.pages["/gk/plan.html"] = (200, {"Content-Type": "text/html; charset=GBK"}, PAGE.encode("gbk"))
    url = site.url("/gk/plan.html")
    result = CliRunner().invoke(cli, ["parse", url, "--json"])
    assert result.exit_code == 0, result.output
    import json

    plan = json.loads(result.output)
    assert plan["source"] == url and plan["title"] == "某县2021年政务公开工作任务分工方案"
    assert plan["issued"] == "2021-03-05"
    assert [t["text"] for t in plan["tasks"]] == ["做好預決算公開工作。", "规范政务新媒体管理。"]
    assert plan["tasks"][0]["deadline"]["due"] == "2021-09-30"


def test_a_redirect_is_followed_and_an_attachment_read_by_its_content(site, tmp_path):
    spec = PlanSpec(tasks=(TaskSpec("一、财政", "做好预决算公开工作。", "县财政局", (), "9月底前"),))
    attachment = render(spec, "xls", tmp_path).read_bytes()
    site.pages["/old"] = (302, {"Location": "/files/download?id=7"}, b"")
    site.pages["/files/download?id=7"] = (200, {"Content-Type": "application/octet-stream",
                                                "Content-Disposition": 'attachment; filename="plan.xls"'}, attachment)
    plan = read_plan(site.url("/old"))
    assert plan.source == site.url("/old")
    assert [(t.number, t.units, t.deadline.due) for t in plan.tasks] == [("1", ("县财政局",), date(2021, 9, 30))]


def test_import_a_url_keeps_it_as_the_plans_source(site, tmp_path):
    site.pages["/plan"] = (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.encode())
    db = tmp_path / "reminder.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", site.url("/plan"), "--now", "2021-03-06T09:00"])
    assert result.exit_code == 0, result.output
    connection = store.open_db(db)
    (row,) = connection.query("SELECT title, source FROM plans")
    assert row == {"title": "某县2021年政务公开工作任务分工方案", "source": site.url("/plan")}


@pytest.mark.parametrize(("path", "pages", "says"), [
    ("/missing", {}, "the server answered 404"),
    ("/loop", {"/loop": (302, {"Location": "/loop"}, b"")}, "redirects more than 5 times"),
    ("/slow", {}, "took too long to download"),
])
def test_web_addresses_that_cannot_give_a_plan_are_refused_clearly(site, path, pages, says):
    site.pages.update(pages)
    started = time.perf_counter()
    with pytest.raises(InputError, match=says) as raised:
        fetch_url(site.url(path), timeout=1.0)
    assert site.url(path) in str(raised.value)
    assert time.perf_counter() - started < 4


def test_a_page_larger_than_the_cap_is_refused_without_reading_it_all(site):
    site.pages["/big"] = (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 300_000)
    with pytest.raises(InputError, match="larger than|MB"):
        fetch_url(site.url("/big"), max_bytes=100_000)


def test_cli_names_an_unreachable_address_and_exits_1():
    result = CliRunner().invoke(cli, ["parse", "http://127.0.0.1:9/plan.html"])
    assert result.exit_code == 1 and "http://127.0.0.1:9/plan.html" in result.output


# --- PDF ----------------------------------------------------------------------------------------------

def test_a_scanned_pdf_without_text_is_refused_saying_so(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    page = canvas.Canvas(str(path))
    page.rect(50, 50, 400, 600, fill=1)  # what a scan is to a text extractor: marks, no characters
    page.save()
    with pytest.raises(InputError, match="scanned PDF without a text layer"):
        read_plan(path)


def test_a_pdf_table_over_two_pages_keeps_every_task_and_the_repeated_header_out(tmp_path):
    tasks = tuple(TaskSpec("一、财政信息" if n < 30 else "二、平台建设", f"做好第{n}项政务公开工作，按要求推进落实。",
                           "县财政局", ("县审计局",), "年底前") for n in range(1, 61))
    plan = read_plan(render(PlanSpec(tasks=tasks), "pdf", tmp_path))
    assert [t.number for t in plan.tasks] == [str(n) for n in range(1, 61)]
    assert plan.tasks[59].section == ("二、平台建设",) and plan.tasks[59].units == ("县财政局", "县审计局")
    assert not any("not imported" in w for w in plan.warnings)


# --- legacy formats ------------------------------------------------------------------------------------

def test_xls_is_read_without_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    spec = PlanSpec(tasks=(TaskSpec("一、财政", "做好预决算公开工作。", "县财政局", ("县审计局",), "2021年9月30日前"),))
    document = read_document(render(spec, "xls", tmp_path))
    assert document.format == "xls"
    assert ("1", "一、财政", "做好预决算公开工作。", "县财政局", "县审计局", "2021年9月30日前") in [r.cells for r in document.rows]


@pytest.mark.parametrize(("name", "target"), [("plan.et", "xlsx"), ("plan.wps", "docx")])
def test_wps_files_go_through_libreoffice_like_doc(tmp_path, monkeypatch, name, target):
    from tests.test_readers import _install_fake_soffice

    converted = tmp_path / f"converted.{target}"
    converted.write_bytes(xlsx_bytes() if target == "xlsx" else docx_bytes())
    log = _install_fake_soffice(tmp_path, monkeypatch, converted)
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # OLE2 that is no BIFF workbook
    plan = read_plan(path)
    assert [t.number for t in plan.tasks] == ["1", "2"]
    assert target in log.read_text().split("\n")


# --- crafted files: refused in bounded memory and time (issue 10 point 11) -------------------------------

def whole_sheet_merge_xlsx() -> bytes:
    data = xlsx_bytes()
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/>'
                                           b"</mergeCells>")
    return rezip(data, {"xl/worksheets/sheet1.xml": sheet})


def huge_span_html() -> bytes:
    cells = '<td colspan="1000" rowspan="1000">x</td>' * 3
    return (f"<html><body><h1>某县2021年政务公开工作任务分工</h1><table><tr><th>序号</th><th>具体任务</th>"
            f"<th>责任单位</th></tr>" + f"<tr>{cells}</tr>" * 1000 + "</table></body></html>").encode()


def docx_unpacking_to_190_mb(path: Path) -> Path:
    """A .docx whose document part unpacks to 190 MB at about 75:1, under the zip-bomb ratio check."""
    real = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for info in real.infolist():
            if info.filename != "word/document.xml":
                archive.writestr(info.filename, real.read(info))
        with archive.open("word/document.xml", "w") as member:
            noise = bytes(65 + byte % 26 for byte in os.urandom(20_000))
            for _ in range(190):
                member.write(noise + b" " * (2**20 - len(noise)))
    return path


CRAFTED = [
    ("merged-sheet.xlsx", lambda path: path.write_bytes(whole_sheet_merge_xlsx()), f"{MAX_SPAN_CELLS:,} positions"),
    ("spans.html", lambda path: path.write_bytes(huge_span_html()), f"{MAX_SPAN_CELLS:,} positions"),
    ("huge-part.docx", docx_unpacking_to_190_mb, f"{MAX_XML_PART_BYTES // 2**20} MB a document part"),
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux's /proc")
@pytest.mark.parametrize(("name", "make", "says"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_files_are_refused_quickly_in_little_memory(tmp_path, name, make, says):
    path = tmp_path / name
    make(path)
    assert path.stat().st_size < 5 * 2**20
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "parse", str(path)], capture_output=True, text=True,
                          timeout=60)
    elapsed = time.perf_counter() - started
    peak_mb = int(done.stderr.split("peak_kb")[1]) / 1024
    assert done.returncode == 1, done.stderr
    assert f"{path}: " in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert peak_mb < 250, f"peak memory {peak_mb:.0f} MB"
    assert elapsed < 15


def test_a_sheet_with_one_cell_far_out_is_refused_by_the_grid_bound(tmp_path):
    data = xlsx_bytes()
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is>'
                                           b"</c></row></sheetData>")
    path = tmp_path / "far.xlsx"
    path.write_bytes(rezip(data, {"xl/worksheets/sheet1.xml": sheet}))
    with pytest.raises(InputError, match=f"{MAX_GRID_CELLS:,} cells"):
        read_document(path)


def test_a_zip_asking_for_an_unsupported_version_is_refused_clearly(tmp_path):
    data = bytearray(docx_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + 6:entry + 8] = (99).to_bytes(2, "little")  # "version needed to extract": 9.9
    path = tmp_path / "plan.docx"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["parse", str(path)])
    assert result.exit_code == 1 and "zip" in result.output and "re-save it" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_nul_in_a_path_is_a_clear_error_not_a_traceback():
    result = CliRunner().invoke(cli, ["parse", "plan\x00.docx"])
    assert result.exit_code == 1, result.output
    assert "NUL" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- a thousand tasks and more reach the store (issue 10 point 13) --------------------------------------------

def test_a_plan_of_1100_tasks_is_imported_whole(tmp_path):
    rows = "".join(f"| {n} | 做好第{n}项工作。 | 县财政局 | 年底前 |\n" for n in range(1, 1101))
    path = tmp_path / "big.txt"
    path.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n" + rows, encoding="utf-8")
    db = tmp_path / "reminder.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(path), "--now", "2021-03-06T09:00"])
    assert result.exit_code == 0, result.output
    numbers = [r["number"] for r in store.open_db(db).query("SELECT number FROM tasks ORDER BY id")]
    assert numbers == [str(n) for n in range(1, 1101)]


def test_a_plan_without_a_title_is_stored_and_recognised_again_by_its_file_name(tmp_path):
    path = tmp_path / "任务分工.txt"
    table = "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n| 1 | 做好预决算公开工作。 | 县财政局 | 2021年9月30日前 |\n"
    path.write_text(table, encoding="utf-8")
    db = tmp_path / "reminder.db"
    first = CliRunner().invoke(cli, ["--db", str(db), "import", str(path), "--now", "2021-03-06T09:00", "--json"])
    assert first.exit_code == 0, first.output
    path.write_text(table.replace("县财政局", "县审计局"), encoding="utf-8")
    again = CliRunner().invoke(cli, ["--db", str(db), "import", str(path), "--now", "2021-03-07T09:00", "--json"])
    assert again.exit_code == 0, again.output
    import json

    report = json.loads(again.output.splitlines()[-1])
    assert report["status"] == "updated" and report["matched_by"] == "source"
    assert any("no title line" in w for w in report["warnings"])
    assert [r["title"] for r in store.open_db(db).query("SELECT title FROM plans")] == [""]
