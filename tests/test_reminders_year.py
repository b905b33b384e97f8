"""Issue 9, end to end: seed 002 imported through the command line with a unit directory that has groups,
aliases and shared addresses; the clock stepped one day at a time from the import to the next January, on
the real calendar; mail to a real SMTP server, a robot shared by three units to a real HTTP server that
checks Feishu's signature. Units report through the command line as an office clerk would (an alias, a
short name, ``--on`` for a report that came by phone), and a corrected plan is imported mid-year.

The year runs once (module fixture); each test reads one rule off what the servers received and what the
store holds."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.tick import run_tick
from reminder.workdays import Calendar
from tests.conftest import invoke, seed_path, write_config
from tests.servers import HttpServer, SmtpServer, feishu_robot

TZ = ZoneInfo("Asia/Shanghai")
OFFICE = "office@rongjiang.example"
PHONE = "0855-6621234"
START, END = date(2021, 6, 1), date(2022, 1, 31)
SECRET = "county-robot-secret"

UNITS = f"""
[office]
name = "榕江县政务公开办"
emails = ["{OFFICE}"]
phone = "{PHONE}"

[[units]]
name = "县发展和改革局"
aliases = ["县发展改革局", "县发展改革委", "县发改局"]
emails = ["fgj@rongjiang.example"]

[[units]]
name = "县财政局"
emails = ["czj@rongjiang.example"]

[[units]]
name = "县审计局"
emails = ["sjj@rongjiang.example"]

[[units]]
# a member of 县直各部门 without contacts: its notices go to the fallback channel (.eml files)
name = "县民政局"

[[units]]
name = "县卫生健康局"
webhooks = [{{ kind = "feishu", url_env = "COUNTY_ROBOT", secret_env = "COUNTY_SECRET" }}]

[[units]]
name = "县公安局"
webhooks = [{{ kind = "feishu", url_env = "COUNTY_ROBOT", secret_env = "COUNTY_SECRET" }}]

[[units]]
name = "县市场监管局"
emails = ["scj@rongjiang.example"]
webhooks = [{{ kind = "feishu", url_env = "COUNTY_ROBOT", secret_env = "COUNTY_SECRET" }}]

[[units]]
name = "县政府办公室"
aliases = ["县政府办"]
emails = ["zfb@rongjiang.example"]

[[units]]
name = "县直各部门"
aliases = ["县直各部门（含本单位）"]
members = ["县财政局", "县发改局", "县民政局", "县卫生健康局", "县市场监管局"]

[[units]]
name = "各乡镇人民政府"
members = ["古州镇", "忠诚镇"]

[[units]]
# 古州镇 has its own mailbox and shares the towns' mailbox with 忠诚镇
name = "古州镇"
emails = ["guzhou@rongjiang.example", "towns@rongjiang.example"]

