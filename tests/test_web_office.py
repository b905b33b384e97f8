"""The office's pages in a real browser against the real server: importing a plan by upload and by web
address (preview, nothing stored, confirm), and the limits on what may be uploaded.

This module serves its own site (imports change its database), built like tests/websupport.py's.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.websupport import PASSWORD, PLAN, USER, screenshot, serve_site

TITLE = "某县2021年政务公开工作任务分工"
# The same plan, corrected: task 2's deadline moved, task 4 gone, task 5 new with a deadline that gives no
# date, and hostile text in task 5 that must show as text.
CORRECTED = (PLAN.replace("2021年9月30日前", "2021年11月30日前")
             .replace("| 4 | 公布政府信息公开工作年度报告。 | 县政务服务数据管理局 | 2021年12月31日前 |\n", "")
             + "| 5 | 新增<img src=x onerror=alert(1)>任务。 | 县统计局 | 适时 |\n")
OTHER_PLAN = ("某市2021年政务公开重点工作分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
              "| 1 | 推进决策公开。 | 市司法局 | 2021年8月31日前 |\n"
              "| 2 | 做好政策解读。 | 市发展改革委 | 2021年10月31日前 |\n")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@contextlib.contextmanager
def published_folder(folder):
    """A real HTTP server publishing ``folder`` on a loopback port, as an office's web site publishes a plan."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def office_site(tmp_path_factory):
    served, server = serve_site(tmp_path_factory.mktemp("office"))
    yield served
    server.stop()


def log_in(page, site):
    page.goto(f"{site.url}/login")
    page.fill("input[name=name]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{site.url}/board"


def stored(site) -> tuple:
    """Everything an import writes, to compare before and after a preview."""
    with sqlite3.connect(site.db_path) as db:
        return tuple(db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                     for table in ("plans", "tasks", "assignments"))


def test_an_uploaded_plan_is_previewed_with_its_changes_and_stored_only_on_confirm(office_site, page, tmp_path):
    site = office_site
    log_in(page, site)
    corrected = tmp_path / "plan.txt"
    corrected.write_text(CORRECTED, encoding="utf-8")
    before = stored(site)
    page.goto(f"{site.url}/import")
    page.set_input_files("input[name=file]", str(corrected))
    page.click("main button[type=submit]")
    body = page.inner_text("main")
    assert "导入预览" in body and TITLE in body
    assert "新增任务：第 5 项" in body
    assert "删除任务：第 4 项" in body
    assert "第 2 项： 时限 2021年9月30日前（2021-09-30）→ 2021年11月30日前（2021-11-30）" in body
    assert "未能读出日期的时限（1）" in body and "第 5 项：适时" in body
    assert "新增<img src=x onerror=alert(1)>任务" not in body  # the preview lists numbers, not task text
    assert page.locator("main img").count() == 0
    screenshot(page, "import-preview")
    assert stored(site) == before, "a preview must store nothing"

    page.click("text=确认导入")
    assert "已导入" in page.inner_text("main")
    assert "新增任务 1 项，删除 1 项，变更 1 项" in page.inner_text("main")
    with sqlite3.connect(site.db_path) as db:
        rows = dict(db.execute("SELECT number, due FROM tasks WHERE removed_at IS NULL").fetchall())
        removed = db.execute("SELECT number FROM tasks WHERE removed_at IS NOT NULL").fetchall()
    assert rows == {"1": "2021-11-01", "2": "2021-11-30", "3": None, "5": rows["5"]} and removed == [("4",)]
    # The document is kept where no download reaches it.
    kept = list((site.folder / "files" / ".imports").glob("*/plan.txt"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == CORRECTED
    assert oct(kept[0].parent.stat().st_mode & 0o777) == "0o700"
    token = kept[0].parent.name
    assert page.request.get(f"{site.url}/files/.imports/{token}/plan.txt").status == 404
    assert page.request.get(f"{site.url}/files/..%2F.imports%2F{token}%2Fplan.txt").status == 404


def test_a_plan_is_imported_from_its_web_address(office_site, page, tmp_path):
    site = office_site
    log_in(page, site)
    (tmp_path / "gk").mkdir()
    (tmp_path / "gk" / "plan2021.txt").write_text(OTHER_PLAN, encoding="utf-8")
    with published_folder(tmp_path) as published:
        address = f"{published}/gk/plan2021.txt"
        before = stored(site)
        page.goto(f"{site.url}/import")
        page.fill("input[name=url]", address)
        page.click("main button[type=submit]")
        body = page.inner_text("main")
        assert "某市2021年政务公开重点工作分工" in body and "新计划：将新增任务 2 项、分工 2 条" in body
        assert address in body
        assert stored(site) == before
        page.click("text=确认导入")
    assert "已导入" in page.inner_text("main")
    with sqlite3.connect(site.db_path) as db:
        source = db.execute("SELECT source FROM plans WHERE title = ?", ["某市2021年政务公开重点工作分工"]).fetchone()
    assert source == (address,)


def test_an_address_that_fails_gets_a_clear_message_and_stores_nothing(office_site, page, tmp_path):
    site = office_site
    log_in(page, site)
    before = stored(site)
    with published_folder(tmp_path) as published:
        page.goto(f"{site.url}/import")
        page.fill("input[name=url]", f"{published}/missing.docx")
        page.click("main button[type=submit]")
    assert "404" in page.inner_text("main .problem")
    assert stored(site) == before


def test_uploads_of_the_wrong_type_or_size_are_refused(office_site, page, tmp_path):
    site = office_site
    log_in(page, site)
    before = stored(site)
    cases = {
        "tool.exe": (b"MZ\x90\x00" * 10, "不支持的文件类型"),
        "plan.docx": (b"<html><script>alert(1)</script></html>", "文件内容与扩展名"),
        "big.txt": ("任务" * 200_000).encode("utf-8"),   # 1.2 MB over the 1 MB limit of the test config
    }
    for name, case in cases.items():
        data, message = case if isinstance(case, tuple) else (case, "")
        path = tmp_path / name
        path.write_bytes(data)
        page.goto(f"{site.url}/import")
        page.set_input_files("input[name=file]", str(path))
        page.click("main button[type=submit]")
        text = page.inner_text("main")
        assert ("文件太大" in text or "上限" in text) if not message else message in text, name
    assert stored(site) == before
    assert not list((site.folder / "files" / ".imports").glob("*/tool.exe"))


def test_import_forms_need_the_login_and_the_csrf_token(office_site, page):
    site = office_site
    response = page.request.get(f"{site.url}/import", max_redirects=0)
    assert response.status == 302 and "/login" in response.headers["location"]
    log_in(page, site)
    before = stored(site)
    for path in ("/import", "/import/confirm"):
        response = page.request.post(f"{site.url}{path}", form={"url": "http://127.0.0.1:9/x"}, max_redirects=0)
        assert response.status == 400 and "表单已失效" in response.text()
    # A confirm for a token that was never staged (or is not a token at all) touches nothing.
    page.goto(f"{site.url}/import")
    token = page.input_value("input[name=csrf_token]")
    for staged in ("0123456789abcdef", "../../r.db", ""):
        response = page.request.post(f"{site.url}/import/confirm",
                                     form={"csrf_token": token, "token": staged, "digest": "x"})
        assert response.status == 400 and "找不到待导入的文件" in response.text()
    assert stored(site) == before
