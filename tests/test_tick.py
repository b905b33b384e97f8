"""Issue 3's guarantees, end to end: seed 002 imported, the clock stepped one day at a time, mail to a
real SMTP server (aiosmtpd) and robots to a real local HTTP server that checks signatures."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from reminder import store
from reminder.config import load_config
from reminder.digest import build_context, run_digest
from reminder.ingest import read_plan
from reminder.tick import run_tick
from tests.conftest import seed_path, write_config
from tests.servers import HttpServer, Reply, SmtpServer, dingtalk_robot, feishu_robot

TZ = ZoneInfo("Asia/Shanghai")
FINANCE = "caizheng@rongjiang.example"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def days(start: date, end: date, skip=()):
    while start <= end:
        if start not in skip:
            yield start
        start += timedelta(days=1)


POLICY = {"remind_days_before": "[30, 7, 1]", "overdue_repeat_days": 7, "escalate_after_days": 14,
          "max_attempts": 3, "retry_base_seconds": 60}


def setup(tmp_path, env=None, smtp_port=None, extra="", fallback=True):
    tables = (f'[office]\nname = "榕江县政务公开办"\nemails = ["office@rongjiang.example"]\n\n'
              f'[[units]]\nname = "县财政局"\nemails = ["{FINANCE}"]\n{extra}')
    path = write_config(tmp_path, tables, top="send_hour = 9", fallback=fallback, smtp_port=smtp_port,
                        smtp='from_name = "榕江县政务公开办"\n', policy=POLICY)
    config = load_config(path, env=env or {})
    db = store.open_db(config.database)
    store.import_plans(db, [read_plan(seed_path("002"))], at(date(2021, 6, 1), 8))
    return config, db


def mails_to(smtp, address):
    found = []
    for m in smtp.handler.messages:
        if address in m["to"]:
            found.append(email.message_from_bytes(m["data"], policy=email.policy.default))
    return found


def finance_notices(db):
    return [dict(r) for r in db.query(
        """SELECT n.stage, n.fire_at, n.late FROM notices n JOIN assignments a ON a.id = n.assignment_id
           JOIN tasks t ON t.id = a.task_id WHERE a.unit = '县财政局' AND t.number = '6' ORDER BY n.id""")]


def test_stepping_through_the_year_sends_each_stage_once_and_done_stops_it(tmp_path):
    with SmtpServer() as smtp:
        config, db = setup(tmp_path, smtp_port=smtp.port)
        digests = {}
        for day in days(date(2021, 6, 1), date(2022, 1, 31)):
            run_tick(db, config, at(day))
            if day in (date(2021, 11, 10), date(2021, 11, 16)):
                digests[day] = build_context(db, config, at(day, 16))
            if day == date(2021, 11, 20):
                store.record_progress(db, store.find_assignment(db, "6", "县财政局").id, "done", "已公开", at(day, 11))
        mails = mails_to(smtp, FINANCE)
    stages = [(n["stage"], n["fire_at"][:10]) for n in finance_notices(db)]
    # due 2021-10-30 is a Saturday: effectively Monday 2021-11-01 (fire times are 09:00 Beijing = 01:00 UTC)
    assert stages == [("reminder", "2021-09-30"), ("reminder", "2021-10-25"), ("reminder", "2021-10-29"),
                      ("due", "2021-11-01"), ("overdue", "2021-11-08"), ("escalation", "2021-11-15"),
                      ("overdue", "2021-11-15")]
    assert len(mails) == 6  # three reminders, the due day, two overdue notices; nothing after done
    subjects = [m["subject"] for m in mails]
    assert all("县财政局" in s for s in subjects)
    assert subjects[3].startswith("【到期提醒】") and subjects[4].startswith("【逾期提醒】")
    first = mails[0]
    assert first["To"] == FINANCE
    assert "榕江县政务公开办" in str(first["From"])
    assert first.get_body(("plain",)) is not None and first.get_body(("html",)) is not None
    assert "2021年11月1日" in first.get_body(("plain",)).get_content()
    # the digest lists it as overdue, and escalated once past the threshold
    ten = {g["unit"]: g["items"] for g in digests[date(2021, 11, 10)]["overdue"]}
    sixteen = {g["unit"]: g["items"] for g in digests[date(2021, 11, 16)]["overdue"]}
    assert [(i["task_number"], i["days_overdue"], i["escalated"]) for i in ten["县财政局"]] == [("6", 9, False)]
    assert [(i["task_number"], i["days_overdue"], i["escalated"]) for i in sixteen["县财政局"]] == [("6", 15, True)]


def test_a_week_down_catches_up_at_the_next_sending_moment_with_the_truth_and_ticks_are_idempotent(tmp_path):
    with SmtpServer() as smtp:
        config, db = setup(tmp_path, smtp_port=smtp.port)
        down = set(days(date(2021, 9, 25), date(2021, 10, 5)))
        for day in days(date(2021, 6, 1), date(2021, 10, 5), skip=down):
            run_tick(db, config, at(day))
        before = len(smtp.handler.messages)
        holiday = run_tick(db, config, at(date(2021, 10, 6)))  # back up on a holiday of the National Day week
        assert holiday.waiting_until == datetime(2021, 10, 8, 9, tzinfo=TZ) and holiday.checked == 0
        assert len(smtp.handler.messages) == before  # nothing goes out until the next working day's send hour
        early = run_tick(db, config, at(date(2021, 10, 8), 7))
        assert early.waiting_until == datetime(2021, 10, 8, 9, tzinfo=TZ)
        report = run_tick(db, config, at(date(2021, 10, 8)))
        after_first = len(smtp.handler.messages)
        again = run_tick(db, config, at(date(2021, 10, 8)))
        assert again.notices == 0 and again.messages == 0
        assert len(smtp.handler.messages) == after_first
    assert report.messages > 0 and after_first > before
    rows = [dict(r) for r in db.query(
        """SELECT t.number, a.unit, n.stage, n.late, n.fire_at FROM notices n JOIN assignments a ON a.id = n.assignment_id
           JOIN tasks t ON t.id = a.task_id WHERE t.number IN ('17', '24', '26', '31') AND n.fire_at >= '2021-09-24'
           AND n.stage <> 'escalation'""")]
    by_assignment = {}
    for row in rows:
        by_assignment.setdefault((row["number"], row["unit"]), []).append(row)
    assert by_assignment, "tasks due on 2021-09-30 must be mentioned after the downtime"
    for key, notices in by_assignment.items():
        # the 1-day reminder and the due day fell in the downtime: not a due-day notice a week late, but
        # the truth on 10-08: the task is overdue (an overdue notice is never a 补发: it is true when sent)
        assert [(n["stage"], n["late"], n["fire_at"][:10]) for n in notices] == [("overdue", 0, "2021-10-08")], key


def test_robots_get_signed_messages_and_failures_retry_then_die_and_reach_the_digest(tmp_path):
    with HttpServer() as http:
        http.routes["/ding"] = dingtalk_robot("ding-secret")
        http.routes["/feishu"] = feishu_robot("feishu-secret")
        http.routes["/broken"] = lambda request: Reply(500, {"error": "down"})
        http.routes["/errcode"] = lambda request: Reply(200, {"errcode": 130101, "errmsg": "send too fast"})
        extra = f"""