[[units]]
name = "忠诚镇"
emails = ["towns@rongjiang.example"]
"""

GROUP_MEMBERS = ("县财政局", "县发展和改革局", "县民政局", "县卫生健康局", "县市场监管局")
ROBOT_UNITS = {"县卫生健康局", "县公安局", "县市场监管局"}


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@dataclass
class Mail:
    day: date
    to: tuple[str, ...]
    subject: str
    text: str
    reply_to: str | None


@dataclass
class Year:
    """What the year left behind: the messages each server received, by the day they went out."""

    folder: Path
    config_path: Path
    env: dict[str, str]
    mails: list[Mail] = field(default_factory=list)
    posts: list[tuple[date, dict]] = field(default_factory=list)  # the county robot's posts
    outputs: dict[str, str] = field(default_factory=dict)        # command outputs worth checking
    reports: dict[date, dict] = field(default_factory=dict)

    def cli(self, *args: str):
        result = invoke(self.config_path, *args, env=self.env)
        assert result.exit_code == 0, result.output
        return result.output

    def db(self):
        return store.open_db(self.folder / "reminder.db")


def corrected_plan(folder: Path) -> Path:
    """Seed 002 as the office corrected it in October: 县发展改革委 spelled 县发改局 (task 25) and
    县发展改革局 spelled 县发展改革委 (task 4), and 县审计局 added to task 6."""
    text = seed_path("002").read_text(encoding="utf-8")
    text = text.replace("县教育科技局、县卫生健康局、县发展改革委", "县教育科技局、县卫生健康局、县发改局")
    text = text.replace("县发展改革局、县市场监管局", "县发展改革委、县市场监管局")
    assert text.count("\t县财政局\n") == 1
    text = text.replace("\t县财政局\n", "\t县财政局、县审计局\n")
    path = folder / "002-corrected.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Year:
    folder = tmp_path_factory.mktemp("year")
    with SmtpServer() as smtp, HttpServer() as http:
        http.routes["/county"] = feishu_robot(SECRET)
        env = {"COUNTY_ROBOT": http.url("/county"), "COUNTY_SECRET": SECRET}
        path = write_config(folder, UNITS, top="send_hour = 9", smtp_port=smtp.port,
                            smtp='from_name = "榕江县政务公开办"\n',
                            policy={"remind_days_before": "[30, 7, 1]", "overdue_repeat_days": 7,
                                    "escalate_after_days": 14, "checkin_every_days": 30, "max_attempts": 3})
        result = Year(folder, path, env)
        result.outputs["import"] = result.cli("import", str(seed_path("002")), "--now", "2021-06-01T08:00")
        config = load_config(path, env=env)
        db = result.db()
        day = START
        while day <= END:
            _clerk(result, day)
            mails_before, posts_before = len(smtp.handler.messages), len(http.requests)
            result.reports[day] = run_tick(db, config, at(day)).as_dict()
            for message in smtp.handler.messages[mails_before:]:
                parsed = email.message_from_bytes(message["data"], policy=email.policy.default)
                result.mails.append(Mail(day, tuple(message["to"]), str(parsed["Subject"]),
                                         parsed.get_body(("plain",)).get_content(), parsed["Reply-To"]))
            result.posts += [(day, r.json()) for r in http.requests[posts_before:]]
            day += timedelta(days=1)
        db.close()
    return result


def _clerk(year: Year, day: date) -> None:
    """What the office does on some days of the year, through the command line."""
    if day == date(2021, 7, 5):
        # 县财政局 phoned on 07-02 that its work plan (task 32, due 06-30) was done
        year.outputs["done-32"] = year.cli("done", "32", "--unit", "县财政局", "--note", "已报送年度工作方案",
                                           "--on", "2021-07-02")
    if day == date(2021, 8, 2):
        year.outputs["progress-7"] = year.cli("progress", "7", "--unit", "古州镇", "--note", "已公开7月补贴发放信息",
                                              "--on", "2021-07-30")
    if day == date(2021, 8, 20):
        # an alias the plan does not use for that task: the directory's unit is meant
        year.outputs["done-4"] = year.cli("done", "1-4", "--unit", "县发改局", "--note", "监管信息已统一公开")
    if day == date(2021, 10, 11):
        year.outputs["reimport"] = year.cli("import", str(corrected_plan(year.folder)), "--now", "2021-10-11T08:30",
                                            "--json")
    if day == date(2021, 11, 10):
        year.outputs["done-6"] = year.cli("done", "1-6", "--unit", "财政局", "--note", "预决算已公开")
        year.outputs["done-6-again"] = year.cli("done", "1-6", "--unit", "县财政局")


def unit_of(mail: Mail) -> str:
    return mail.text.split("：", 1)[0].strip()


def items(text: str) -> list[tuple[str, str]]:
    """(section title, item text) for each item of a notice's plain text."""
    found, section = [], ""
    for block in re.split(r"\n(?=\S)", text):
        head = block.split("\n", 1)[0]
        if re.match(r"^[一二三四五六七八九十]、", head):
            section = head
        elif re.match(r"^\d+\. ", head):
            found.append((section, block))
    return found


# --- one unit, one identity ----------------------------------------------------------------------

