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
from click.testing import CliRunner

from reminder.cli import cli
from tests.websupport import ENV, PASSWORD, PLAN, USER, screenshot, serve_site

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
    confirm_form = {name: page.input_value(f"form:has-text('确认导入') input[name={name}]")
                    for name in ("csrf_token", "token", "digest", "plan_year")}

    page.click("text=确认导入")
    assert "已导入" in page.inner_text("main")
    assert "新增任务 1 项，删除 1 项，变更 1 项" in page.inner_text("main")
    with sqlite3.connect(site.db_path) as db:
        rows = dict(db.execute("SELECT number, due FROM tasks WHERE removed_at IS NULL").fetchall())
        removed = db.execute("SELECT number FROM tasks WHERE removed_at IS NOT NULL").fetchall()
    assert rows == {"1": "2021-11-01", "2": "2021-11-30", "3": None, "5": rows["5"]} and removed == [("4",)]
    # The document moved from staging to the stored files, which the import's 留痕 names.
    assert not list((site.folder / "files" / ".imports").iterdir())
    kept = list((site.folder / "files").glob("*/plan.txt"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == CORRECTED
    assert oct(kept[0].parent.stat().st_mode & 0o777) == "0o700"
    token = kept[0].parent.name
    with sqlite3.connect(site.db_path) as db:
        assert db.execute("SELECT file FROM actions WHERE kind = 'import'").fetchall() == [(f"{token}/plan.txt",)]
    assert page.request.get(f"{site.url}/evidence/{token}/plan.txt").body().decode("utf-8") == CORRECTED
    # A second confirm (the button pressed twice, or the page sent again) says it is done already.
    again = page.request.post(f"{site.url}/import/confirm", form=confirm_form)
    assert again.status == 409 and "这份计划已经导入" in again.text()
    with sqlite3.connect(site.db_path) as db:
        assert db.execute("SELECT count(*) FROM actions WHERE kind = 'import'").fetchone() == (1,)


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


# --- the board, a task's edits, the exports ----------------------------------------------------

@pytest.fixture
def fresh_site(tmp_path):
    """A site with only the plan of tests/websupport.py imported, for tests that count."""
    served, server = serve_site(tmp_path / "site")
    yield served
    server.stop()

def test_the_board_shows_lights_counts_and_ranking_and_filters_without_javascript(fresh_site, browser):
    site = fresh_site
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False,
                                  locale="zh-CN")
    page = context.new_page()
    try:
        site.clock.advance(days=130)   # 2021-10-09: task 2 (due 09-30) is red; task 1 (11-01) not yet yellow
        log_in(page, site)
        page.goto(f"{site.url}/board?plan=1")
        board = page.locator("section.plan-board").first
        counts = board.locator("ul.counts").inner_text()
        assert "逾期 1" in counts and "共 5 项分工" in counts
        red = board.locator("td.cell.light.red")
        assert red.count() == 1 and red.inner_text() == "逾期 9天"
        first = board.locator("table.rank tbody tr").first.inner_text()
        assert "县民政局" in first and "9天" in first and "0%（0/1）" in first
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "counts and ranking fit a phone"
        screenshot(page, "board-phone", for_readme=True)
        page.select_option("select[name=status]", "red")
        page.click("form.filters button")
        assert "status=red" in page.url
        grid = page.locator("table.board").first.inner_text()
        assert "县民政局" in grid and "县财政局" not in grid
        page.goto(f"{site.url}/board?plan=1&unit=县财政局")
        grid = page.locator("table.board").first.inner_text()
        assert "县财政局" in grid and "县民政局" not in grid
        page.goto(f"{site.url}/board?plan=1&status=<script>&unit=<b>x</b>")
        assert "没有符合筛选条件的任务" in page.inner_text("main") and page.locator("main b").count() == 0
    finally:
        context.close()


def test_an_edited_due_date_has_its_reason_in_the_history_and_survives_a_reimport(fresh_site, page):
    site = fresh_site
    log_in(page, site)
    page.goto(f"{site.url}/task/1-1")
    page.fill("form.edit-due input[name=due]", "2021-12-15")
    page.fill("form.edit-due input[name=reason]", "市里通知延后<i>统一</i>")
    page.click("form.edit-due button[type=submit]:not([name])")
    history = page.inner_text("section.history")
    assert "修改截止日期" in history and "2021-11-01 → 2021-12-15" in history and "市里通知延后<i>统一</i>" in history
    assert page.locator("section.history i").count() == 0
    assert "2021年12月15日" in page.inner_text("main")
    # Units: give the task to another unit, with a reason; the history keeps it.
    page.fill("form.edit-units input[name=unit]", "县统计局")
    page.fill("form.edit-units input[name=reason]", "需统计数据配合")
    page.click("form.edit-units button:not([name])")
    assert "县统计局" in page.inner_text("ul.shares") and "增加：县统计局。理由：需统计数据配合" in page.inner_text(
        "section.history")
    # A form without its reason changes nothing.
    response = page.request.post(f"{site.url}/task/1-1/due", form={
        "csrf_token": page.input_value("form.edit-due input[name=csrf_token]"), "due": "2022-01-01", "reason": " "})
    assert response.status == 400
    # Without the CSRF token: refused.
    assert page.request.post(f"{site.url}/task/1-1/due", form={"due": "2022-01-01", "reason": "x"}).status == 400
    # The unit's page and the store follow the office's date; a re-import of the plan keeps it.
    with sqlite3.connect(site.db_path) as db:
        assert db.execute("SELECT due FROM tasks WHERE plan_id = 1 AND number = '1'").fetchone() == ("2021-12-15",)
    page.goto(site.link("县财政局"))
    assert "2021年12月15日" in page.inner_text("main")
    reimported = CliRunner().invoke(cli, ["--config", str(site.config_path), "import", str(site.folder / "plan.txt")],
                                    env=ENV)
    assert reimported.exit_code == 0, reimported.output
    with sqlite3.connect(site.db_path) as db:
        assert db.execute("SELECT due FROM tasks WHERE plan_id = 1 AND number = '1'").fetchone() == ("2021-12-15",)
        assert db.execute("SELECT count(*) FROM assignments WHERE task_id = 1 AND removed_at IS NULL").fetchone() == (2,)


def test_the_ledger_downloads_and_reads_back_with_the_stores_figures(fresh_site, page, tmp_path):
    import openpyxl

    from reminder import store
    from reminder.ledger import HEADERS

    site = fresh_site
    log_in(page, site)
    with sqlite3.connect(site.db_path) as db:
        db.execute("UPDATE assignments SET status = 'done', done_at = '2021-05-31T02:00:00.000000+00:00' "
                   "WHERE unit = '县审计局'")
    page.goto(f"{site.url}/board?plan=1")
    with page.expect_download() as download:
        page.click("text=下载台账（.xlsx）")
    path = tmp_path / "ledger.xlsx"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    db = store.open_db(site.db_path)
    try:
        expected = store.current_assignments(db, [1])
    finally:
        db.close()
    assert [(r[1], r[6]) for r in rows[1:]] == [(a.task.number, a.unit) for a in expected]
    by_key = {(r[1], r[6]): dict(zip(HEADERS, r)) for r in rows[1:]}
    for a in expected:
        row = by_key[(a.task.number, a.unit)]
        assert row["计划"] == a.task.plan_title and row["工作任务"] == a.task.text
        assert row["完成时限（原文）"] == a.task.deadline.text
        due = row["截止日期"].date() if row["截止日期"] else None
        assert due == (a.due.day if a.due else None)
        assert row["状态"] == ("已办结" if a.status == "done" else "未办结")
    audit = by_key[("3", "县审计局")]
    assert audit["亮灯"] == "已办结" and audit["办结日期"].date().isoformat() == "2021-05-31"
    assert by_key[("2", "县民政局")]["亮灯"] == "正常" and by_key[("2", "县民政局")]["逾期天数"] == 0
    # The downloads are behind the login.
    assert page.context.request.get(f"{site.url}/export/ledger.xlsx").ok
    page.context.clear_cookies()
    response = page.request.get(f"{site.url}/export/ledger.xlsx", max_redirects=0)
    assert response.status == 302


def test_a_new_preview_removes_staged_documents_nobody_confirmed_for_a_day(office_site, page, tmp_path):
    import os
    import time

    site = office_site
    staging = site.folder / "files" / ".imports"
    staging.mkdir(parents=True, exist_ok=True)
    old, recent = staging / "0123456789abcdef", staging / "fedcba9876543210"
    for folder, age in ((old, 25 * 3600), (recent, 3600)):
        folder.mkdir()
        (folder / "plan.txt").write_text(CORRECTED, encoding="utf-8")
        os.utime(folder, (time.time() - age, time.time() - age))
    log_in(page, site)
    corrected = tmp_path / "plan.txt"
    corrected.write_text(CORRECTED, encoding="utf-8")
    page.goto(f"{site.url}/import")
    page.set_input_files("input[name=file]", str(corrected))
    page.click("main button[type=submit]")
    assert "导入预览" in page.inner_text("main")
    left = {p.name for p in staging.iterdir()}
    assert old.name not in left and recent.name in left and len(left) == 2   # and the new preview's own
    # The old preview's confirm now says where it went, rather than failing without a word.
    token = page.input_value("input[name=csrf_token]")
    response = page.request.post(f"{site.url}/import/confirm", form={"csrf_token": token, "token": old.name,
                                                                     "digest": "x"})
    assert response.status == 400 and "超过一天未确认会被清理" in response.text()


def test_a_unit_taken_off_a_task_from_its_page_loses_it_and_the_form_needs_its_csrf_token(fresh_site, page):
    site = fresh_site
    log_in(page, site)
    page.goto(f"{site.url}/task/1-3")
    assert "县审计局" in page.inner_text("ul.shares") and "县财政局" in page.inner_text("ul.shares")
    # Without the CSRF token, or with another one: refused, nothing changes.
    for form in ({"unit": "县审计局", "reason": "x", "remove": "1"},
                 {"csrf_token": "0" * 64, "unit": "县审计局", "reason": "x", "remove": "1"}):
        response = page.request.post(f"{site.url}/task/1-3/units", form=form, max_redirects=0)
        assert response.status == 400 and "表单已失效" in response.text()
    with sqlite3.connect(site.db_path) as db:
        assert db.execute("SELECT count(*) FROM assignments WHERE task_id = 3 AND removed_at IS NULL").fetchone() == (2,)
    assert "审计结果公开" in page.context.request.get(site.link("县审计局")).text()
    page.fill("form.edit-units input[name=unit]", "县审计局")
    page.fill("form.edit-units input[name=reason]", "审计结果由上级统一公开")
    page.click("form.edit-units button[name=remove]")
    assert "县审计局" not in page.inner_text("ul.shares") and "县财政局" in page.inner_text("ul.shares")
    assert "取消：县审计局。理由：审计结果由上级统一公开" in page.inner_text("section.history")
    screenshot(page, "task-units-removed")
    unit_page = page.context.request.get(site.link("县审计局")).text()
    assert "审计结果公开" not in unit_page
    # Taking away a unit the task does not have says so and keeps nothing in the history.
    page.fill("form.edit-units input[name=unit]", "县审计局")
    page.fill("form.edit-units input[name=reason]", "再试一次")
    page.click("form.edit-units button[name=remove]")
    assert "“县审计局”不是这项任务的责任单位，未作改动。" in page.inner_text("main .problem")
    assert page.inner_text("section.history").count("取消：县审计局") == 1
