"""Issue 9, what the office runs: `assign` for tasks without units (待分配), `done`/`progress` with `--on`,
"already done" and reopening an open assignment, the config validated by every command that reads it and
`config check` printing the effective routes; and a robot shared by 80 units that gets one post per tick."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import load_config
from reminder.tick import run_tick
from tests.conftest import cli_group, invoke, write_config
from tests.servers import HttpServer, dingtalk_robot

TZ = ZoneInfo("Asia/Shanghai")
PLAN = ("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
        "| 1 | 做好财政预决算公开。 | 县财政局 | 2021年9月30日前 |\n"
        "| 2 | 编制政府信息公开年度报告。 | -- | 2021年11月30日前 |\n"
        "| 3 | 持续做好政策解读。 | 县直各部门 | 持续推进 |\n")
TABLES = """
[office]
name = "县政务公开办"
emails = ["gwgk@county.example"]
phone = "0855-1234567"

[[units]]
name = "县财政局"
aliases = ["财政局"]
emails = ["cz@county.example"]

[[units]]
name = "县审计局"
emails = ["sj@county.example"]

[[units]]
name = "县民政局"
emails = ["mz@county.example", "shared@county.example"]

[[units]]
name = "县司法局"
emails = ["shared@county.example"]

[[units]]
name = "县直各部门"
members = ["县财政局", "县民政局"]
emails = ["list@county.example"]
"""


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@pytest.fixture
def office(tmp_path):
    (tmp_path / "plan.txt").write_text(PLAN, encoding="utf-8")
    config = write_config(tmp_path, TABLES, top="send_hour = 9")

    def run(*args: str, code: int = 0):
        result = invoke(config, *args)
        assert result.exit_code == code, result.output
        return result.output

    run("import", str(tmp_path / "plan.txt"), "--now", "2021-06-01T08:00")
    return run, config, tmp_path


def test_a_task_without_units_is_pending_assignment_until_the_office_assigns_it(office):
    run, config, _ = office
    digest = run("digest", "--now", "2021-06-02", "--dry-run")
    assert "六、待分配任务（1项）" in digest and "第2项（登记号1-2）" in digest
    assert "reminder assign 登记号 --unit 单位名称" in digest  # the office is told how (units never are)
    assert "given to 县审计局" in run("assign", "1-2", "--unit", "县审计局")
    assert "already has" in run("assign", "2", "--unit", "县审计局")
    digest = run("digest", "--now", "2021-06-02", "--dry-run")
    assert "六、待分配任务（0项）" in digest
    [task] = [t for t in json.loads(run("tasks", "--json")) if t["id"] == "1-2"]
    assert [(a["unit"], a["assigned_by"]) for a in task["assignments"]] == [("县审计局", "office")]
    # the unit hears of it like any other (the 30-day reminder of 11-30 fires on 10-29)
    preview = json.loads(run("tick", "--now", "2021-10-29", "--dry-run", "--json"))
    assert any(p["unit"] == "县审计局" and "第2项" in p["text"] for p in preview["preview"])
    # a group gives the task to each member; --remove takes it away again, and a re-import keeps that
    assert "given to 县财政局、县民政局" in run("assign", "1-2", "--unit", "县直各部门")
    assert "taken from 县民政局" in run("assign", "1-2", "--unit", "县民政局", "--remove")
    run("import", str(office[2] / "plan.txt"), "--now", "2021-07-01T08:00")
    [task] = [t for t in json.loads(run("tasks", "--json")) if t["id"] == "1-2"]
    assert {a["unit"] for a in task["assignments"]} == {"县审计局", "县财政局"}
    assert "no unit of this task matches" in run("assign", "1-2", "--unit", "县司法局", "--remove", code=1)


def test_a_report_that_came_earlier_is_dated_then_and_done_twice_or_reopen_on_open_says_so(office):
    run, _, _ = office
    assert "task 1-1 done for 县财政局" in run("done", "1", "--unit", "财政局", "--on", "2021-06-20",
                                              "--note", "电话告知已公开")
    again = run("done", "1-1", "--unit", "县财政局", "--note", "再次告知")
    assert "already done" in again and "2021-06-20" in again and "nothing recorded" in again
    [task] = [t for t in json.loads(run("tasks", "--json")) if t["id"] == "1-1"]
    [finance] = task["assignments"]
    assert [(r["kind"], r["note"], r["at"][:10]) for r in finance["reports"]] == [("done", "电话告知已公开", "2021-06-20")]
    assert finance["done_at"].startswith("2021-06-20")
    assert "nothing to reopen" in run("reopen", "1-3", "--unit", "县民政局")
    assert "reopened" in run("reopen", "1-1", "--unit", "县财政局")
    # progress on an ongoing group task, by phone a week ago; status and the digest carry the note
    run("progress", "3", "--unit", "县民政局", "--note", "已完成三季度解读", "--on", "2021-06-25")
    [row] = [r for r in json.loads(run("status", "--json")) if r["unit"] == "县民政局"]
    assert row["last_note"]["note"] == "已完成三季度解读" and row["last_note"]["task"] == "1-3"
    assert row["last_report_at"].startswith("2021-06-25")
    # a report cannot come from the future, and a group is not one unit that reported
    assert "future" in run("done", "1-1", "--unit", "县财政局", "--on", "2999-01-01", code=2)
    assert "is a group" in run("done", "3", "--unit", "县直各部门", code=1)


def test_the_digest_shows_the_latest_note_of_a_late_assignment(office):
    run, _, _ = office
    run("progress", "1", "--unit", "县财政局", "--note", "正在汇总部门决算", "--on", "2021-06-28")
    digest = run("digest", "--now", "2021-10-20", "--dry-run")
    assert "最近进展（2021年6月28日）：正在汇总部门决算" in digest
    assert "一、总体情况" in digest and "县财政局：逾期1项（最长20天），已办结0项，未办结2项，完成率0%" in digest
    assert "任务3项，已全部办结0项，待分配1项；分解到各单位的任务共3项次，已办结0项次" in digest


COMMANDS_READING_THE_CONFIG = [
    ("import", "plan.txt"), ("tasks",), ("tick", "--dry-run"), ("digest", "--dry-run"), ("notices",),
    ("retry", "1"), ("done", "1", "--unit", "县财政局"), ("progress", "1", "--unit", "县财政局", "--note", "x"),
    ("reopen", "1", "--unit", "县财政局"), ("assign", "1", "--unit", "县审计局"), ("event", "1", "--date", "2021-07-01"),
    ("status",), ("calendar",), ("backup", "backups"), ("link", "县财政局"), ("config", "check"), ("run",),
    ("serve",), ("ack", "1", "--unit", "县财政局"), ("requests",), ("decide", "1", "--accept"), ("history",),
    ("export", "ledger", "ledger.xlsx"), ("export", "summary"), ("show", "1"), ("units", "list"),
]


@pytest.mark.parametrize("args", COMMANDS_READING_THE_CONFIG, ids=[a[0] for a in COMMANDS_READING_THE_CONFIG])
def test_every_command_that_reads_the_config_validates_it_first(office, args):
    run, config, folder = office
    config.write_text(config.read_text(encoding="utf-8").replace('phone = "0855-1234567"', "phone = 12345"),
                      encoding="utf-8")
    args = tuple(str(folder / a) if a == "plan.txt" else a for a in args)
    result = invoke(config, *args)
    assert result.exit_code == 1, result.output
    assert "office.phone" in result.output and "must be a string" in result.output


def test_the_command_list_covers_every_command_that_reads_the_config():
    from tests.test_docs import commands

    without_config = {"reminder deadline", "reminder parse", "reminder hash-password", "reminder units import"}
    listed = {"reminder " + " ".join(a for a in args if not a.startswith("-") and a not in ("1", "plan.txt",
              "县财政局", "县审计局", "x", "backups", "2021-07-01", "ledger.xlsx")) for args in COMMANDS_READING_THE_CONFIG}
    assert {path for path, _ in commands(cli_group())} - without_config == listed


def test_config_check_prints_each_units_routes_shared_addresses_groups_and_warnings(office):
    run, config, _ = office
    # without [smtp], every unit goes to the fallback file channel, and the check says why
    data = json.loads(run("config", "check", "--json"))
    assert {r["id"] for u in data["units"] for r in u["routes"]} == {"fallback:file"}
    assert any("[smtp] host is not set" in w for w in data["warnings"])
    config.write_text(config.read_text(encoding="utf-8") + '\n[smtp]\nhost = "127.0.0.1"\nport = 2525\n'
                      'security = "none"\nfrom_addr = "reminder@county.example"\n', encoding="utf-8")
    out = invoke(config, "config", "check")
    assert out.exit_code == 0
    assert "县财政局 (also 财政局) [in 县直各部门]:" in out.output
    assert "县直各部门: group of 2: 县财政局、县民政局" in out.output
    assert "shared@county.example (shared with 县司法局)" in out.output
    assert "warning: group 县直各部门: its members are reminded one by one" in out.output
    routes = {u["unit"]: u["routes"] for u in json.loads(run("config", "check", "--json"))["units"]}
    assert routes["县财政局"] == [{"id": "unit:县财政局:email", "channel": "smtp", "destination": "cz@county.example",
                                   "shared_with": []}]
    assert [(r["destination"], r["shared_with"]) for r in routes["县民政局"]] == [
        ("mz@county.example", []), ("shared@county.example", ["县司法局"])]
    broken = config.read_text(encoding="utf-8").replace('name = "县审计局"', 'name = "县审计局"\nemail = "x@y.cn"')
    config.write_text(broken, encoding="utf-8")
    result = invoke(config, "config", "check")
    assert result.exit_code == 1 and "units[1].email" in result.output and "did you mean 'emails'" in result.output


def test_eighty_units_on_one_robot_get_one_post_per_tick_not_eighty(tmp_path):
    units = [f"第{i}单位" for i in range(1, 81)]
    with HttpServer() as http:
        http.routes["/robot/send"] = dingtalk_robot(None)
        url = http.url("/robot/send") + "?access_token=county"
        tables = "".join(f'\n[[units]]\nname = "{u}"\nwebhooks = [{{ kind = "dingtalk", url = "{url}" }}]\n'
                         for u in units)
        plan = tmp_path / "plan.txt"
        plan.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                        + "".join(f"| {i} | 做好第{i}项工作。 | {u} | 2021年9月30日前 |\n" for i, u in enumerate(units, 1)),
                        encoding="utf-8")
        config = write_config(tmp_path, tables, top="send_hour = 9", fallback=False)
        assert invoke(config, "import", str(plan), "--now", "2021-06-01T08:00").exit_code == 0
        loaded = load_config(config)
        db = store.open_db(loaded.database)
        report = run_tick(db, loaded, at(date(2021, 9, 23)))  # every unit's 7-day reminder
        posts = http.received("/robot/send")
        assert report.messages == 1 and 1 <= len(posts) <= 3  # one message, split only by the 20 KB limit
        text = "".join(p.json()["markdown"]["text"] for p in posts)
        assert all(f"【{u}】" in text for u in units)
        assert all(len(p.json()["markdown"]["text"].encode()) <= 20_000 for p in posts)  # DingTalk's cap
        [listed] = store.list_messages(db)
        assert listed.stages == ("reminder",) and len(listed.tasks) == 80
        db.close()