def test_a_group_task_is_one_assignment_per_member_reminded_and_ranked_on_its_own(year):
    db = year.db()
    [listing] = [t for t in store.list_tasks(db) if t.task.number == "11"]  # 县直各部门, 持续推进
    assert {a.unit for a in listing.assignments} == set(GROUP_MEMBERS)
    assert {a.via_group for a in listing.assignments} == {"县直各部门"}
    assert listing.task.units_text == "县直各部门"  # the plan's text shows the group as written
    # task 7 names two groups: every member of both, each once
    [seven] = [t for t in store.list_tasks(db) if t.task.number == "7"]
    assert {a.unit for a in seven.assignments} == set(GROUP_MEMBERS) | {"古州镇", "忠诚镇"}
    # `tasks --unit 县财政局` lists its group tasks too
    mine = json.loads(year.cli("tasks", "--unit", "县财政局", "--json"))
    assert {"1-6", "1-7", "1-11", "1-20", "1-32"} <= {t["id"] for t in mine}
    # each member is reminded on its own: 县财政局 by mail, 县民政局 (no contact) by the fallback channel
    finance = [m for m in year.mails if "czj@rongjiang.example" in m.to]
    assert any("第11项" in m.text for m in finance)
    eml = list((year.folder / "outbox").glob("*.eml"))
    civil = [p for p in eml if "县民政局" in email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             .get_body(("plain",)).get_content().split("：", 1)[0]]
    assert civil, "the member without contacts reaches the fallback channel"
    # status shows which member is late, and 县财政局's done on its group task is its own
    status = {r["unit"]: r for r in json.loads(year.cli("status", "--json"))}
    assert set(GROUP_MEMBERS) <= set(status)
    [thirty_two] = [t for t in store.list_tasks(db) if t.task.number == "32"]
    done = {a.unit for a in thirty_two.assignments if a.status == "done"}
    assert done == {"县财政局"}


def test_a_group_the_directory_does_not_know_stays_one_assignment_under_its_written_name(year):
    db = year.db()
    [five] = [t for t in store.list_tasks(db) if t.task.number == "5"]
    assert [a.unit for a in five.assignments] == ["县司法局", "县行政执法部门"]


def test_aliases_resolve_everywhere_and_a_respelled_reimport_keeps_the_done_marks(year):
    db = year.db()
    fgj = [t for t in store.list_tasks(db, unit="县发展改革委", rule=load_config(year.config_path, env=year.env)
                                       .directory)]
    refs = {t.task.number for t in fgj}
    assert {"1", "4", "25"} <= refs  # written 县发展改革局 in tasks 1 and 4, 县发展改革委 in 25
    units = {a.unit for t in fgj for a in t.assignments}
    assert "县发展改革局" not in units and "县发展改革委" not in units and "县发展和改革局" in units
    report = json.loads(year.outputs["reimport"])
    respelled = {(r["task"], r["unit"], r["before"], r["after"]) for r in report["units_respelled"]}
    assert ("25", "县发展和改革局", "县发展改革委", "县发改局") in respelled
    assert ("4", "县发展和改革局", "县发展改革局", "县发展改革委") in respelled
    assert {"task": "6", "unit": "县审计局"} in report["assignments_added"]
    assert not [r for r in report["assignments_removed"] if r["unit"] == "县发展和改革局"]
    [four] = [t for t in store.list_tasks(db) if t.task.number == "4"]
    fgj_four = [a for a in four.assignments if a.unit == "县发展和改革局"]
    assert [a.status for a in fgj_four] == ["done"] and fgj_four[0].written == "县发展改革委"
    # and it heard nothing more about task 4 after it was done
    later = [m for m in year.mails if "fgj@rongjiang.example" in m.to and m.day > date(2021, 8, 20)]
    assert later and not any("第4项" in m.text for m in later)
    # the digest and status name the directory's unit
    status = {r["unit"] for r in json.loads(year.cli("status", "--json"))}
    assert "县发展和改革局" in status and not {"县发展改革局", "县发展改革委"} & status


def test_a_unit_reached_by_a_shared_robot_or_mailbox_gets_one_message_per_tick_there(year):
    posts_per_day = Counter(day for day, _ in year.posts)
    assert year.posts, "the county robot was used"
    assert max(posts_per_day.values()) == 1  # three units, one robot: one post per tick
    shared = [payload for _, payload in year.posts if sum(f"【{u}】" in json.dumps(payload, ensure_ascii=False)
                                                          for u in ROBOT_UNITS) >= 2]
    assert shared, "some days two or three units had items: one post with a section per unit"
    # the towns' shared mailbox: one message a day carrying both towns; 古州镇's own mailbox only its own
    towns = [m for m in year.mails if "towns@rongjiang.example" in m.to]
    assert max(Counter(m.day for m in towns).values()) == 1
    assert any("【古州镇】" in m.text and "【忠诚镇】" in m.text for m in towns)
    guzhou = [m for m in year.mails if "guzhou@rongjiang.example" in m.to]
    assert guzhou and all("忠诚镇" not in m.text for m in guzhou)
    # and every other address: one message per tick
    per_address_day = Counter((address, m.day) for m in year.mails for address in m.to)
    assert max(per_address_day.values()) == 1


