"""The pure planner: which notices should exist by now, stepped one day at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from reminder.deadline import parse
from reminder.model import Assignment, AssignmentStatus, Policy, TaskRecord, TaskRef
from reminder.planner import effective_due, plan_assignment, plan_unit
from reminder.workdays import Calendar

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy(remind_days_before=(30, 7, 1), overdue_repeat_days=7, escalate_after_days=14)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def days(start: date, end: date):
    while start <= end:
        yield start
        start += timedelta(days=1)


def run(state: Assignment, start: date, end: date, skip=(), policy=POLICY):
    """Step the clock daily, keep every item's key once (the store's unique key), return them."""
    calendar = Calendar()
    seen = {}
    for day in days(start, end):
        if day in skip:
            continue
        for item in plan_assignment(state, policy, calendar, at(day)).notices:
            seen.setdefault(item.key, item)
    return list(seen.values())


def simulate(assignments: list[Assignment], start: date, end: date, skip=(), policy=POLICY, hour: int = 10):
    """Step the clock daily through ``plan_unit`` for one unit, keeping what the store would keep (the keys
    stored, the unit's last overdue notice); return every notice stored, in order."""
    calendar = Calendar()
    stored: dict[str, object] = {}
    last_overdue = None
    for day in days(start, end):
        if day in skip or not calendar.is_workday(day):
            continue
        plan = plan_unit(assignments, policy, calendar, at(day, hour), stored=stored, last_overdue=last_overdue,
                         overdue=lambda: [a for a in assignments if a.task.due and a.task.due.day < day])
        for notice in plan.notices:
            stored.setdefault(notice.key, notice)
            if notice.stage == "overdue":
                last_overdue = notice.fire_at
    return list(stored.values())


def state(text: str, status: str = "open", last_report_at=None, events=None) -> Assignment:
    task = TaskRecord(id=6, ref=TaskRef(1, "6"), plan_title="2021年政务公开工作要点", plan_year=2021, section=(),
                      text="做好财政预决算信息公开", deadline=parse(text, 2021), due=None, events=events or {})
    return Assignment(id=1, task=task, unit="县财政局", status=AssignmentStatus(status),
                      created_at=at(date(2021, 6, 1)), last_report_at=last_report_at)


def dated(text: str, assignment_id: int = 1, **changes) -> Assignment:
    """An assignment whose task carries its effective due date, as the store gives it."""
    found = state(text, **changes)
    due = effective_due(found.task.deadline, 2021, POLICY, Calendar())
    return replace(found, id=assignment_id, task=replace(found.task, id=assignment_id, due=due,
                                                         ref=TaskRef(1, str(assignment_id))))


def test_due_on_saturday_moves_to_monday_and_every_stage_fires_once():
    items = simulate([dated("2021年10月30日前")], date(2021, 6, 1), date(2022, 1, 31))
    unit = [(i.stage, i.fire_at.date()) for i in items if i.stage != "escalation"]
    assert unit[:4] == [
        ("reminder", date(2021, 9, 30)),   # 30 days before 11-01 is in the National Day holiday
        ("reminder", date(2021, 10, 25)),
        ("reminder", date(2021, 10, 29)),  # 1 day before is a Sunday: the Friday before
        ("due", date(2021, 11, 1)),
    ]
    overdue = [d for s, d in unit if s == "overdue"]
    # every 7 days after the due day; 2022-01-03 is the New Year holiday, so that one goes out on the 4th
    assert overdue == [date(2021, 11, 1) + timedelta(days=7 * k) for k in range(1, 9)] + [
        date(2022, 1, 4), date(2022, 1, 11), date(2022, 1, 18), date(2022, 1, 25)]
    assert [i.fire_at.date() for i in items if i.stage == "escalation"] == [date(2021, 11, 15)]
    assert all(i.due == date(2021, 11, 1) and not i.late for i in items)
    assert all(i.due_written == date(2021, 10, 30) for i in items if i.stage != "escalation")


def test_done_stops_everything():
    items = run(state("2021年10月30日前", status="done"), date(2021, 6, 1), date(2022, 1, 31))
    assert items == []


def test_downtime_coalesces_to_the_latest_stage_marked_late():
    down = set(days(date(2021, 10, 20), date(2021, 10, 26)))
    items = simulate([dated("2021年10月30日前")], date(2021, 6, 1), date(2021, 11, 30), skip=down)
    stages = [(i.stage, i.fire_at.date(), i.late) for i in items if i.stage != "escalation"]
    assert ("reminder", date(2021, 10, 25), False) not in stages
    # the 7-day reminder fell in the downtime: it goes out with the first tick after it (10-27), marked 补发
    assert stages[1] == ("reminder", date(2021, 10, 25), True)
    assert stages[2] == ("reminder", date(2021, 10, 29), False)


def test_a_due_day_missed_by_downtime_is_not_sent_late_the_item_is_overdue_and_says_so():
    down = set(days(date(2021, 10, 29), date(2021, 11, 3)))
    items = simulate([dated("2021年10月30日前")], date(2021, 6, 1), date(2021, 11, 30), skip=down)
    stages = [(i.stage, i.fire_at.date(), i.late) for i in items if i.stage != "escalation"]
    assert ("due", date(2021, 11, 1), True) not in stages and not any(s == "due" for s, _, _ in stages)
    after = [s for s in stages if s[1] >= date(2021, 10, 29)]
    # back on 11-04: overdue now (not a due-day notice three days late), then every 7 days from that message
    assert after[:3] == [("overdue", date(2021, 11, 4), False), ("overdue", date(2021, 11, 11), False),
                         ("overdue", date(2021, 11, 18), False)]


def test_overdue_repeats_per_unit_one_message_listing_every_overdue_task():
    first, second = dated("2021年10月30日前", 1), dated("2021年11月3日前", 2)
    items = simulate([first, second], date(2021, 10, 1), date(2021, 12, 10))
    overdue: dict[date, list[int]] = {}
    for notice in items:
        if notice.stage == "overdue":
            overdue.setdefault(notice.fire_at.date(), []).append(notice.assignment.id)
    # the first task's first overdue day (11-08) sends both (the second has been overdue since 11-04);
    # after that one message a week, never one per task
    assert overdue[date(2021, 11, 8)] == [1, 2]
    days_sent = sorted(overdue)
    assert all((b - a).days >= 7 for a, b in zip(days_sent, days_sent[1:]))
    assert all(sorted(ids) == [1, 2] for ids in overdue.values())


def test_a_first_tick_after_an_import_is_no_catch_up():
    """Imported on 10-27 with reminders 30 and 7 days before already past: the latest one goes out, and it
    is no 补发 (nothing was delayed: the unit did not have the task)."""
    fresh = replace(dated("2021年10月30日前"), created_at=at(date(2021, 10, 27), 8), assigned_at=at(date(2021, 10, 27), 8),
                    planned_from=at(date(2021, 10, 27), 8))
    items = simulate([fresh], date(2021, 10, 27), date(2021, 10, 28))
    assert [(i.stage, i.fire_at.date(), i.late, i.new) for i in items] == [
        ("reminder", date(2021, 10, 25), False, False)]
    # given to the unit by a re-import (the task is older than the assignment): 新分配, still no 补发
    older = replace(fresh, task=replace(fresh.task, created_at=at(date(2021, 6, 1))))
    items = simulate([older], date(2021, 10, 27), date(2021, 10, 28))
    assert [(i.stage, i.late, i.new) for i in items] == [("reminder", False, True)]


def test_ticking_twice_the_same_day_yields_the_same_keys():
    calendar = Calendar()
    s = state("2021年10月30日前")
    first = plan_assignment(s, POLICY, calendar, at(date(2021, 11, 1), 9))
    second = plan_assignment(s, POLICY, calendar, at(date(2021, 11, 1), 17))
    assert [i.key for i in first.notices] == [i.key for i in second.notices]


def test_next_check_is_the_next_stage():
    decision = plan_assignment(state("2021年10月30日前"), POLICY, Calendar(), at(date(2021, 10, 26)))
    assert decision.next_check_at == datetime(2021, 10, 29, 9, tzinfo=TZ)


def test_none_deadline_uses_inferred_year_end():
    due = effective_due(parse("按要求", 2021), 2021, POLICY, Calendar())
    assert due is not None and (due.day, due.inferred) == (date(2021, 12, 31), True)
    items = run(state("按要求"), date(2021, 12, 1), date(2021, 12, 31))
    assert items and all(i.due_inferred for i in items)


def test_ongoing_checkins_and_silence_escalation():
    policy = Policy(checkin_every_days=30, checkin_grace_days=14)
    items = run(state("持续推进"), date(2021, 6, 1), date(2021, 9, 30), policy=policy)
    checkins = [i.fire_at.date() for i in items if i.stage == "checkin"]
    assert checkins[0] == date(2021, 7, 1)
    assert len(checkins) == 4
    assert [i.stage for i in items].count("silent") == 1


def test_progress_resets_the_checkin_clock():
    policy = Policy(checkin_every_days=30, checkin_grace_days=14)
    reported = state("持续推进", last_report_at=at(date(2021, 6, 25)))
    items = run(reported, date(2021, 6, 1), date(2021, 7, 20), policy=policy)
    assert [i.fire_at.date() for i in items if i.stage == "checkin"] == []
    items = run(reported, date(2021, 6, 1), date(2021, 7, 31), policy=policy)
    assert [i.fire_at.date() for i in items if i.stage == "checkin"] == [date(2021, 7, 26)]


def test_recurring_quarterly_due_at_each_quarter_end():
    items = run(state("每季度"), date(2021, 1, 1), date(2021, 12, 31), policy=Policy(remind_days_before=(7,)))
    dues = [i.due for i in items if i.stage == "due"]
    assert dues == [date(2021, 3, 31), date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)]
    assert {i.period for i in items} == {f"2021年第{q}季度" for q in range(1, 5)}


