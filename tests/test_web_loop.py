"""The loop over real HTTP (waitress, requests): a unit answers from its link, the office decides in its
queue; every form checks CSRF, ownership, sizes and types; every text is escaped; every step is kept."""

from __future__ import annotations

import re
from datetime import date

import pytest
import requests

from reminder import store
from reminder.model import ActionKind, AssignmentStatus
from tests.websupport import PASSWORD, USER, site  # noqa: F401  (the module's served site)

PDF = b"%PDF-1.4\n% evidence\n"


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)[1]


def _assignment(site, ref: str, unit: str):
    db = store.open_db(site.db_path)
    try:
        return store.find_assignment(db, ref, unit)
    finally:
        db.close()


def _history(site, **filters):
    db = store.open_db(site.db_path)
    try:
        return store.history(db, **filters)
    finally:
        db.close()


class Unit:
    """A unit clerk's browser without a browser: the link, its cookies, the form's token."""

    def __init__(self, site, unit: str):
        self.site, self.unit, self.session = site, unit, requests.Session()
        self.link = site.link(unit)

    def open(self) -> requests.Response:
        return self.session.get(self.link)

    def act(self, action: str, assignment: int, files=None, csrf: str | None = None, **fields) -> requests.Response:
        token = _csrf(self.open()) if csrf is None else csrf
        data = {"csrf_token": token, "action": action, "assignment": str(assignment), **fields}
        return self.session.post(f"{self.link}/act", data=data, files=files, allow_redirects=False)


def _office(site) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{site.url}/login")
    response = session.post(f"{site.url}/login", data={"csrf_token": _csrf(form), "name": USER, "password": PASSWORD},
                            allow_redirects=False)
    assert response.status_code == 302
    return session


def test_the_unit_page_shows_its_open_tasks_with_lights_and_only_its_own(site):
    site.clock.moment = site.clock.moment.replace(month=10, day=25)
    page = Unit(site, "县财政局").open()
    assert page.status_code == 200
    assert "做好财政预决算公开" in page.text and "审计结果公开" in page.text
    assert "社会救助" not in page.text and "年度报告" not in page.text
    assert "lamp-yellow" in page.text and "临期" in page.text          # 10-30 is 5 days off
    assert "<b>加粗</b>" not in page.text and "&lt;b&gt;加粗&lt;/b&gt;" in page.text
    assert "<script>" not in page.text
    late = Unit(site, "县民政局").open()                                  # 9-30 has passed
    assert "lamp-red" in late.text and "逾期" in late.text


def test_a_unit_acknowledges_reports_progress_with_a_file_and_the_history_shows_it(site):
    clerk = Unit(site, "县财政局")
    mine = _assignment(site, "1-3", "县财政局")
    assert clerk.act("ack", mine.id).status_code == 303
    assert _assignment(site, "1-3", "县财政局").acknowledged_at == site.clock.now()
    hostile = "<img src=x onerror=alert(1)>进展"
    response = clerk.act("progress", mine.id, note=hostile, files={"file": ("报告.pdf", PDF, "application/pdf")})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#a{mine.id}")
    page = clerk.open()
    assert "&lt;img src=x onerror=alert(1)&gt;进展" in page.text and "<img src=x" not in page.text
    assert "已签收" in page.text and "报送进展" in page.text and "报告.pdf" in page.text
    kinds = [a.kind for a in _history(site, assignment_ids=[mine.id])]
    assert kinds == [ActionKind.ACK, ActionKind.PROGRESS]
    stored = _history(site, assignment_ids=[mine.id])[-1].file
    assert clerk.session.get(f"{clerk.link}/files/{stored}").content == PDF
    # Another unit's link (县审计局 shares task 3) cannot fetch it, and nothing climbs out.
    other = Unit(site, "县审计局")
    assert other.session.get(f"{other.link}/files/{stored}").status_code == 404
    assert clerk.session.get(f"{clerk.link}/files/../config.toml").status_code == 404
    assert clerk.session.get(f"{clerk.link}/files/%2e%2e/config.toml").status_code == 404