# --- true wording --------------------------------------------------------------------------------

def test_a_due_day_notice_goes_out_only_on_the_due_day_and_never_says_overdue(year):
    calendar = Calendar()
    assert any("今日到期" in m.subject for m in year.mails)
    for mail in year.mails:
        for section, text in items(mail.text):
            assert not ("今日到期" in text and "已逾期" in text), text
            if "今日到期任务" in section:
                assert "今日到期" in text and "已逾期" not in text and "距到期" not in text
            if "已逾期任务" in section:
                assert "已逾期" in text and "今日到期" not in text
    db = year.db()
    for row in db.query("SELECT n.due, n.fire_at, n.created_at FROM notices n WHERE n.stage = 'due'"):
        sent_on = datetime.fromisoformat(row["created_at"]).astimezone(TZ).date()
        assert row["due"] == sent_on.isoformat() and calendar.is_workday(sent_on)


def test_checkins_never_show_a_completion_date_or_overdue_and_say_when_the_last_report_came(year):
    checkins = [(m, text) for m in year.mails for section, text in items(m.text) if "进展询问" in section]
    assert checkins
    for _, text in checkins:
        assert "完成日期" not in text and "逾期" not in text and "到期" not in text, text
        assert "最近一次报送进展" in text or "尚未报送过进展" in text
    # 古州镇 reported progress on task 7 (by phone, 07-30): its next check-in on task 7 says when
    reported = [text for m, text in checkins if "guzhou@rongjiang.example" in m.to and "第7项" in text
                and m.day > date(2021, 8, 2)]
    assert reported and "最近一次报送进展：2021年7月30日" in reported[0]


def test_overdue_notices_repeat_per_unit_listing_every_overdue_task_with_the_total(year):
    calendar = Calendar()
    by_unit: dict[str, list[Mail]] = defaultdict(list)
    for mail in year.mails:
        if mail.subject.startswith("【逾期提醒】") and len(mail.to) == 1 and "towns" not in mail.to[0]:
            by_unit[unit_of(mail)].append(mail)
    assert len(by_unit) >= 4
    for unit, mails in by_unit.items():
        sent = sorted(m.day for m in mails)
        assert all((b - a).days >= 7 for a, b in zip(sent, sent[1:])), (unit, sent)
        for mail in mails:
            overdue = [text for section, text in items(mail.text) if "已逾期任务" in section]
            total = int(re.search(r"有(\d+)项政务公开任务已逾期", mail.subject)[1])
            assert total == len(overdue)
    # the listing is complete: on the day 县政府办公室 was chased, every one of its overdue tasks was in it
    db = year.db()
    for mail in by_unit["县政府办公室"]:
        listed = set(re.findall(r"登记号：(\S+)", mail.text.split("二、")[0]))
        due_before = {str(t.task.ref) for t in store.list_tasks(db, unit="县政府办公室")
                      if t.task.due and t.task.due.day < mail.day
                      and not any(a.done_at and a.done_at.date() < mail.day for a in t.assignments)}
        assert listed == due_before, (mail.day, listed, due_before)
    assert calendar


def test_no_notice_is_a_catch_up_without_downtime_and_a_reassigned_task_is_new(year):
    assert not any("补发" in m.text for m in year.mails)
    assert not any("补发" in json.dumps(p, ensure_ascii=False) for _, p in year.posts)
    # 县审计局 got task 6 by the corrected plan on 10-11; its first notice (the 30-day reminder, whose
    # day, 09-30, had passed) says 新分配, and is no 补发
    audit = [m for m in year.mails if "sjj@rongjiang.example" in m.to]
    assert audit and audit[0].day == date(2021, 10, 11)
    assert "第6项（新分配）" in audit[0].text and "新分配给贵单位" in audit[0].text


