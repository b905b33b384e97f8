"""The HTML notice and digest read well on a phone (390 px) and on a desktop (900 px): rendered from a real
plan, tick and database, opened in headless Chromium, measured by the elements' boxes, screenshotted."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.digest import build_context
from reminder.render import Renderer
from tests.conftest import invoke, write_config
from tests.websupport import screenshot

LONG = ("推进部门预决算公开，细化公开部门所属单位预决算及相关报表，按经济分类公开基本支出和项目支出，"
        "对“三公”经费增减变化情况作出说明，并将政府采购、资产管理、绩效目标等情况一并公开，接受社会监督。")
PLAN = ("某县2021年政务公开工作要点分工方案\n| 序号 | 具体要求 | 责任单位 | 完成时限 |\n"
        f"| 1 | {LONG} | 县直各部门 | 2021年9月30日前 |\n"
        "| 2 | 做好惠民惠农资金发放信息公开，推动补贴信息公开向村和社区延伸。 | 县财政局 | 2021年10月15日前 |\n"
        "| 3 | 完善政府网站政策问答库，做好政务服务便民热线知识库更新。 | 县财政局 | 2021年11月30日前 |\n"
        "| 4 | 做好疫情防控和公共卫生信息发布工作。 | 县民政局 | 持续推进 |\n")
UNITS = """
[office]
name = "县政务公开办"
phone = "0855-1234567"

[[units]]
name = "县财政局"

[[units]]
name = "县民政局"

[[units]]
name = "县直各部门"
members = ["县财政局", "县民政局"]
"""
WIDE_ENOUGH = 250  # px of task text at 390 px: some 17 Chinese characters a line (it was 2 before)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    """The unit notice (from the .eml the file channel wrote) and the office digest, as HTML."""
    folder = tmp_path_factory.mktemp("phone")
    config = write_config(folder, UNITS)
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    invoke(config, "import", str(folder / "plan.txt"), "--now", "2021-06-01T08:00")
    assert invoke(config, "tick", "--now", "2021-10-08").exit_code == 0
    files = sorted((folder / "outbox").glob("*县财政局*.eml"))
    notice = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    loaded = load_config(config)
    db = store.open_db(loaded.database)
    context = build_context(db, loaded, datetime(2021, 10, 20, 16, tzinfo=ZoneInfo("Asia/Shanghai")))
    return {"unit": notice.get_body(("html",)).get_content(), "digest": Renderer().render_digest(context).html}


def open_at(browser, html: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    page.route("**/*", lambda route: route.abort())  # an email loads nothing from outside
    page.set_content(html)
    return context, page


def task_cells(page):
    return page.locator("table.stack td.main")


@pytest.mark.parametrize("name", ["unit", "digest"])
def test_task_text_gets_the_width_of_a_phone_and_nothing_overflows(browser, pages, name):
    html = pages[name]
    assert "<script" not in html and "src=" not in html and "<link" not in html  # nothing to run or load
    context, page = open_at(browser, html, 390)
    try:
        cells = task_cells(page)
        assert cells.count() >= 2
        for i in range(cells.count()):
            box = cells.nth(i).bounding_box()
            assert box["width"] >= WIDE_ENOUGH, (name, i, box)
            assert box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        assert page.locator("table.stack tr.head").first.is_hidden()      # labels replace the header row
        label = page.evaluate("""getComputedStyle(document.querySelector('td[data-label="时限要求"]'),
                                 '::before').content""")
        assert "时限要求" in label
        if name == "digest":  # the standings stay a table: its unit column must not collapse to a character
            unit = page.locator("table.standings td").first.bounding_box()
            assert unit["width"] >= 80, unit
        screenshot(page, f"email-{name}-390")
    finally:
        context.close()


@pytest.mark.parametrize("name", ["unit", "digest"])
def test_on_a_desktop_it_stays_a_table(browser, pages, name):
    context, page = open_at(browser, pages[name], 900)
    try:
        assert page.locator("table.stack tr.head").first.is_visible()
        row = page.locator("table.stack tr").nth(1)
        cells = row.locator("td")
        tops = {round(cells.nth(i).bounding_box()["y"]) for i in range(cells.count())}
        assert len(tops) == 1  # the cells of a row side by side
        screenshot(page, f"email-{name}-900")
    finally:
        context.close()


def test_the_notice_shows_the_group_and_long_text_whole(pages):
    html = pages["unit"]
    assert LONG in html and "县直各部门" in html