def test_a_form_naming_another_units_assignment_changes_nothing(site):
    clerk = Unit(site, "县财政局")
    theirs = _assignment(site, "1-3", "县审计局")
    before = _history(site, assignment_ids=[theirs.id])
    for action, fields in (("ack", {}), ("progress", {"note": "x"}), ("done", {"note": "x"}),
                           ("extend", {"note": "x", "new_due": "2021-12-31"})):
        response = clerk.act(action, theirs.id, **fields)
        assert response.status_code == 403 and "不属于本单位" in response.text
        assert "审计结果公开" not in response.text
    for forged in ("", "abc", "-1", "999999", f"{theirs.id} ", f"{theirs.id}.0"):
        assert clerk.act("ack", forged).status_code == 403
    assert _history(site, assignment_ids=[theirs.id]) == before
    assert _assignment(site, "1-3", "县审计局").acknowledged_at is None


def test_every_unit_form_needs_its_csrf_token(site):
    clerk = Unit(site, "县财政局")
    mine = _assignment(site, "1-1", "县财政局")
    clerk.open()
    for token in ("", "0" * 64):
        response = clerk.act("ack", mine.id, csrf=token)
        assert response.status_code == 400 and "表单已失效" in response.text
    stranger = requests.post(f"{clerk.link}/act", data={"csrf_token": _csrf(clerk.open()), "action": "ack",
                                                        "assignment": str(mine.id)})
    assert stranger.status_code == 400          # a token from another browser's cookie does not pass
    assert _assignment(site, "1-1", "县财政局").acknowledged_at is None


