"""The whole loop in a real browser (Debian's chromium through Playwright) against the real server and
a real SMTP server: a unit opens its link from a delivered email, acknowledges, reports progress with a
file and asks for 办结; the office logs in, sees it in its queue and confirms; the task shows done. A
延期 asked for from another unit's email and approved moves its due date, and the next ticks' reminders
follow the new date. Screenshots of the unit page at desktop and phone width go to tests/screenshots/.
"""

from __future__ import annotations

import email
import re
from datetime import datetime
from email import policy as email_policy

import pytest

from reminder import store
from reminder.config import load_config
from reminder.ingest import read_plan
from reminder.model import AssignmentStatus
from reminder.tick import run_tick
from reminder.web.app import STATE, create_app
from reminder.web.server import WebServer
from tests.servers import SmtpServer, free_port
from tests.websupport import (
    ENV,
    PASSWORD,
    PLAN,
    USER,
    ZONE,
    Site,
    SteppingClock,
    config_text,
    hashed,
    screenshot,
)

UNITS = """
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
from_addr = "reminder@county.example"

[[units]]
name = "县财政局"
emails = ["cz@county.example"]

[[units]]
name = "县民政局"
emails = ["mz@county.example"]
"""


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2021, month, day, hour, tzinfo=ZONE)


@pytest.fixture(scope="module")
def loop_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    web_port = free_port()
    with SmtpServer() as smtp:
        text = config_text(folder, [(USER, hashed(PASSWORD))]).replace(
            "port = 8080\nbase_url = \"http://127.0.0.1:8080\"", f'port = {web_port}\nbase_url = "http://127.0.0.1:{web_port}"')
        (folder / "config.toml").write_text(text + UNITS.format(port=smtp.port), encoding="utf-8")
        config = load_config(folder / "config.toml", ENV)
        db = store.open_db(config.database)
        store.import_plans(db, [read_plan(folder / "plan.txt")], at(6, 1), due_dates=config.due_dates())
        db.close()
        clock = SteppingClock(at(10, 25))
        app = create_app(config, config.database, now=clock.now)
        server = WebServer(app, config.web, port=web_port).start()
        site = Site(url=server.local_url, clock=clock, config_path=folder / "config.toml", db_path=config.database,
                    folder=folder, state=app.extensions[STATE])
        yield site, config, smtp
        server.stop()


def _tick(site, config, moment: datetime):
    site.clock.moment = moment
    db = store.open_db(site.db_path)
    try:
        return run_tick(db, config, moment)
    finally:
        db.close()


def _mail_to(smtp, address: str, since: int = 0) -> list[str]:
    """The plain-text bodies of the messages delivered to ``address`` (after the first ``since``)."""
    bodies = []
    for message in smtp.handler.messages[since:]:
        if address in message["to"]:
            parsed = email.message_from_bytes(message["data"], policy=email_policy.default)
            bodies.append(parsed.get_body(preferencelist=("plain",)).get_content())
    return bodies


def _link(body: str, site) -> str:
    return re.search(re.escape(site.url) + r"/u/[A-Za-z0-9_\-.]+", body)[0]


def _assignment(site, ref, unit):
    db = store.open_db(site.db_path)
    try:
        return store.find_assignment(db, ref, unit)
    finally:
        db.close()