def test_recurring_with_a_day_inside_the_period_falls_due_on_that_day_of_every_period():
    """每月5日前 is due on the 5th of each month (moved off rest days), not at each month's end; the due-day
    notice fires that day and is labelled with its month."""
    items = run(state("每月5日前报送上月信息公开情况"), date(2021, 1, 1), date(2021, 12, 31),
                policy=Policy(remind_days_before=(1,)))
    dues = [i.due for i in items if i.stage == "due"]
    calendar = Calendar()
    assert dues == [calendar.next_workday(date(2021, month, 5)) for month in range(1, 13)]
    assert dues[9] == date(2021, 10, 8)  # 10月5日 falls in the National Day holiday
    assert {i.period for i in items} == {f"2021年{m}月" for m in range(1, 13)}


def test_recurring_quarterly_with_a_day_in_the_first_month_is_due_that_day_each_quarter():
    items = run(state("每季度首月15日前"), date(2021, 1, 1), date(2021, 12, 31), policy=Policy(remind_days_before=(7,)))
    dues = [i.due for i in items if i.stage == "due"]
    assert dues == [date(2021, 1, 15), date(2021, 4, 15), date(2021, 7, 15), date(2021, 10, 15)]
    assert {i.period for i in items} == {f"2021年第{q}季度" for q in range(1, 5)}


def test_relative_deadline_waits_for_its_event():
    text = "印发后3个工作日内"
    waiting = plan_assignment(state(text), POLICY, Calendar(), at(date(2021, 9, 30)))
    assert waiting.notices == () and waiting.next_check_at is None
    event = state(text, events={"印发": date(2021, 9, 29)})
    items = run(event, date(2021, 9, 29), date(2021, 10, 12))
    # 09-30, then the holiday, 10-08 and the 调休 Saturday 10-09: the third working day
    assert [i.due for i in items if i.stage == "due"] == [date(2021, 10, 9)]