def test_uploads_and_links_are_limited(site):
    clerk = Unit(site, "县财政局")
    mine = _assignment(site, "1-1", "县财政局")
    big = clerk.act("progress", mine.id, note="大", files={"file": ("big.pdf", PDF + b"0" * (1024 * 1024), "application/pdf")})
    assert big.status_code in (400, 413) and "MB" in big.text
    exe = clerk.act("progress", mine.id, note="坏", files={"file": ("run.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert exe.status_code == 400 and "不支持的文件类型" in exe.text
    fake = clerk.act("progress", mine.id, note="假", files={"file": ("fake.pdf", b"<html>", "application/pdf")})
    assert fake.status_code == 400 and "不符" in fake.text
    script = clerk.act("progress", mine.id, note="链接", link="javascript:alert(1)")
    assert script.status_code == 400 and "http" in script.text
    assert clerk.act("progress", mine.id).status_code == 400          # nothing to report
    assert [a for a in _history(site, assignment_ids=[mine.id]) if a.kind is ActionKind.PROGRESS] == []
    assert list((site.folder / "files").glob("*/fake.pdf")) == []


def test_done_request_returned_with_a_reason_then_confirmed_in_the_office_queue(site):
    clerk = Unit(site, "县财政局")
    mine = _assignment(site, "1-1", "县财政局")
    assert clerk.act("done", mine.id, note="已在门户公开", link="https://county.example/yjs").status_code == 303
    again = clerk.act("done", mine.id, note="再次")
    assert again.status_code == 400 and "等待办公室" in again.text
    office = _office(site)
    queue = office.get(f"{site.url}/queue")
    assert "申请办结" in queue.text and "已在门户公开" in queue.text and "县财政局" in queue.text
    request_id = re.search(r'name="request" value="(\d+)"', queue.text)[1]
    no_reason = office.post(f"{site.url}/queue/decide", data={"csrf_token": _csrf(queue), "request": request_id,
                                                              "decision": "refuse", "note": ""})
    assert no_reason.status_code == 400 and "理由" in no_reason.text
    forged = office.post(f"{site.url}/queue/decide", data={"request": request_id, "decision": "accept"})
    assert forged.status_code == 400
    returned = office.post(f"{site.url}/queue/decide", data={"csrf_token": _csrf(queue), "request": request_id,
                                                             "decision": "refuse", "note": "请补充<b>截图</b>"},
                           allow_redirects=False)
    assert returned.status_code == 303
    page = clerk.open()
    assert "退回办结申请" in page.text and "请补充&lt;b&gt;截图&lt;/b&gt;" in page.text
    assert '<span class="who">某县政务公开办</span>' in page.text     # a unit sees the office, not the clerk
    assert f"（{USER}）" not in page.text
    assert clerk.act("done", mine.id, note="补充了截图").status_code == 303
    queue = office.get(f"{site.url}/queue")
    request_id = re.search(r'name="request" value="(\d+)"', queue.text)[1]
    confirmed = office.post(f"{site.url}/queue/decide", data={"csrf_token": _csrf(queue), "request": request_id,
                                                              "decision": "accept", "note": ""}, allow_redirects=False)
    assert confirmed.status_code == 303
    assert _assignment(site, "1-1", "县财政局").status is AssignmentStatus.DONE
    assert "做好财政预决算公开" not in clerk.open().text
    twice = office.post(f"{site.url}/queue/decide", data={"csrf_token": _csrf(queue), "request": request_id,
                                                          "decision": "refuse", "note": "x"})
    assert twice.status_code == 409
    history = office.get(f"{site.url}/history", params={"unit": "县财政局"}).text
    for label in ("申请办结", "退回办结申请", "确认办结"):
        assert f'<a href="/task/1-1">1-1</a> {label}' in history        # which task, not only which unit
    assert f"某县政务公开办（{USER}）" in history
    assert requests.get(f"{site.url}/queue", allow_redirects=False).status_code == 302   # login first


def test_an_extension_request_approved_moves_only_that_units_date(site):
    clerk = Unit(site, "县民政局")
    mine = _assignment(site, "1-2", "县民政局")
    early = clerk.act("extend", mine.id, note="等待数据", new_due="2021-09-01")
    assert early.status_code == 400 and "晚于" in early.text
    no_reason = clerk.act("extend", mine.id, note="", new_due="2021-11-30")
    assert no_reason.status_code == 400 and "理由" in no_reason.text
    assert clerk.act("extend", mine.id, note="等待数据", new_due="2021-11-30").status_code == 303
    office = _office(site)
    queue = office.get(f"{site.url}/queue")
    assert "申请延至 2021-11-30" in queue.text
    request_id = re.search(r'name="request" value="(\d+)"', queue.text)[1]
    office.post(f"{site.url}/queue/decide", data={"csrf_token": _csrf(queue), "request": request_id,
                                                  "decision": "accept", "note": "同意"})
    moved = _assignment(site, "1-2", "县民政局")
    assert moved.due.day == date(2021, 11, 30) and moved.task.due.day == date(2021, 9, 30)
    page = clerk.open()
    assert "2021年11月30日" in page.text and "已延期，原定 2021年9月30日" in page.text
    assert "同意延期" in page.text and "2021-09-30 → 2021-11-30" in page.text


def test_the_queue_lists_what_else_waits_and_resends_a_dead_message(site):
    db = store.open_db(site.db_path)
    try:
        from reminder.model import Message

        assert Message  # the outbox's own API makes the dead message below
        db.execute("INSERT INTO messages (key, unit, channel, destination, route, subject, text, status, attempts, "
                   "created_at, last_error) VALUES ('k-dead', '县审计局', 'smtp', 'a@b.example', 'unit:县审计局:email', "
                   "'逾期提醒', 't', 'dead', 6, '2021-06-01T00:00:00.000000+00:00', '550 mailbox <unknown>')")
        db.conn.commit()
        message_id = db.execute("SELECT id FROM messages WHERE key = 'k-dead'").fetchone()[0]
    finally:
        db.close()
    office = _office(site)
    queue = office.get(f"{site.url}/queue")
    assert "失败的通知（1）" in queue.text and "550 mailbox &lt;unknown&gt;" in queue.text
    assert "县审计局" in queue.text and "通知只能送到备用渠道" in queue.text   # no contact: the fallback only
    resent = office.post(f"{site.url}/queue/resend", data={"csrf_token": _csrf(queue), "message": str(message_id)},
                         allow_redirects=False)
    assert resent.status_code == 303
    assert "失败的通知（0）" in office.get(f"{site.url}/queue").text
    assert [a.kind for a in _history(site, unit="县审计局")][-1] is ActionKind.RESEND
    assert office.post(f"{site.url}/queue/resend", data={"message": str(message_id)}).status_code == 400


@pytest.mark.parametrize("path", ["/u/forged.token", "/u/forged.token/act"])
def test_a_bad_link_gets_no_page_and_no_action(site, path):
    response = requests.get(site.url + path) if path.endswith("token") else requests.post(site.url + path, data={})
    assert response.status_code in (400, 403, 405)
    assert "县财政局" not in response.text


QUESTIONABLE_PLAN = ("某县2021年信用信息公开任务\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                     "| 1 | 公开行政许可事项清单。 |  | 2021年11月30日前 |\n"
                     "| 2 | 适时公开双随机抽查结果<i>。</i> | 县市场监管局 | 适时 |\n"
                     "| 3 | 文件印发后公开解读材料。 | 县司法局 | 印发后5个工作日内 |\n")


def test_the_queue_lists_deadlines_to_check_and_tasks_without_units_with_links_to_them(tmp_path):
    from reminder.ingest import read_plan
    from tests.websupport import START, serve_site

    served, server = serve_site(tmp_path / "site")
    try:
        (tmp_path / "questionable.txt").write_text(QUESTIONABLE_PLAN, encoding="utf-8")
        db = store.open_db(served.db_path)
        try:
            report = store.import_plans(db, [read_plan(tmp_path / "questionable.txt")], START)[0]
        finally:
            db.close()
        plan = report.plan_id
        queue = _office(served).get(f"{served.url}/queue").text
        review = queue.split("需要人工核对的时限（2）", 1)[1].split("<h2>", 1)[0]
        assert f'<a href="/task/{plan}-2">第2项（{plan}-2）</a>：时限“适时”，按 ' in review
        assert "&lt;i&gt;" not in review and "<i>" not in review          # the list shows numbers, not task text
        assert f'<a href="/task/{plan}-3">第3项（{plan}-3）</a>：时限“印发后5个工作日内”，等待事件日期' in review
        assert f"/task/{plan}-1\"" not in review                          # a dated deadline needs no check
        unassigned = queue.split("没有责任单位的任务（1）", 1)[1].split("<h2>", 1)[0]
        assert f'<a href="/task/{plan}-1">第1项（{plan}-1）</a>：公开行政许可事项清单。' in unassigned
        assert "县市场监管局" not in unassigned
    finally:
        server.stop()


def test_a_form_sent_twice_is_recorded_once_and_says_so(site):
    clerk = Unit(site, "县政务服务数据管理局")
    mine = _assignment(site, "1-4", "县政务服务数据管理局")
    first = clerk.act("ack", mine.id)
    assert first.status_code == 303 and "ok=ack" in first.headers["location"]
    again = clerk.act("ack", mine.id)
    assert again.status_code == 303 and "ok=repeat" in again.headers["location"]
    assert "刚才已经提交过" in clerk.session.get(site.url + again.headers["location"]).text
    for _ in range(2):
        clerk.act("progress", mine.id, note="已起草年度报告", link="https://county.example/nb")
    clerk.act("progress", mine.id, note="已报分管领导审定")               # news, not a repeat
    site.clock.advance(minutes=11)
    clerk.act("progress", mine.id, note="已报分管领导审定")               # the same words later: a new report
    kept = [(a.kind, a.note) for a in _history(site, assignment_ids=[mine.id])]
    assert kept == [(ActionKind.ACK, ""), (ActionKind.PROGRESS, "已起草年度报告"),
                    (ActionKind.PROGRESS, "已报分管领导审定"), (ActionKind.PROGRESS, "已报分管领导审定")]


def test_error_pages_lead_back_only_where_the_visitor_may_go(site):
    clerk = Unit(site, "县财政局")
    token = clerk.link.rsplit("/", 1)[1]
    stale = clerk.act("ack", _assignment(site, "1-1", "县财政局").id, csrf="0" * 64)
    assert stale.status_code == 400 and f'<a href="/u/{token}">返回本单位的任务页面</a>' in stale.text
    theirs = clerk.act("ack", _assignment(site, "1-2", "县民政局").id)
    assert theirs.status_code == 403 and f'<a href="/u/{token}">返回本单位的任务页面</a>' in theirs.text
    tampered = requests.post(f"{clerk.link[:-2]}xx/act", data={})
    assert tampered.status_code in (400, 403) and "<a href=\"/u/" not in tampered.text
    office = _office(site)
    bad = office.post(f"{site.url}/task/1-1/due", data={"due": "2021-12-01", "reason": "x"})
    assert bad.status_code == 400 and '<a href="/task/1-1">返回任务页面</a>' in bad.text
    assert '<a href="/queue">返回待办</a>' in office.post(f"{site.url}/queue/decide", data={}).text
    assert "返回看板" not in requests.get(f"{site.url}/nowhere").text  # a stranger is led nowhere