def test_a_unit_answers_from_its_email_and_the_office_confirms(loop_site, browser, tmp_path):
    site, config, smtp = loop_site
    _tick(site, config, at(10, 25))
    [body] = _mail_to(smtp, "cz@county.example")
    link = _link(body, site)
    assert "在线签收、报送进展、申请办结或延期" in body
    assert _link(_mail_to(smtp, "mz@county.example")[0], site) != link     # each unit its own link

    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desktop.new_page()
    page.goto(link)
    card = page.locator("article.task", has_text="做好财政预决算公开")
    assert "临期" in card.inner_text() and "未签收" in card.inner_text()
    card.get_by_role("button", name="签收").click()
    card = page.locator("article.task", has_text="做好财政预决算公开")
    assert "已签收" in card.inner_text() and "已签收。" in page.inner_text("main")

    evidence = tmp_path / "预决算公开截图.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% screenshot of the published page\n")
    card.locator("summary", has_text="报送进展").click()
    progress = card.locator("details.act", has_text="报送进展")
    progress.locator("textarea[name=note]").fill("预算已公开，决算正在审核")
    progress.locator("input[name=file]").set_input_files(str(evidence))
    progress.get_by_role("button", name="报送").click()
    card = page.locator("article.task", has_text="做好财政预决算公开")
    assert "预算已公开，决算正在审核" in card.inner_text() and "预决算公开截图.pdf" in card.inner_text()

    card.locator("summary", has_text="申请办结").click()
    done = card.locator("details.act", has_text="申请办结")
    done.locator("textarea[name=note]").fill("决算已于10月25日公开")
    done.locator("input[name=link]").fill("https://county.example/czj/juesuan")
    done.get_by_role("button", name="提交办结申请").click()
    assert "办结申请待确认" in page.locator("article.task", has_text="做好财政预决算公开").inner_text()
    screenshot(page, "unit-page-desktop")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN",
                                is_mobile=True, has_touch=True)
    small = phone.new_page()
    small.goto(link)
    small.locator("summary", has_text="报送进展").first.click()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390, "the page must fit a phone's width"
    screenshot(small, "unit-page-phone-loop")
    phone.close()

    office = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    office.goto(f"{site.url}/login")
    office.fill("input[name=name]", USER)
    office.fill("input[name=password]", PASSWORD)
    office.click("button[type=submit]")
    office.goto(f"{site.url}/queue")
    request = office.locator("article.request", has_text="县财政局")
    assert "决算已于10月25日公开" in request.inner_text() and "申请办结" in request.inner_text()
    screenshot(office, "office-queue")
    request.get_by_role("button", name="确认办结").click()
    assert "已处理" in office.inner_text("main") and office.locator("article.request").count() == 0
    assert _assignment(site, "1-1", "县财政局").status is AssignmentStatus.DONE
    office.goto(f"{site.url}/board")
    row = office.locator("tr", has_text="做好财政预决算公开")
    assert "已办结" in row.inner_text()
    page.goto(link)
    assert "做好财政预决算公开" not in page.inner_text("main")
    office.goto(f"{site.url}/history?unit=县财政局")
    history = office.inner_text("main")
    for label in ("签收", "报送进展", "申请办结", "确认办结"):
        assert label in history
    desktop.close()


def test_an_approved_extension_moves_the_due_date_and_the_next_reminders_follow_it(loop_site, browser):
    site, config, smtp = loop_site
    if not _mail_to(smtp, "mz@county.example"):
        _tick(site, config, at(10, 25))
    first = _mail_to(smtp, "mz@county.example")[0]
    assert "逾期" in first
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    site.clock.moment = at(10, 26)
    page.goto(_link(first, site))
    card = page.locator("article.task", has_text="做好社会救助信息公开")
    assert "逾期" in card.inner_text()
    card.locator("summary", has_text="申请延期").click()
    extend = card.locator("details.act", has_text="申请延期")
    extend.locator("input[name=new_due]").fill("2021-11-30")
    extend.locator("textarea[name=note]").fill("低保名单需待民政厅复核")
    extend.get_by_role("button", name="提交延期申请").click()
    assert "延期申请待答复" in page.inner_text("main")

    office = context.browser.new_context(locale="zh-CN").new_page()
    office.goto(f"{site.url}/login")
    office.fill("input[name=name]", USER)
    office.fill("input[name=password]", PASSWORD)
    office.click("button[type=submit]")
    office.goto(f"{site.url}/queue")
    request = office.locator("article.request", has_text="县民政局")
    assert "申请延至 2021-11-30" in request.inner_text()
    request.get_by_role("button", name="同意延期").click()
    moved = _assignment(site, "1-2", "县民政局")
    assert moved.due.day.isoformat() == "2021-11-30" and moved.task.due.day.isoformat() == "2021-09-30"
    page.reload()
    card = page.locator("article.task", has_text="做好社会救助信息公开")
    assert "已延期，原定 2021年9月30日" in card.inner_text() and "正常" in card.inner_text()
    assert "同意延期" in card.inner_text()

    # The overdue repeat of 9-30 (due 11-01) does not come; the new date's reminders do (30 and 7 days).
    sent = len(smtp.handler.messages)
    _tick(site, config, at(11, 1))
    [month] = _mail_to(smtp, "mz@county.example", since=sent)
    assert "社会救助" in month and "逾期" not in month and "完成日期：2021年11月30日" in month
    sent = len(smtp.handler.messages)
    _tick(site, config, at(11, 23))
    [week] = _mail_to(smtp, "mz@county.example", since=sent)
    assert "社会救助" in week and "完成日期：2021年11月30日" in week and "逾期" not in week
    context.close()