[[units]]
name = "县政府办公室"
webhooks = [{{ kind = "dingtalk", url = "{http.url('/ding')}?access_token=t1", secret_env = "DING_SECRET" }}]

[[units]]
name = "县公安局"
webhooks = [{{ kind = "feishu", url = "{http.url('/feishu')}", secret_env = "FEISHU_SECRET" }}]

[[units]]
name = "县卫生健康局"
webhooks = [{{ kind = "generic", url = "{http.url('/broken')}" }}]

[[units]]
name = "县司法局"
webhooks = [{{ kind = "dingtalk", url = "{http.url('/errcode')}?access_token=t2" }}]
"""
        env = {"DING_SECRET": "ding-secret", "FEISHU_SECRET": "feishu-secret"}
        config, db = setup(tmp_path, env=env, extra=extra)
        now = at(date(2021, 7, 1))
        run_tick(db, config, now)
        for minutes in (2, 5, 10, 20):
            run_tick(db, config, now + timedelta(minutes=minutes))
        assert http.received("/ding") and http.received("/feishu")
        assert len(http.received("/broken")) == 3 and len(http.received("/errcode")) == 3  # max_attempts
    statuses = {(m.message.unit, m.message.status) for m in store.list_messages(db)}
    assert ("县政府办公室", "sent") in statuses and ("县公安局", "sent") in statuses
    assert ("县卫生健康局", "dead") in statuses and ("县司法局", "dead") in statuses
    attempts = [dict(r) for r in db.query(
        "SELECT d.at FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.unit = '县卫生健康局' ORDER BY d.id")]
    gaps = [datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"]) for a, b in zip(attempts, attempts[1:])]
    assert all(g >= timedelta(minutes=1) for g in gaps)  # backoff, no hot loop
    failed = build_context(db, config, now + timedelta(hours=6))["failed"]
    assert {f["unit"] for f in failed} == {"县卫生健康局", "县司法局"}
    assert all("secret" not in f["last_error"] for f in failed)


def test_unit_without_contact_is_unroutable_in_the_digest_and_inferred_dates_are_said(tmp_path):
    config, db = setup(tmp_path, fallback=False, smtp_port=2525)  # dry runs and no due mail: nothing connects
    plan = tmp_path / "plan.txt"
    plan.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                    "| 1 | 做好某项工作。 | 县财政局 | 按要求 |\n", encoding="utf-8")
    store.import_plans(db, [read_plan(plan)], at(date(2021, 6, 1), 8))
    report = run_tick(db, config, at(date(2021, 12, 31)), dry_run=True)
    finance = [p for p in report.preview if p.unit == "县财政局"]
    assert finance and "推定" in finance[0].text
    run_tick(db, config, at(date(2021, 7, 1)))
    unroutable = {u["unit"] for u in build_context(db, config, at(date(2021, 7, 1), 16))["unroutable"]}
    assert "县政府办公室" in unroutable and "县财政局" not in unroutable
    routes = {r["route"] for r in db.query("SELECT route FROM notices WHERE unit = '县政府办公室'")}
    assert routes == {"unroutable"}
    summary = run_digest(db, config, at(date(2021, 7, 1), 16), dry_run=True)
    assert "县政府办公室" in summary.text and summary.totals["unroutable"] > 0


def test_a_large_digest_is_cut_to_a_size_mail_servers_accept_and_says_what_it_left_out(tmp_path):
    from reminder import digest

    config, db = setup(tmp_path)
    rows = "".join(f"| {n} | 任务{n}。 | 县单位{n % 30} | 2021年6月30日前 |\n" for n in range(1, 301))
    plan = tmp_path / "big.txt"
    plan.write_text("某县2021年政务公开任务清单\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n" + rows, encoding="utf-8")
    store.import_plans(db, [read_plan(plan)], at(date(2021, 6, 1), 8))
    summary = run_digest(db, config, at(date(2021, 12, 1), 16), dry_run=True)
    context = build_context(db, config, at(date(2021, 12, 1), 16))
    shown = sum(len(g["items"]) for g in context["overdue"])
    assert context["totals"]["overdue"] >= 300 and shown == digest.SECTION_LIMIT
    assert all(len(g["items"]) <= digest.PER_UNIT_LIMIT for g in context["overdue"])
    assert f"逾期任务{context['totals']['overdue'] - shown}项" in summary.text
    assert summary.subject.startswith(f"【政务公开任务督办】2021年12月1日：逾期{context['totals']['overdue']}项")


def test_a_tick_in_small_chunks_writes_what_one_big_chunk_does_and_one_message_per_unit(tmp_path, monkeypatch):
    from reminder import tick

    def outcome(folder, chunk):
        folder.mkdir()
        monkeypatch.setattr(tick, "CHUNK_ASSIGNMENTS", chunk)
        config, db = setup(folder)
        report = run_tick(db, config, at(date(2021, 12, 1)), deliver=False)
        notices = sorted(tuple(r) for r in db.execute("SELECT key, unit, stage, route FROM notices"))
        per_unit = dict(db.execute("SELECT unit, count(*) FROM messages GROUP BY unit").fetchall())
        links = db.execute("SELECT count(*) FROM message_notices").fetchone()[0]
        return report, notices, per_unit, links

    small = outcome(tmp_path / "small", 3)
    whole = outcome(tmp_path / "whole", 1_000_000)
    assert small[0].checked == whole[0].checked > 50 and small[0].messages == whole[0].messages
    assert small[1:] == whole[1:]
    assert set(small[2].values()) == {1}  # a unit is never split across chunks: one message each


def test_retention_drops_the_bodies_of_old_sent_messages_and_keeps_the_rest(tmp_path):
    config, db = setup(tmp_path, extra="", fallback=True)
    config = dataclasses.replace(config, retention_days=30)
    first = run_tick(db, config, at(date(2021, 9, 30)))
    assert first.delivered.sent > 0 and first.bodies_dropped == 0
    old_ids = {r[0] for r in db.execute("SELECT id FROM messages WHERE status = 'sent'")}
    run_tick(db, config, at(date(2021, 10, 29)))  # 29 days later: nothing is old enough yet
    assert db.execute("SELECT count(*) FROM messages WHERE body_dropped_at IS NOT NULL").fetchone()[0] == 0
    later = run_tick(db, config, at(date(2021, 11, 1)))  # 32 days after the first tick
    assert later.bodies_dropped == len(old_ids)
    rows = {r["id"]: r for r in db.query("SELECT * FROM messages")}
    for message_id in old_ids:
        row = rows[message_id]
        assert (row["text"], row["html"], row["markdown"]) == ("", None, None) and row["body_dropped_at"]
        assert row["subject"] and row["status"] == "sent" and row["sent_at"]  # metadata kept
    recent = [r for i, r in rows.items() if i not in old_ids]
    assert recent and all(r["text"] and r["body_dropped_at"] is None for r in recent)
    listed = {m.message.id: m for m in store.list_messages(db)}
    assert all(listed[i].tasks for i in old_ids)  # still listed, with the tasks they carried
    assert db.execute("SELECT count(*) FROM deliveries WHERE message_id IN (%s)"
                      % ",".join(map(str, old_ids))).fetchone()[0] == len(old_ids)
