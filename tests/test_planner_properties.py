"""Properties of the planner over generated deadlines, policies, reports and clocks (hypothesis):

* no stage fires twice: stepping the clock through a year, every stage of a target is planned under one
  key only (a due notice, an escalation once; a reminder or an overdue repeat once per day it fires);
* a catch-up after any downtime yields at most one unit notice per assignment (the latest stage reached);
* a done assignment yields nothing (and is not looked at again), and a recurring one nothing about a
  period it has reported in.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reminder.model import (
    UNIT_STAGES,
    Assignment,
    AssignmentStatus,
    Deadline,
    DeadlineKind,
    Every,
    Milestone,
    Offset,
    OffsetUnit,
    Policy,
    Stage,
    TaskRecord,
    TaskRef,
)
from reminder.planner import plan_assignment
from reminder.workdays import Calendar

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = Calendar()
YEAR = 2021
START = datetime(YEAR, 1, 5, 8, tzinfo=TZ)

days_2021 = st.dates(min_value=date(YEAR, 1, 1), max_value=date(YEAR, 12, 31))


@st.composite
def deadlines(draw) -> Deadline:
    kind = draw(st.sampled_from(["fixed", "milestones", "none", "ongoing", "quarterly", "monthly", "weekly",
                                 "relative"]))
    if kind == "fixed":
        return Deadline("…前", DeadlineKind.FIXED, due=draw(days_2021))
    if kind == "milestones":
        first, last = sorted(draw(st.lists(days_2021, min_size=2, max_size=2, unique=True)))
        return Deadline("…", DeadlineKind.FIXED, due=last,
                        milestones=(Milestone(first, "制定方案"), Milestone(last, "完成")))
    if kind == "none":
        return Deadline("", DeadlineKind.NONE)
    if kind == "ongoing":
        return Deadline("持续推进", DeadlineKind.ONGOING)
    if kind == "relative":
        return Deadline("印发后3个工作日内", DeadlineKind.RELATIVE, offset=Offset(3, OffsetUnit.WORKDAY, "印发"))
    every = {"quarterly": Every.QUARTER, "monthly": Every.MONTH, "weekly": Every.WEEK}[kind]
    return Deadline("每…", DeadlineKind.RECURRING, every=every)


policies = st.builds(
    Policy,
    remind_days_before=st.lists(st.integers(1, 40), min_size=0, max_size=4, unique=True).map(
        lambda days: tuple(sorted(days, reverse=True))),
    overdue_repeat_days=st.integers(1, 30),
    escalate_after_days=st.integers(0, 60),
    checkin_every_days=st.integers(7, 60),
    checkin_grace_days=st.integers(0, 30),
    default_due=st.sampled_from([(12, 31), (11, 30), (6, 30)]),
)


def assignment(deadline: Deadline, status: str = "open", reported: datetime | None = None,
               event: date | None = None) -> Assignment:
    task = TaskRecord(id=6, ref=TaskRef(1, "6"), plan_title="2021年政务公开工作要点", plan_year=YEAR, section=(),
                      text="做好财政预决算信息公开", deadline=deadline, due=None,
                      events={"印发": event} if event else {})
    return Assignment(id=1, task=task, unit="县财政局", status=AssignmentStatus(status), created_at=START,
                      last_report_at=reported)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@settings(max_examples=30, deadline=None)
@given(deadline=deadlines(), policy=policies, event=days_2021)
def test_no_stage_fires_twice_through_a_year(deadline, policy, event):
    subject = assignment(deadline, event=event)
    seen = {}
    day = date(YEAR, 1, 5)
    while day <= date(YEAR + 1, 1, 31):
        for notice in plan_assignment(subject, policy, CALENDAR, at(day)).notices:
            previous = seen.setdefault(notice.key, notice)
            # one key, one notice: the same stage, dates and target whenever it is planned (``late``
            # depends on the day it is planned; the store keeps the first)
            assert dataclasses.replace(previous, late=notice.late) == notice
        day += timedelta(days=1)
    stages = Counter((n.stage, n.due, n.period, n.milestone, n.fire_at.date()) for n in seen.values())
    assert max(stages.values(), default=0) <= 1  # no stage of a target planned under two keys
    once = Counter((n.stage, n.due, n.period) for n in seen.values()
                   if n.stage in (Stage.DUE, Stage.ESCALATION) and n.assignment.task.deadline.kind != "ongoing")
    assert max(once.values(), default=0) <= 1  # each target's due notice and escalation at most once


@settings(max_examples=150, deadline=None)
@given(deadline=deadlines(), policy=policies, event=days_2021,
       now=st.datetimes(min_value=datetime(YEAR, 1, 5), max_value=datetime(YEAR + 1, 3, 1)),
       reported=st.none() | st.datetimes(min_value=datetime(YEAR, 1, 5), max_value=datetime(YEAR, 12, 31)))
def test_a_catch_up_yields_at_most_one_unit_notice_per_assignment(deadline, policy, event, now, reported):
    subject = assignment(deadline, event=event, reported=reported.replace(tzinfo=TZ) if reported else None)
    decision = plan_assignment(subject, policy, CALENDAR, now.replace(tzinfo=TZ))
    assert sum(1 for n in decision.notices if n.stage in UNIT_STAGES) <= 1
    moment = now.replace(tzinfo=TZ)
    assert all(n.fire_at <= moment for n in decision.notices)  # nothing planned ahead of its time
    assert decision.next_check_at is None or decision.next_check_at > moment


@settings(max_examples=150, deadline=None)
@given(deadline=deadlines().filter(lambda d: d.kind != DeadlineKind.RECURRING), policy=policies, event=days_2021,
       now=st.datetimes(min_value=datetime(YEAR, 1, 5), max_value=datetime(YEAR + 1, 3, 1)))
def test_a_done_assignment_yields_nothing(deadline, policy, event, now):
    decision = plan_assignment(assignment(deadline, "done", event=event), policy, CALENDAR, now.replace(tzinfo=TZ))
    assert decision.notices == () and decision.next_check_at is None


@settings(max_examples=100, deadline=None)
@given(every=st.sampled_from([Every.QUARTER, Every.MONTH]), policy=policies,
       reported=st.datetimes(min_value=datetime(YEAR, 1, 5), max_value=datetime(YEAR, 12, 31)),
       later=st.integers(0, 120))
def test_a_recurring_assignment_hears_nothing_about_a_period_it_reported_in(every, policy, reported, later):
    report = reported.replace(tzinfo=TZ)
    subject = assignment(Deadline("每…", DeadlineKind.RECURRING, every=every), "done", reported=report)
    now = report + timedelta(days=later)
    months = 3 if every is Every.QUARTER else 1
    period_start = date(YEAR, (report.month - 1) // months * months + 1, 1)
    for notice in plan_assignment(subject, policy, CALENDAR, now).notices:
        assert notice.due is not None and notice.due >= period_start + timedelta(days=28 * months)
