"""The web app in a real browser (Debian's chromium through Playwright) against the real server.

A unit opens its own link and sees its own open tasks only; tampered, expired and revoked links get a
clear page and no data; the office logs in, is refused a form without its CSRF token, is throttled
after repeated failures, and logs out for good. Screenshots land in tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

from click.testing import CliRunner

from reminder.cli import cli
from tests.websupport import (
    ENV,
    LOGIN_ATTEMPTS,
    OTHER_PASSWORD,
    OTHER_USER,
    PASSWORD,
    USER,
    screenshot,
)

CZJ_TASKS = ("做好财政预决算公开", "审计结果公开")
MZJ_TASK = "做好社会救助信息公开"


def log_in(page, site, user=USER, password=PASSWORD):
    page.goto(f"{site.url}/login")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_unit_sees_its_own_open_tasks_and_no_other_units(site, page):
    page.goto(site.link("县财政局"))
    body = page.inner_text("main")
    assert "县财政局" in body
    for text in CZJ_TASKS:
        assert text in body
    assert MZJ_TASK not in body and "年度报告" not in body
    # The due date shown is the working day it falls due: 2021-10-30 is a Saturday -> Monday 11-01.
    assert "2021年11月1日（周一）" in body and "原文时限：2021年10月30日前" in body
    # Hostile task text is shown as text: no element was made from it, no script ran.
    assert "<b>加粗</b><script>" in body
    assert page.locator("main b").count() == 0 and page.title() != "pwned"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page must fit a phone's width"
    screenshot(page, "unit-page-phone", for_readme=True)

    page.goto(site.link("县民政局"))
    body = page.inner_text("main")
    assert MZJ_TASK in body and not any(text in body for text in CZJ_TASKS)


def test_a_link_for_a_name_that_only_contains_another_units_name_shows_nothing_of_it(site, page):
    page.goto(site.link("财政局"))  # a substring of 县财政局: must not borrow its tasks
    body = page.inner_text("main")
    assert "目前没有未办结的任务" in body
    assert not any(text in body for text in CZJ_TASKS)


def test_a_done_task_leaves_the_units_page(site, page):
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(site.config_path), "done", "1-2", "--unit", "县民政局"], env=ENV)
    assert result.exit_code == 0, result.output
    try:
        page.goto(site.link("县民政局"))
        assert MZJ_TASK not in page.inner_text("main")
    finally:
        runner.invoke(cli, ["--config", str(site.config_path), "reopen", "1-2", "--unit", "县民政局"], env=ENV)


def _assert_link_refused(page, title: str):
    assert title in page.inner_text("h1")
    body = page.inner_text("main")
    assert "获取新的链接" in body and "某县政务公开办" in body
    assert not any(text in body for text in (*CZJ_TASKS, MZJ_TASK))


def test_a_tampered_link_gets_a_clear_page_and_no_data(site, page):
    good = site.link("县财政局")
    payload, mac = good.rsplit("/", 1)[1].split(".")
    other_payload = site.link("县民政局").rsplit("/", 1)[1].split(".")[0]
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    for token in (f"{payload}.{flipped}", f"{other_payload}.{mac}", payload, f"{payload}.", "x.y"):
        response = page.goto(f"{site.url}/u/{token}")
        assert response.status == 403, token
        _assert_link_refused(page, "链接无效")
    screenshot(page, "link-tampered")


def test_an_expired_link_gets_a_clear_page_and_no_data(site, page):
    link = site.link("县财政局")
    site.clock.advance(days=30, seconds=-1)
    page.goto(link)
    assert CZJ_TASKS[0] in page.inner_text("main")
    site.clock.advance(seconds=1)
    response = page.goto(link)
    assert response.status == 403
    _assert_link_refused(page, "链接已过期")
    assert "县财政局" in page.inner_text("main")  # the clerk can tell the office which unit


def test_a_revoked_link_stops_and_a_new_one_opens(site, page):
    old = site.link("县审计局")
    page.goto(old)
    assert "审计结果公开" in page.inner_text("main")
    result = CliRunner().invoke(cli, ["--config", str(site.config_path), "link", "县审计局", "--revoke"], env=ENV)
    assert result.exit_code == 0, result.output
    response = page.goto(old)
    assert response.status == 403
    _assert_link_refused(page, "链接已停用")
    # `reminder link` prints a new link that opens (made with the configured key and base_url).
    printed = CliRunner().invoke(cli, ["--config", str(site.config_path), "link", "县审计局"], env=ENV)
    assert printed.exit_code == 0, printed.output
    url = printed.stdout.strip()
    assert url.startswith("http://127.0.0.1:8080/u/")
    page.goto(site.url + url.removeprefix("http://127.0.0.1:8080"))
    assert "审计结果公开" in page.inner_text("main")
    # Other units' links are untouched.
    page.goto(site.link("县财政局"))
    assert CZJ_TASKS[0] in page.inner_text("main")


def test_office_login_board_and_logout(site, page, browser):
    page.goto(f"{site.url}/board")
    assert page.url.startswith(f"{site.url}/login"), "the board is behind the login"
    log_in(page, site)
    assert page.url == f"{site.url}/board"
    board = page.inner_text("main")
    assert "某县2021年政务公开工作任务分工" in board
    for unit in ("县财政局", "县民政局", "县审计局", "县政务服务数据管理局"):
        assert unit in board
    assert page.locator("td.cell.light.green").count() == 5   # five assignments, all open and on track
    assert "2021-11-01" in board and "2021-10-30" not in board  # the working-day due date, as on the unit page
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["reminder_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]  # plain http here
    screenshot(page, "board-phone")
    wide = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        wide.add_cookies([session])
        desk = wide.new_page()
        desk.goto(f"{site.url}/board")
        screenshot(desk, "board-desktop")
    finally:
        wide.close()

    page.click("text=退出")
    assert page.url.startswith(f"{site.url}/login")
    page.goto(f"{site.url}/board")
    assert page.url.startswith(f"{site.url}/login")
    # The old cookie, replayed, no longer opens anything: the session ended on the server.
    page.context.add_cookies([session])
    page.goto(f"{site.url}/board")
    assert page.url.startswith(f"{site.url}/login")


def test_a_wrong_password_is_refused(site, page):
    log_in(page, site, OTHER_USER, "not-the-password")
    assert "用户名或密码不正确" in page.inner_text("main")
    log_in(page, site, "nobody", OTHER_PASSWORD)
    assert "用户名或密码不正确" in page.inner_text("main")
    assert not any(c["name"] == "reminder_session" for c in page.context.cookies())


def test_a_post_without_a_valid_csrf_token_is_refused(site, page):
    log_in(page, site)
    assert page.url == f"{site.url}/board"
    # The same browser, its session cookie sent along, but without (or with another) token: refused,
    # and the session is not ended.
    for form in ({}, {"csrf_token": "0" * 64}):
        response = page.request.post(f"{site.url}/logout", form=form, max_redirects=0)
        assert response.status == 400
        assert "表单已失效" in response.text()
    page.goto(f"{site.url}/board")
    assert page.url == f"{site.url}/board"
    # A login form posted without its token is refused before the password is looked at.
    response = page.request.post(f"{site.url}/login", form={"name": USER, "password": PASSWORD}, max_redirects=0)
    assert response.status == 400


def test_logins_are_throttled_after_repeated_failures(site, page):
    site.clock.advance(hours=1)   # past the window of other tests' failures
    for _ in range(LOGIN_ATTEMPTS):
        log_in(page, site, OTHER_USER, "wrong-password-guess")
        assert "用户名或密码不正确" in page.inner_text("main")
    log_in(page, site, OTHER_USER, OTHER_PASSWORD)    # the right password, but too late
    assert "登录失败次数过多" in page.inner_text("main")
    assert page.url.startswith(f"{site.url}/login")
    screenshot(page, "login-throttled")
    log_in(page, site)                                 # another user is not locked out
    assert page.url == f"{site.url}/board"
    site.clock.advance(minutes=15)                     # the window passes
    page.context.clear_cookies()
    log_in(page, site, OTHER_USER, OTHER_PASSWORD)
    assert page.url == f"{site.url}/board"
