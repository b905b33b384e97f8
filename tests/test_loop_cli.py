"""The loop from the command line: `done` / `progress` / `reopen` / `ack` are kept in the 留痕 like the
pages' actions; `requests` lists what units asked for and `decide` answers it, as the queue does."""

from __future__ import annotations

import json
from datetime import date, datetime

from reminder import store
from reminder.config import load_config
from reminder.model import Actor, ActorKind
from tests.test_office_commands import TZ, office  # noqa: F401  (the fixture)


def _db(config):
    return store.open_db(load_config(config).database)


def test_cli_reports_are_kept_in_the_history_with_the_cli_as_actor(office):
    run, _, _ = office
    run("ack", "1-1", "--unit", "财政局")
    run("progress", "1-1", "--unit", "县财政局", "--note", "已起草")
    run("done", "1-1", "--unit", "县财政局", "--note", "已公开")
    run("done", "1-1", "--unit", "县财政局")          # already done: nothing recorded, nothing kept
    run("reopen", "1-1", "--unit", "县财政局", "--note", "误标")
    actions = json.loads(run("history", "--unit", "县财政局", "--json"))
    assert [(a["kind"], a["note"]) for a in actions] == [
        ("ack", ""), ("progress", "已起草"), ("done", "已公开"), ("reopen", "误标")]
    assert all(a["actor"].startswith("cli") for a in actions)
    assert "ack" in run("history", "--task", "1-1")


def test_requests_and_decide_answer_what_units_asked_for_and_reminders_follow_a_new_date(office):
    run, config, _ = office
    db = _db(config)
    try:
        assignment = store.find_assignment(db, "1-1", "县财政局")
        unit = Actor(ActorKind.UNIT, "县财政局")
        asked = store.request_extension(db, assignment.id, unit, datetime(2021, 9, 20, 10, tzinfo=TZ),
                                        date(2021, 11, 30), "等待审计结果")
    finally:
        db.close()
    [listed] = json.loads(run("requests", "--json"))
    assert (listed["id"], listed["kind"], listed["unit"], listed["due"], listed["new_due"]) == (
        asked.id, "extend", "县财政局", "2021-09-30", "2021-11-30")
    assert "--note" in run("decide", str(asked.id), "--refuse", code=2)
    # Before: on 10-12 the unit is overdue on 9-30. After the approval: only the new date's reminders.
    before = json.loads(run("tick", "--now", "2021-10-12", "--dry-run", "--json"))
    assert any("逾期" in p["subject"] for p in before["preview"] if p["unit"] == "县财政局")
    assert "now due 2021-11-30" in run("decide", str(asked.id), "--accept")
    assert "no requests waiting" in run("requests")
    after = json.loads(run("tick", "--now", "2021-10-12", "--dry-run", "--json"))
    assert not any(p["unit"] == "县财政局" and "1-1" in p["text"] for p in after["preview"])
    reminded = json.loads(run("tick", "--now", "2021-11-23", "--dry-run", "--json"))
    [notice] = [p for p in reminded["preview"] if p["unit"] == "县财政局" and "1-1" in p["text"]]
    assert "完成日期：2021年11月30日" in notice["text"]
    assert "时限要求：2021年9月30日前（已批准延期至2021年11月30日）" in notice["text"]
    assert "在线签收" not in notice["text"] and "/u/" not in notice["text"]   # no [web]: no link
    kinds = [a["kind"] for a in json.loads(run("history", "--json"))]
    assert kinds[-2:] == ["request_extend", "approve"]


def test_a_notice_for_a_task_whose_date_the_office_set_says_so_beside_the_plans_text(office):
    run, config, _ = office
    db = _db(config)
    try:
        task = store.get_task(db, "1-1").task
        store.set_task_due(db, task.id, date(2021, 10, 29), Actor(ActorKind.OFFICE, "gwgk"),
                           datetime(2021, 9, 1, 10, tzinfo=TZ), "市里统一调整", load_config(config).due_dates())
    finally:
        db.close()
    reminded = json.loads(run("tick", "--now", "2021-10-25", "--dry-run", "--json"))
    [notice] = [p for p in reminded["preview"] if p["unit"] == "县财政局" and "1-1" in p["text"]]
    assert "时限要求：2021年9月30日前（办公室已调整完成日期）" in notice["text"]
    assert "完成日期：2021年10月29日" in notice["text"] and "延期" not in notice["text"]