def test_the_date_shown_is_the_working_day_and_the_shift_is_explained_once(year):
    finance = [m for m in year.mails if "czj@rongjiang.example" in m.to and "第6项" in m.text]
    assert finance
    for mail in finance:
        assert "完成日期：2021年11月1日（周一）" in mail.text
        assert mail.text.count("10月30日为周六，顺延至11月1日（周一）") == 1
        assert "2021年10月30日" not in mail.text.replace("2021年10月30日前", "")  # only as the plan wrote it
    listed = {t["id"]: t for t in json.loads(year.cli("tasks", "--json"))}
    assert (listed["1-6"]["due"], listed["1-6"]["due_written"]) == ("2021-11-01", "2021-10-30")
    before = {t["id"] for t in json.loads(year.cli("tasks", "--due-before", "2021-10-31", "--json"))}
    assert "1-6" not in before and "1-17" in before


# --- replies reach the office --------------------------------------------------------------------

def test_every_email_has_reply_to_the_office_and_every_notice_closes_with_its_contact(year):
    assert year.mails
    for mail in year.mails:
        assert mail.reply_to == OFFICE
        assert PHONE in mail.text and OFFICE in mail.text and "回复将送达榕江县政务公开办" in mail.text
        assert "reminder " not in mail.text and "--unit" not in mail.text
    for _, payload in year.posts:
        body = json.dumps(payload, ensure_ascii=False)
        assert PHONE in body and "reminder " not in body and "回复" not in body


def test_the_register_number_is_the_stable_ref_every_command_takes(year):
    refs = set(re.findall(r"登记号：(\S+)", "\n".join(m.text for m in year.mails)))
    assert refs and all(re.fullmatch(r"1-\d+", r) for r in refs)
    db = year.db()
    ids = {str(r[0]) for r in db.execute("SELECT id FROM tasks")}
    assert not any(r.split("-")[1] in ids and r not in {f"1-{i}" for i in ids} for r in refs)
    # after another plan is imported, the refs in the notices still name the same tasks
    other = year.folder / "other.txt"
    other.write_text("某县2022年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                     "| 6 | 另一项任务。 | 县财政局 | 2022年6月30日前 |\n", encoding="utf-8")
    year.cli("import", str(other), "--now", "2022-02-01T08:00")
    shown = year.cli("tasks", "--json")
    by_ref = {t["id"]: t for t in json.loads(shown)}
    assert by_ref["1-6"]["text"].startswith("扩大预决算公开范围") and by_ref["2-6"]["text"] == "另一项任务。"
    assert "already done" in year.cli("done", "1-6", "--unit", "县财政局")


# --- the office sees everything ------------------------------------------------------------------

def test_done_twice_says_already_done_and_notes_reach_tasks_status_and_the_digest(year):
    assert "task 1-6 done for 县财政局" in year.outputs["done-6"]
    assert "already done" in year.outputs["done-6-again"] and "nothing recorded" in year.outputs["done-6-again"]
    tasks = {t["id"]: t for t in json.loads(year.cli("tasks", "--json"))}
    [finance] = [a for a in tasks["1-32"]["assignments"] if a["unit"] == "县财政局"]
    [report] = finance["reports"]
    assert (report["kind"], report["note"]) == ("done", "已报送年度工作方案")
    assert report["at"].startswith("2021-07-02")  # --on: when it happened, not when it was typed
    assert finance["done_at"].startswith("2021-07-02")
    status = {(r["unit"]): r for r in json.loads(year.cli("status", "--json"))}
    assert status["古州镇"]["last_note"]["note"] == "已公开7月补贴发放信息"
    digest = year.cli("digest", "--now", "2021-11-15T16:00", "--dry-run")
    assert "一、总体情况" in digest and "完成率" in digest
    reopen = year.cli("reopen", "1-7", "--unit", "古州镇")
    assert "nothing to reopen" in reopen


def test_the_robot_messages_show_their_stage_and_tasks_in_notices(year):
    listed = json.loads(year.cli("notices", "--json"))
    robot = [n for n in listed if n["channel"] == "feishu"]
    assert robot and all(n["stage"] != "digest" and n["tasks"] for n in robot)
    assert {"reminder", "checkin"} <= {s for n in robot for s in n["stage"].split(",")}
