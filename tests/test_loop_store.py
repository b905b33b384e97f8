"""The loop's foundation (issue 11): the 留痕, 签收, progress, the 办结 and 延期 requests and their
decisions, 亮灯, and a 延期 that the planner follows."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminder import store
from reminder.config import parse_config
from reminder.errors import ConfigError, StoreError
from reminder.lights import assignment_light, light
from reminder.model import (
    ActionKind,
    Actor,
    ActorKind,
    AssignmentStatus,
    Light,
    Policy,
    RequestKind,
    RequestState,
)
from reminder.planner import plan_assignment
from reminder.workdays import Calendar
from tests.test_store import plan, task

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 1, 10, 0, tzinfo=SHANGHAI)
UNIT = Actor(ActorKind.UNIT, "区民政局")
OFFICE = Actor(ActorKind.OFFICE, "admin")


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "reminder.db")
    store.import_plan(database, plan(task(1, date(2021, 9, 30), units=("区民政局", "区教育局")),
                                     task(2, None, kind="ongoing", units=("区民政局",))), NOW)
    yield database
    database.close()


def _assignment(db, number="1", unit="区民政局"):
    return store.find_assignment(db, f"1-{number}", unit)


def test_lights_follow_the_due_date_the_status_and_the_configured_days():
    today = date(2021, 9, 20)
    open_ = AssignmentStatus.OPEN
    assert light(date(2021, 9, 19), open_, today, 7) is Light.RED
    assert light(date(2021, 9, 20), open_, today, 7) is Light.YELLOW
    assert light(date(2021, 9, 27), open_, today, 7) is Light.YELLOW
    assert light(date(2021, 9, 28), open_, today, 7) is Light.GREEN
    assert light(date(2021, 9, 20), open_, today, 0) is Light.YELLOW
    assert light(date(2021, 9, 21), open_, today, 0) is Light.GREEN
    assert light(None, open_, today, 7) is Light.GREEN
    assert light(date(2021, 9, 1), AssignmentStatus.DONE, today, 7) is Light.DONE


def test_yellow_within_days_is_read_and_checked_from_the_config():
    assert parse_config({"policy": {"yellow_within_days": 3}}).policy.yellow_within_days == 3
    assert parse_config({}).policy.yellow_within_days == Policy().yellow_within_days == 7
    with pytest.raises(ConfigError, match="yellow_within_days"):
        parse_config({"policy": {"yellow_within_days": -1}})


def test_every_action_is_kept_with_time_and_actor_and_cannot_be_changed(db):
    a = _assignment(db)
    store.acknowledge(db, a.id, UNIT, NOW)
    store.report_progress(db, a.id, UNIT, NOW + timedelta(hours=1), "已起草", link="https://example.org/x")
    actions = store.history(db, assignment_ids=[a.id])
    assert [(x.kind, x.actor, x.unit, x.task_id) for x in actions] == [
        (ActionKind.ACK, UNIT, "区民政局", a.task.id), (ActionKind.PROGRESS, UNIT, "区民政局", a.task.id)]
    assert actions[1].note == "已起草" and actions[1].link == "https://example.org/x"
    assert store.history(db, unit="区教育局") == []
    assert _assignment(db).acknowledged_at == NOW
    assert _assignment(db).last_report_at == NOW + timedelta(hours=1)   # the planner counts progress
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE actions SET note = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM actions")


def test_a_done_request_confirmed_closes_the_assignment_and_returned_keeps_it_open(db):
    a = _assignment(db)
    first = store.request_done(db, a.id, UNIT, NOW, "已完成", file="ab12/证明.pdf")
    assert first.kind is RequestKind.DONE and first.state is RequestState.PENDING
    with pytest.raises(StoreError, match="waiting"):
        store.request_done(db, a.id, UNIT, NOW, "again")
    returned = store.decide(db, first.id, False, OFFICE, NOW + timedelta(days=1), "缺少附件")
    assert returned.state is RequestState.REFUSED and returned.decision.kind is ActionKind.RETURN
    assert returned.decision.note == "缺少附件" and _assignment(db).status is AssignmentStatus.OPEN
    second = store.request_done(db, a.id, UNIT, NOW + timedelta(days=2), "补充了附件")
    assert [r.id for r in store.pending_requests(db)] == [second.id]
    confirmed = store.decide(db, second.id, True, OFFICE, NOW + timedelta(days=3))
    assert confirmed.state is RequestState.ACCEPTED and confirmed.decision.request_id == second.action.id
    assert _assignment(db).status is AssignmentStatus.DONE
    assert store.pending_requests(db) == []
    with pytest.raises(StoreError, match="decided already"):
        store.decide(db, second.id, False, OFFICE, NOW)
    kinds = [x.kind for x in store.history(db, assignment_ids=[a.id])]
    assert kinds == [ActionKind.REQUEST_DONE, ActionKind.RETURN, ActionKind.REQUEST_DONE, ActionKind.CONFIRM]


def test_an_approved_extension_moves_only_that_units_due_date_and_keeps_both(db):
    a = _assignment(db)
    with pytest.raises(StoreError, match="after the current due date"):
        store.request_extension(db, a.id, UNIT, NOW, date(2021, 9, 1), "太早")
    with pytest.raises(StoreError, match="no single due date"):
        store.request_extension(db, _assignment(db, "2").id, UNIT, NOW, date(2021, 12, 1), "持续")
    asked = store.request_extension(db, a.id, UNIT, NOW, date(2021, 11, 30), "需要协调")
    assert asked.new_due == date(2021, 11, 30) and asked.action.old_due == date(2021, 9, 30)
    approved = store.decide(db, asked.id, True, OFFICE, NOW + timedelta(days=1))
    assert approved.decision.kind is ActionKind.APPROVE
    assert (approved.decision.old_due, approved.decision.new_due) == (date(2021, 9, 30), date(2021, 11, 30))
    mine, other = _assignment(db), _assignment(db, unit="区教育局")
    assert mine.due.day == date(2021, 11, 30) and mine.task.due.day == date(2021, 9, 30)
    assert other.due.day == date(2021, 9, 30)
    assert assignment_light(mine, date(2021, 10, 8), 7) is Light.GREEN
    assert assignment_light(other, date(2021, 10, 8), 7) is Light.RED


def test_a_refused_extension_changes_nothing(db):
    a = _assignment(db)
    asked = store.request_extension(db, a.id, UNIT, NOW, date(2021, 11, 30), "需要协调")
    refused = store.decide(db, asked.id, False, OFFICE, NOW, "不同意")
    assert refused.state is RequestState.REFUSED and refused.decision.kind is ActionKind.REFUSE
    assert _assignment(db).due.day == date(2021, 9, 30)


def test_the_planner_chases_the_extended_date_not_the_tasks():
    from tests.test_planner import state

    base = state("2021年9月30日前")
    extended = replace(base, due_extended=date(2021, 11, 30))
    calendar, policy = Calendar(), Policy()
    day = datetime(2021, 11, 1, 10, tzinfo=SHANGHAI)
    assert [n.stage for n in plan_assignment(base, policy, calendar, day).notices] == ["overdue", "escalation"]
    notices = plan_assignment(extended, policy, calendar, day).notices
    assert [(n.stage, n.due) for n in notices] == [("reminder", date(2021, 11, 30))]


def test_cli_style_done_and_reopen_are_kept_and_withdraw_pending_requests(db):
    a = _assignment(db)
    store.request_extension(db, a.id, UNIT, NOW, date(2021, 11, 30), "需要协调")
    cli = Actor(ActorKind.CLI, "clerk")
    assert store.mark_done(db, a.id, cli, NOW, "电话报告已完成")
    assert not store.mark_done(db, a.id, cli, NOW)
    assert store.pending_requests(db) == []
    assert store.reopen(db, a.id, cli, NOW, "误标")
    assert [x.kind for x in store.history(db, unit="区民政局")] == [
        ActionKind.REQUEST_EXTEND, ActionKind.DONE, ActionKind.REOPEN]
